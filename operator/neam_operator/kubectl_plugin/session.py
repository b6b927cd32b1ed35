"""What every command works with: the API client, the namespace and the output streams."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from neam_operator.kubectl_plugin.client import Api
from neam_operator.kubectl_plugin.errors import Exit, PluginError
from neam_operator.kubectl_plugin.resources import Kind


@dataclass
class Session:
    api: Api
    namespace: str
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)

    def fetch(self, kind: Kind, name: str) -> dict[str, Any]:
        """The object, or a not-found error naming it and the namespace."""
        body = self.api.get(kind.url(self.namespace, name))
        if body is None:
            raise PluginError(
                f"{kind.ref(name)} not found in namespace {self.namespace}", Exit.NOT_FOUND
            )
        return body

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def note(self, text: str) -> None:
        print(text, file=self.err, flush=True)
