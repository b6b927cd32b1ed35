"""Generate the CustomResourceDefinitions in ``crds/`` from the pydantic models.

``python -m neam_operator.crdgen crds/`` (``make crds``) writes one YAML file per kind;
``tests/unit/operator/test_crds.py`` fails when the committed files drift from the models.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from neam_operator import models as m
from neam_operator.conditions import UNOBSERVED

CATEGORY = "neam"


@dataclass(frozen=True)
class Kind:
    kind: str
    plural: str
    short: str
    spec: type[BaseModel]
    status: type[BaseModel]
    columns: list[dict[str, Any]]
    scale: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _col(name: str, path: str, type_: str = "string", priority: int = 0) -> dict[str, Any]:
    col: dict[str, Any] = {"name": name, "type": type_, "jsonPath": path}
    if priority:
        col["priority"] = priority
    return col


AGE = _col("Age", ".metadata.creationTimestamp", "date")

KINDS = [
    Kind(
        "ForgeRun",
        "forgeruns",
        "fr",
        m.ForgeRunSpec,
        m.ForgeRunStatus,
        [
            _col("Agent", ".status.agent"),
            _col("Phase", ".status.phase"),
            _col("Outcome", ".status.outcome"),
            _col("Iter", ".status.iteration", "integer"),
            _col("Max", ".status.maxIterations", "integer"),
            _col("Cost", ".status.totalCost"),
            _col("Reason", ".status.reason"),
            _col("Started", ".status.startTime", "date"),
            _col("Duration", ".status.duration"),
            _col("Branch", ".status.git.branch", priority=1),
            _col("Task", ".status.currentTask", priority=1),
            _col("Message", ".status.message", priority=1),
        ],
    ),
    Kind(
        "ClawAgent",
        "clawagents",
        "claw",
        m.ClawAgentSpec,
        m.ClawAgentStatus,
        [
            _col("Ready", ".status.ready"),
            _col("Agents", ".status.agents"),
            _col("Endpoint", ".status.endpoint"),
            AGE,
            _col("Phase", ".status.phase", priority=1),
            _col("Program", ".status.programHash", priority=1),
            _col("Message", ".status.message", priority=1),
        ],
        scale=True,
    ),
    Kind(
        "AgentDAG",
        "agentdags",
        "dag",
        m.AgentDAGSpec,
        m.AgentDAGStatus,
        [
            _col("Phase", ".status.phase"),
            _col("Progress", ".status.progress"),
            _col("Cost", ".status.totalCost"),
            AGE,
            _col("Message", ".status.message", priority=1),
        ],
    ),
]


def _structural(node: Any, defs: dict[str, Any]) -> Any:
    """Turn a pydantic JSON schema into a Kubernetes structural schema.

    Inlines ``$ref``s, unwraps ``Optional`` (``anyOf`` with null), drops titles and
    ``null`` defaults, removes ``additionalProperties: false`` and unwraps descriptions.
    """
    if isinstance(node, list):
        return [_structural(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = dict(defs[node["$ref"].rsplit("/", 1)[1]])
        target.update({k: v for k, v in node.items() if k != "$ref"})
        return _structural(target, defs)
    if "anyOf" in node and {"type": "null"} in node["anyOf"]:
        rest = [n for n in node["anyOf"] if n != {"type": "null"}]
        if len(rest) == 1:
            merged = {k: v for k, v in node.items() if k != "anyOf"}
            merged.update(rest[0])
            return _structural(merged, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("title", "$defs") or (key == "default" and value is None):
            continue
        if key == "additionalProperties" and value is False:
            continue
        if key == "properties":
            out[key] = {name: _structural(sub, defs) for name, sub in value.items()}
        elif key == "description":
            out[key] = " ".join(value.split())  # docstrings wrap; kubectl explain rewraps
        else:
            out[key] = _structural(value, defs)
    return out


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The structural OpenAPI v3 schema of one model."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return _structural(raw, raw.get("$defs", {}))


def crd(kind: Kind) -> dict[str, Any]:
    """The full CustomResourceDefinition of one kind."""
    schema = {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": schema_of(kind.spec),
            # Without it kstatus (Flux's health checks) takes a new object, which has
            # no status until the operator reports, for a current one.
            "status": {**schema_of(kind.status), "default": dict(UNOBSERVED)},
        },
    }
    subresources: dict[str, Any] = {"status": {}}
    if kind.scale:
        subresources["scale"] = {
            "specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.replicas",
            "labelSelectorPath": ".status.selector",
        }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{kind.plural}.{m.GROUP}",
            "labels": {"app.kubernetes.io/part-of": "neam-operator"},
        },
        "spec": {
            "group": m.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.kind.lower(),
                "shortNames": [kind.short],
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": m.VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": subresources,
                    "additionalPrinterColumns": kind.columns,
                }
            ],
        },
    }


def render(kind: Kind) -> str:
    """The YAML text committed as ``crds/<plural>.yaml``."""
    header = "# Generated by `make crds` from neam_operator.models. Do not edit.\n"
    return header + yaml.safe_dump(crd(kind), sort_keys=False, width=100)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "crds")
    out.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        (out / f"{m.GROUP}_{kind.plural}.yaml").write_text(render(kind))
    return 0


if __name__ == "__main__":
    sys.exit(main())
