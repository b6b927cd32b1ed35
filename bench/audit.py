"""Reading the kube-apiserver's audit log: who sent which request, and when.

The launch profile (``bench/bench_launch.py``) starts its cluster with
:data:`POLICY` (every request at level Metadata, one line per completed request) and
reads the log back with :func:`requests`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

# Creates of pods and events at level Request: they are named by the server
# (generateName), and only the request body tells whose they are.
POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Request
    verbs: [create]
    resources: [{group: "", resources: [pods, events]}]
  - level: Metadata
"""


@dataclass(frozen=True)
class Request:
    """One completed API request."""

    actor: str  # who sent it, see ``actor``
    verb: str
    resource: str  # "jobs", "forgeruns/status", ...
    namespace: str
    name: str  # the object's name, or its generateName prefix when the server names it
    received: float  # POSIX seconds, microsecond precision
    completed: float
    code: int

    @property
    def what(self) -> str:
        return f"{self.verb} {self.resource}"


def actor(user_agent: str) -> str:
    """A short name for a client, from its User-Agent."""
    if user_agent.startswith("kopf/"):
        return "kopf"
    if "aiohttp" in user_agent:
        return "operator"
    if user_agent.startswith("OpenAPI-Generator"):
        return "bench"
    if user_agent.startswith("kube-controller-manager"):
        return user_agent.rsplit("/", 1)[-1].removeprefix("system:serviceaccount:kube-system:")
    return user_agent.split("/", 1)[0]


def _generate_name(entry: dict[str, Any]) -> str:
    body = entry.get("requestObject") or {}
    return (body.get("metadata") or {}).get("generateName", "")


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def requests(log: Path, namespace: str) -> list[Request]:
    """Completed requests on objects in ``namespace``, in the order received."""
    out = []
    with log.open() as lines:
        for line in lines:
            entry = json.loads(line)
            ref = entry.get("objectRef") or {}
            if entry.get("stage") != "ResponseComplete" or ref.get("namespace") != namespace:
                continue
            resource = ref.get("resource", "")
            if ref.get("subresource"):
                resource += "/" + ref["subresource"]
            out.append(
                Request(
                    actor(entry.get("userAgent", "")),
                    entry["verb"],
                    resource,
                    namespace,
                    ref.get("name") or _generate_name(entry),
                    _seconds(entry["requestReceivedTimestamp"]),
                    _seconds(entry["stageTimestamp"]),
                    (entry.get("responseStatus") or {}).get("code", 0),
                )
            )
    return sorted(out, key=lambda r: r.received)
