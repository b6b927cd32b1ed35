"""Pure functions building the Kubernetes children of the neam.dev resources."""
