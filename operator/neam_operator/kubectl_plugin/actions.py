"""``kubectl neam stop`` and ``kubectl neam rerun``: the two commands that change things."""

from __future__ import annotations

import argparse
import re
from typing import Any

from neam_operator.conditions import TERMINAL
from neam_operator.kubectl_plugin.client import ApiError
from neam_operator.kubectl_plugin.errors import Exit, PluginError
from neam_operator.kubectl_plugin.resources import AGENTDAG, FORGERUN, parse_ref
from neam_operator.kubectl_plugin.session import Session

RERUN_OF = "neam.dev/rerun-of"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MAX_NAME = 253
ATTEMPTS = 5


def stop(session: Session, args: argparse.Namespace) -> Exit:
    """Set ``spec.stop: true``; the operator suspends the Job and the run ends Stopped."""
    kind, name = parse_ref(args.resource, (FORGERUN, AGENTDAG))
    body = session.fetch(kind, name)
    phase = (body.get("status") or {}).get("phase")
    ref = kind.ref(name)
    if phase in TERMINAL:
        session.say(f"{ref} already ended ({phase}); nothing to stop")
    elif (body.get("spec") or {}).get("stop"):
        session.say(f"{ref} is already stopping")
    else:
        session.api.merge_patch(kind.url(session.namespace, name), {"spec": {"stop": True}})
        session.say(f"{ref} stopping: it ends Stopped once its running work finishes")
    return Exit.OK


def _ours(key: str) -> bool:
    """Metadata the operator or kubectl maintain, which a new run must not inherit."""
    return key.startswith("neam.dev/") or key == LAST_APPLIED


def original(body: dict[str, Any]) -> str:
    """The run a rerun chain started from (a rerun of a rerun names the first run)."""
    meta = body["metadata"]
    return (meta.get("annotations") or {}).get(RERUN_OF) or meta["name"]


def rerun_name(base: str, taken: set[str]) -> str:
    """``<base>-rerun-<n>``, with n one past the highest taken (``base`` cut to fit)."""
    base = base[: MAX_NAME - len("-rerun-") - 6].rstrip("-.")
    pattern = re.compile(rf"^{re.escape(base)}-rerun-(\d+)$")
    numbers = [int(m.group(1)) for t in taken if (m := pattern.match(t))]
    return f"{base}-rerun-{max(numbers, default=0) + 1}"


def rerun_body(body: dict[str, Any], name: str) -> dict[str, Any]:
    """A new object with the same spec (without ``stop``), the user's labels and
    annotations, no status, no owner, and a ``neam.dev/rerun-of`` annotation."""
    meta = body["metadata"]
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if not _ours(k)}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if not _ours(k)}
    annotations[RERUN_OF] = original(body)
    new_meta: dict[str, Any] = {"name": name, "namespace": meta["namespace"]}
    if labels:
        new_meta["labels"] = labels
    new_meta["annotations"] = annotations
    spec = {k: v for k, v in (body.get("spec") or {}).items() if k != "stop"}
    return {
        "apiVersion": body["apiVersion"],
        "kind": body["kind"],
        "metadata": new_meta,
        "spec": spec,
    }


def rerun(session: Session, args: argparse.Namespace) -> Exit:
    kind, name = parse_ref(args.resource, (FORGERUN, AGENTDAG))
    body = session.fetch(kind, name)
    url = kind.url(session.namespace)
    for _ in range(ATTEMPTS):
        if args.name:
            new = args.name
        else:
            taken = {i["metadata"]["name"] for i in session.api.list(url)}
            new = rerun_name(original(body), taken)
        try:
            session.api.create(url, rerun_body(body, new))
        except ApiError as e:
            if e.code != 409 or args.name:
                raise
            continue  # another rerun took that name meanwhile: pick the next
        session.say(f"{kind.ref(new)} created (a rerun of {kind.ref(name)})")
        return Exit.OK
    raise PluginError(f"could not pick a free name for a rerun of {kind.ref(name)}; use --name")
