"""The installed distribution's version, reported by the health endpoints."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("neam-operator")
except PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "0+unknown"
