"""Request-body parsing: JSON objects validated by strict pydantic models, errors as 400.

Bodies are parsed whatever the ``Content-Type`` (``curl -d`` without ``-H``
sends a form type), and an empty body counts as ``{}`` so that endpoints with
optional parameters accept ``curl -X POST`` with no data. Models derive from
:class:`Body`: a field the endpoint does not know, or a value of the wrong type
(``"5"`` for a number, ``true`` for an integer), is a 400 that names it, never
a silent default. JSON that later code could not handle (nesting past 32
levels, integers of more than 30 digits, ``NaN``) is a 400 too.
"""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict, ValidationError

from neam import jsoninput
from neam.api.errors import ApiError

MAX_DEPTH = 32
MAX_INT_DIGITS = 30


class Body(BaseModel):
    """A request body: unknown fields and loosely typed values are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


M = TypeVar("M", bound=Body)


async def parse_body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    if raw.strip():
        try:
            data = jsoninput.parse(raw, max_depth=MAX_DEPTH, max_int_digits=MAX_INT_DIGITS)
        except jsoninput.JSONInputError as exc:
            raise ApiError(400, f"request body: {exc}") from None
    else:
        data = {}
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, "invalid request: " + _describe(exc, model)) from None


def _describe(exc: ValidationError, model: type[Body]) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        if err.get("type") == "extra_forbidden":
            known = ", ".join(model.model_fields) or "none"
            parts.append(f"unknown field '{where}' (this endpoint takes: {known})")
        else:
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)
