"""API keys that cannot leak by accident.

An :class:`APIKey` prints as ``***`` in reprs, f-strings and logs; only
:meth:`APIKey.reveal` returns the value, and only the HTTP layer calls it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .errors import MissingAPIKeyError

REDACTED = "***"


class APIKey:
    """An API key read from the environment variable ``env_var``."""

    __slots__ = ("_value", "env_var")

    def __init__(self, env_var: str, value: str):
        self.env_var = env_var
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"APIKey(env_var={self.env_var!r}, value={REDACTED!r})"

    __str__ = __repr__

    def __reduce__(self):  # never pickle a key into a file or a queue
        raise TypeError("APIKey cannot be pickled")


def resolve_api_key(
    env: Mapping[str, str], env_var: str, *, provider: str, required: bool
) -> APIKey | None:
    """Reads the key from ``env[env_var]``; raises MissingAPIKeyError if required and absent."""
    value = (env.get(env_var) or "").strip()
    if value:
        return APIKey(env_var, value)
    if required:
        raise MissingAPIKeyError(env_var, provider=provider)
    return None


def redact(text: str, keys: Iterable[APIKey | None]) -> str:
    """Replaces every occurrence of the given keys' values in ``text`` by ``***``."""
    for key in keys:
        if key is not None and key.reveal():
            text = text.replace(key.reveal(), REDACTED)
    return text
