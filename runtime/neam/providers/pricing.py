"""Model prices and context windows, and the cost of a call.

The shipped table is ``prices.json`` next to this module. ``NEAM_PRICES_FILE``
names a file of the same format whose entries are merged over it, and
``NEAM_PRICE_<MODEL>=<input>,<output>`` overrides one model (USD per million
tokens; ``<MODEL>`` is the model name upper-cased with every other character
replaced by ``_``, e.g. ``NEAM_PRICE_GPT_4O_MINI``). All arithmetic is Decimal.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from typing import Any

from .errors import ProviderConfigError
from .types import Usage

PER_TOKENS = Decimal(1_000_000)
CHARS_PER_TOKEN = 4
_BOUNDARY = ("-", ":", "@")


@dataclass(frozen=True)
class ModelInfo:
    """Price per million input/output tokens and context window of one model."""

    input: Decimal
    output: Decimal
    context_window: int
    known: bool = True

    def cost(self, usage: Usage) -> Decimal:
        return (usage.input_tokens * self.input + usage.output_tokens * self.output) / PER_TOKENS


FREE = Decimal(0)


def _decimal(value: Any, where: str) -> Decimal:
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise ProviderConfigError(f"price table: {where}: {value!r} is not a number") from None
    if not result.is_finite() or result < 0:
        raise ProviderConfigError(f"price table: {where}: {value!r} must be >= 0")
    return result


def _entry(raw: Any, base: ModelInfo | None, where: str) -> ModelInfo:
    """One table entry; fields it leaves out are taken from ``base``."""
    if not isinstance(raw, Mapping):
        raise ProviderConfigError(f"price table: {where} must be an object")
    if base is None:
        missing = [f for f in ("input", "output") if f not in raw]
        if missing:
            raise ProviderConfigError(f"price table: {where}: missing {', '.join(missing)}")
        base = ModelInfo(FREE, FREE, 8192)
    return ModelInfo(
        input=_decimal(raw["input"], where) if "input" in raw else base.input,
        output=_decimal(raw["output"], where) if "output" in raw else base.output,
        context_window=int(raw.get("context_window", base.context_window)),
    )


def env_key(model: str) -> str:
    """``gpt-4o-mini`` -> ``NEAM_PRICE_GPT_4O_MINI``."""
    return "NEAM_PRICE_" + re.sub(r"[^A-Z0-9]", "_", model.upper())


def canonical_model(model: str) -> str:
    """Lower-case model name without a ``vendor/`` prefix (``openai/gpt-4o`` -> ``gpt-4o``)."""
    return model.strip().lower().rsplit("/", 1)[-1]


class PriceTable:
    """Prices and context windows by model name."""

    def __init__(
        self,
        models: Mapping[str, ModelInfo],
        default: ModelInfo,
        env: Mapping[str, str] | None = None,
    ):
        self.models = {canonical_model(name): info for name, info in models.items()}
        self.default = default
        self._env = dict(env or {})

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], base: PriceTable | None = None) -> PriceTable:
        """Builds a table from the JSON document, merging entries over ``base``."""
        models = dict(base.models) if base else {}
        default = base.default if base else None
        if "default" in doc:
            default = _entry(doc["default"], default, "default")
        if default is None:
            raise ProviderConfigError("price table: a 'default' entry is required")
        for name, raw in (doc.get("models") or {}).items():
            key = canonical_model(name)
            models[key] = _entry(raw, models.get(key) or default, f"models.{name}")
        return cls(models, default)

    @classmethod
    def load(cls, env: Mapping[str, str]) -> PriceTable:
        """The shipped table, the ``NEAM_PRICES_FILE`` overrides and the per-model env."""
        table = shipped_table()
        path = (env.get("NEAM_PRICES_FILE") or "").strip()
        if path:
            try:
                with open(path, encoding="utf-8") as fh:
                    doc = json.load(fh)
            except (OSError, ValueError) as exc:
                raise ProviderConfigError(f"NEAM_PRICES_FILE={path}: {exc}") from None
            table = cls.from_document(doc, base=table)
        overrides = {k: v for k, v in env.items() if k.startswith("NEAM_PRICE_")}
        return cls(table.models, table.default, overrides)

    def _table_entry(self, name: str) -> ModelInfo | None:
        if name in self.models:
            return self.models[name]
        candidates = [
            key for key in self.models if name.startswith(key) and name[len(key)] in _BOUNDARY
        ]
        return self.models[max(candidates, key=len)] if candidates else None

    def lookup(self, model: str, *, local: bool = False) -> ModelInfo:
        """Model info; unknown models get the default entry (free when ``local``)."""
        name = canonical_model(model)
        info = self._table_entry(name)
        if info is None:
            info = replace(self.default, known=False)
            if local:
                info = replace(info, input=FREE, output=FREE)
        for key in (env_key(model), env_key(name)):
            if key in self._env:
                parts = self._env[key].split(",")
                if len(parts) != 2:
                    raise ProviderConfigError(f"{key} must be '<input>,<output>' USD per 1M tokens")
                return replace(
                    info, input=_decimal(parts[0], key), output=_decimal(parts[1], key), known=True
                )
        return info


@lru_cache(maxsize=1)
def shipped_table() -> PriceTable:
    text = resources.files(__package__).joinpath("prices.json").read_text(encoding="utf-8")
    return PriceTable.from_document(json.loads(text))


def estimate_tokens(text: str) -> int:
    """Rough token count from text length (about four characters per token)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0
