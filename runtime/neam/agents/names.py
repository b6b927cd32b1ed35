"""Validation of agent names and session keys used as file-system path components."""

from __future__ import annotations

import re

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}")


class InvalidNameError(ValueError):
    """An agent name or session key that cannot safely name a file."""


def check_component(value: str, what: str) -> str:
    """Returns ``value`` if it can be used as one path component, else raises.

    Allowed: 1-128 characters from letters, digits, ``_ . @ : -``, starting with a
    letter or digit, and never ``..`` anywhere (so no traversal, separators, NUL
    bytes or hidden files).
    """
    if not isinstance(value, str) or not _NAME.fullmatch(value) or ".." in value:
        raise InvalidNameError(
            f"invalid {what} {value!r}: use 1-128 letters, digits or _ . @ : - "
            "(starting with a letter or digit, no '..')"
        )
    return value
