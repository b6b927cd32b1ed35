"""Kopf operator for the neam.dev custom resources."""
