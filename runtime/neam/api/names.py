"""Validation of caller-supplied session keys (they name files on disk)."""

from __future__ import annotations

from neam.agents.names import InvalidNameError, check_component
from neam.api.errors import ApiError


def check_session_key(key: str) -> None:
    """400 for a key that could not safely name a session file."""
    try:
        check_component(key, "session key")
    except InvalidNameError as exc:
        raise ApiError(400, str(exc), session_key=key) from None
