"""Kubernetes Events on the operator's resources (best effort: never fatal)."""

from __future__ import annotations

import logging
from typing import Any

from neam_operator.conditions import now_rfc3339
from neam_operator.kube import ApiError, Kube

log = logging.getLogger("neam_operator.events")
MESSAGE_LIMIT = 1024


async def record(kube: Kube, body: dict[str, Any], type_: str, reason: str, message: str) -> None:
    """A core/v1 Event about ``body`` (a ForgeRun, ClawAgent or AgentDAG)."""
    meta = body["metadata"]
    stamp = now_rfc3339()
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": body["apiVersion"],
            "kind": body["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
        },
        "type": type_,
        "reason": reason,
        "message": message[:MESSAGE_LIMIT],
        "source": {"component": "neam-operator"},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }
    try:
        await kube.post(event)
    except ApiError as e:
        log.warning("could not record event %s: HTTP %s", reason, e.status)
