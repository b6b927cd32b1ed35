"""Errors raised by providers. Messages never contain API keys."""

from __future__ import annotations


class ProviderError(Exception):
    """Base class: any failure talking to an LLM provider."""

    def __init__(self, message: str, *, provider: str = "", status: int | None = None):
        super().__init__(message)
        self.provider = provider
        self.status = status


class ProviderAuthError(ProviderError):
    """The provider refused the credentials (HTTP 401/403)."""


class ProviderNotFoundError(ProviderError):
    """The model or endpoint does not exist (HTTP 404)."""


class MissingAPIKeyError(ProviderError):
    """The environment variable that should hold the API key is unset or empty."""

    def __init__(self, env_var: str, *, provider: str = ""):
        super().__init__(
            f"{provider or 'provider'}: API key missing: set the environment variable {env_var}",
            provider=provider,
        )
        self.env_var = env_var


class ProviderUnavailableError(ProviderError):
    """Retries were exhausted (429/5xx) or the server could not be reached."""


class ProviderResponseError(ProviderError):
    """The provider answered with something that is not a valid reply."""


class ProviderConfigError(ProviderError):
    """The agent's provider configuration is invalid (unknown provider, missing file...)."""
