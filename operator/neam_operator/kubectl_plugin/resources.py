"""The kinds the plugin reads and writes, their API paths, and ``KIND/NAME`` references."""

from __future__ import annotations

from dataclasses import dataclass

from neam_operator import crdgen
from neam_operator.kubectl_plugin.errors import Exit, PluginError
from neam_operator.models import GROUP, VERSION


@dataclass(frozen=True)
class Kind:
    kind: str
    plural: str
    group: str = ""
    version: str = "v1"
    short: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    def url(self, namespace: str | None, name: str | None = None) -> str:
        """The collection (all namespaces when ``namespace`` is None) or one object."""
        prefix = f"/apis/{self.group}/{self.version}" if self.group else "/api/v1"
        scope = f"/namespaces/{namespace}" if namespace else ""
        out = f"{prefix}{scope}/{self.plural}"
        return f"{out}/{name}" if name else out

    def ref(self, name: str) -> str:
        """``forgerun/NAME``, as kubectl prints it."""
        return f"{self.singular}/{name}"


NEAM = {k.kind: Kind(k.kind, k.plural, GROUP, VERSION, k.short) for k in crdgen.KINDS}
FORGERUN, CLAWAGENT, AGENTDAG = NEAM["ForgeRun"], NEAM["ClawAgent"], NEAM["AgentDAG"]
POD = Kind("Pod", "pods")
EVENT = Kind("Event", "events")
CONFIGMAP = Kind("ConfigMap", "configmaps")
PVC = Kind("PersistentVolumeClaim", "persistentvolumeclaims")
SERVICE_ACCOUNT = Kind("ServiceAccount", "serviceaccounts")
JOB = Kind("Job", "jobs", "batch")

_ALIASES = {
    alias: kind
    for kind in NEAM.values()
    for alias in (kind.singular, kind.plural, kind.short, f"{kind.plural}.{GROUP}")
}
KNOWN = ", ".join(f"{k.singular} ({k.short})" for k in NEAM.values())


def kind_named(text: str) -> Kind:
    """The neam kind called ``text`` (``fr``, ``forgerun``, ``forgeruns.neam.dev``, ...)."""
    kind = _ALIASES.get(text.lower())
    if kind is None:
        raise PluginError(f"{text!r} is not a neam resource kind; use {KNOWN}", Exit.USAGE)
    return kind


def parse_ref(text: str, allowed: tuple[Kind, ...] = (FORGERUN,)) -> tuple[Kind, str]:
    """``NAME`` (the first allowed kind) or ``KIND/NAME``; a kind outside ``allowed`` is a
    usage error naming the kinds the command works on."""
    kind_text, slash, name = text.rpartition("/")
    kind = kind_named(kind_text) if slash else allowed[0]
    if not name:
        raise PluginError(f"{text!r} names no resource; expected NAME or KIND/NAME", Exit.USAGE)
    if kind not in allowed:
        names = " and ".join(k.plural for k in allowed)
        raise PluginError(f"this command works on {names}, not {kind.plural}", Exit.USAGE)
    return kind, name
