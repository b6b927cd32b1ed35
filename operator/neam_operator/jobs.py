"""What the operator reads back from its Jobs: their pods' termination messages."""

from __future__ import annotations

from neam_operator.kube import Kube, path


async def termination_message(kube: Kube, namespace: str, job: str, container: str) -> str | None:
    """The newest terminated ``container``'s termination message among the Job's pods."""
    pods = await kube.request(
        "GET", path("v1", "Pod", namespace), params={"labelSelector": f"job-name={job}"}
    )
    best: tuple[str, str] | None = None
    for pod in pods.get("items") or []:
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            term = (cs.get("state") or {}).get("terminated") or {}
            if cs.get("name") == container and term.get("message"):
                stamp = term.get("finishedAt") or ""
                if best is None or stamp > best[0]:
                    best = (stamp, term["message"])
    return best[1] if best else None
