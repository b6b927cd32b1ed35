"""A kopf diff-base storage that stores and computes nothing.

kopf computes a "diff base" for every watch event: a deep copy of the whole body
(status and managedFields included, pruned afterwards), compared with the last handled
state. Only change handlers (``on.create``/``on.update``/...) use it; this operator
registers event handlers only, so that copy is pure overhead on every event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import kopf
from kopf._cogs.structs import bodies, dicts, patches


class NoDiffBase(kopf.DiffBaseStorage):
    """For operators without change handlers: every event's essence is empty."""

    def build(
        self, *, body: bodies.Body, extra_fields: Iterable[dicts.FieldSpec] | None = None
    ) -> bodies.BodyEssence:
        return cast(bodies.BodyEssence, {})

    def fetch(self, *, body: bodies.Body) -> bodies.BodyEssence | None:
        return None

    def store(
        self, *, body: bodies.Body, patch: patches.Patch, essence: bodies.BodyEssence
    ) -> None:
        return None
