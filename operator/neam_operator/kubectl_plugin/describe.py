"""``kubectl neam describe``: spec summary, status, progress, conditions, children and the
resource's events, in the layout of ``kubectl describe``."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from neam_operator.kubectl_plugin import pods
from neam_operator.kubectl_plugin.client import Api
from neam_operator.kubectl_plugin.errors import Exit
from neam_operator.kubectl_plugin.resources import (
    AGENTDAG,
    CLAWAGENT,
    CONFIGMAP,
    EVENT,
    FORGERUN,
    JOB,
    PVC,
    SERVICE_ACCOUNT,
    Kind,
    parse_ref,
)
from neam_operator.kubectl_plugin.session import Session
from neam_operator.kubectl_plugin.text import (
    NONE,
    age,
    fields,
    git_summary,
    iterations,
    now,
    one_line,
    run_duration,
    stamp,
    table,
)

Body = dict[str, Any]
INDENT = 2


def _section(title: str, body: str) -> str:
    return f"{title}:\n{body}" if body else f"{title}:  {NONE}"


def _indented(text: str) -> str:
    return "\n".join(" " * INDENT + line for line in text.splitlines())


def source(spec: Body) -> str | None:
    src = spec.get("source") or {}
    ref = src.get("configMapRef")
    if ref:
        return f"ConfigMap {ref.get('name')}, key {ref.get('key', 'main.neam')}"
    if "inline" in src:
        return f"inline ({len(src['inline'] or '')} characters)"
    return None


def _storage(storage: Body | None) -> str | None:
    if not storage:
        return None
    if storage.get("existingClaim"):
        return f"existing claim {storage['existingClaim']}"
    parts = [f"size {storage['size']}" if storage.get("size") else None]
    parts.append(
        f"class {storage['storageClassName']}" if storage.get("storageClassName") else None
    )
    parts.append(storage.get("accessMode"))
    return ", ".join(p for p in parts if p) or None


def _resources(res: Body | None) -> str | None:
    if not res:
        return None
    parts = [
        f"{what} " + ", ".join(f"{k}={v}" for k, v in sorted((res.get(what) or {}).items()))
        for what in ("requests", "limits")
        if res.get(what)
    ]
    return "; ".join(parts) or None


def _names(refs: list[Body] | None) -> str | None:
    """Secret references by name: values are never read."""
    return ", ".join(r.get("name", "") for r in refs) if refs else None


def _git_spec(git: Body | None) -> str | None:
    if not git:
        return None
    text = git.get("url", "")
    if git.get("revision"):
        text += f" at {git['revision']}"
    if git.get("pushBranch"):
        text += f", pushes {git['pushBranch']}"
    return text


def _seconds(value: Any) -> str | None:
    return f"{value}s" if value is not None else None


def header(kind: Kind, body: Body, at: datetime) -> str:
    meta = body["metadata"]
    labels = ", ".join(f"{k}={v}" for k, v in sorted((meta.get("labels") or {}).items()))
    return fields(
        [
            ("Name", meta["name"]),
            ("Namespace", meta.get("namespace")),
            ("Kind", f"{kind.kind} ({kind.api_version})"),
            ("Labels", labels or None),
            ("Created", stamp(meta.get("creationTimestamp"), at)),
        ]
    )


def forgerun_spec(spec: Body) -> str:
    return fields(
        [
            ("Source", source(spec)),
            ("Agent", spec.get("agent") or "(the first forge agent)"),
            ("Max iterations", spec.get("maxIterations")),
            ("Max cost", spec.get("maxCost")),
            ("Task", one_line(spec["task"], 100) if spec.get("task") else None),
            ("Git", _git_spec(spec.get("git"))),
            ("Workspace", _storage(spec.get("workspace"))),
            ("Image", spec.get("image")),
            ("Resources", _resources(spec.get("resources"))),
            ("Secret refs", _names(spec.get("secretRefs"))),
            ("Deadline", _seconds(spec.get("activeDeadlineSeconds"))),
            ("Backoff limit", spec.get("backoffLimit")),
            ("TTL after finished", _seconds(spec.get("ttlSecondsAfterFinished"))),
            ("Stop", "true" if spec.get("stop") else None),
        ],
        INDENT,
    )


def forgerun_status(st: Body, at: datetime) -> str:
    return fields(
        [
            ("Phase", st.get("phase") or NONE),
            ("Outcome", st.get("outcome")),
            ("Agent", st.get("agent")),
            ("Iteration", iterations(st.get("iteration"), st.get("maxIterations"))),
            ("Cost (USD)", st.get("totalCost")),
            ("Current task", one_line(st["currentTask"]) if st.get("currentTask") else None),
            ("Message", one_line(st["message"]) if st.get("message") else None),
            ("Git", git_summary(st.get("git"))),
            ("Started", stamp(st.get("startTime"), at) if st.get("startTime") else None),
            ("Completed", stamp(st["completionTime"], at) if st.get("completionTime") else None),
            ("Duration", run_duration(st, at) if st.get("startTime") else None),
        ],
        INDENT,
    )


def progress(report: Body | None) -> str:
    """The pod's last report (``status.progress``), as the runtime wrote it."""
    if not report:
        return ""
    return fields(
        [
            ("Iteration", iterations(report.get("iteration"), report.get("maxIterations"))),
            ("Cost (USD)", report.get("totalCost")),
            (
                "Current task",
                one_line(report["currentTask"]) if report.get("currentTask") else None,
            ),
            ("Outcome", report.get("outcome")),
            ("Message", one_line(report["message"]) if report.get("message") else None),
            ("Updated", report.get("updateTime")),
        ],
        INDENT,
    )


def conditions(st: Body) -> str:
    rows = [
        [c.get("type"), c.get("status"), c.get("reason") or NONE, one_line(c.get("message"))]
        for c in st.get("conditions") or []
    ]
    return _indented(table(["TYPE", "STATUS", "REASON", "MESSAGE"], rows)) if rows else ""


def _job_state(job: Body) -> str:
    st = job.get("status") or {}
    for c in st.get("conditions") or []:
        if c.get("status") == "True" and c.get("type") in ("Complete", "Failed", "Suspended"):
            reason = f" ({c['reason']})" if c.get("reason") else ""
            return f"{c['type']}{reason}"
    counts = ", ".join(f"{k} {int(st.get(k) or 0)}" for k in ("active", "succeeded", "failed"))
    return f"suspended; {counts}" if (job.get("spec") or {}).get("suspend") else counts


def _pvc_state(pvc: Body) -> str:
    st = pvc.get("status") or {}
    capacity = (st.get("capacity") or {}).get("storage")
    return f"{st.get('phase', 'Pending')}, {capacity}" if capacity else st.get("phase", "Pending")


def forgerun_children(api: Api, namespace: str, children: Body) -> str:
    """Each child the status names, whether it exists and its state."""
    wanted = [
        (CONFIGMAP, children.get("program"), lambda _: "present"),
        (SERVICE_ACCOUNT, children.get("serviceAccount"), lambda _: "present"),
        (PVC, children.get("workspace"), _pvc_state),
        (JOB, children.get("job"), _job_state),
    ]
    rows = []
    for kind, name, state in wanted:
        if name:
            found = api.get(kind.url(namespace, name))
            rows.append([kind.kind, name, state(found) if found else "missing"])
    return _indented(table(["KIND", "NAME", "STATE"], rows)) if rows else ""


def job_pods(api: Api, namespace: str, job: str | None, at: datetime) -> str:
    """The Job's pods, oldest first, with why a pending one has not started."""
    if not job:
        return ""
    rows = []
    for attempt, pod in enumerate(pods.of_job(api, namespace, job), 1):
        meta = pod["metadata"]
        state = pods.state(pod)
        if pods.phase(pod) == "Pending" and not pods.gone(pod):
            state += f" ({pods.why_waiting(pod)})"
        rows.append([meta["name"], str(attempt), age(meta.get("creationTimestamp"), at), state])
    return _indented(table(["NAME", "ATTEMPT", "AGE", "STATE"], rows)) if rows else ""


def events(api: Api, body: Body, at: datetime) -> str:
    """The core/v1 Events whose involvedObject is this resource (by uid), oldest first."""
    meta = body["metadata"]
    selector = f"involvedObject.uid={meta['uid']}"
    found = api.list(EVENT.url(meta["namespace"]), fieldSelector=selector)

    def when(e: Body) -> str:
        return (
            e.get("lastTimestamp") or e.get("eventTime") or e["metadata"].get("creationTimestamp")
        )

    rows = []
    for e in sorted(found, key=when):
        count = int(e.get("count") or 1)
        message = one_line(e.get("message")) + (f" (x{count})" if count > 1 else "")
        rows.append([age(when(e), at), e.get("type") or NONE, e.get("reason") or NONE, message])
    return _indented(table(["LAST SEEN", "TYPE", "REASON", "MESSAGE"], rows)) if rows else ""


def agentdag_spec(spec: Body) -> str:
    return fields(
        [
            ("Source", source(spec)),
            ("Nodes", len(spec.get("nodes") or [])),
            ("Parallelism", spec.get("parallelism")),
            ("Workspace", _storage(spec.get("workspace"))),
            ("Image", spec.get("image")),
            ("Resources", _resources(spec.get("resources"))),
            ("Secret refs", _names(spec.get("secretRefs"))),
            ("Deadline", _seconds(spec.get("activeDeadlineSeconds"))),
            ("Stop", "true" if spec.get("stop") else None),
        ],
        INDENT,
    )


def agentdag_status(st: Body, at: datetime) -> str:
    return fields(
        [
            ("Phase", st.get("phase") or NONE),
            ("Progress", st.get("progress")),
            ("Cost (USD)", st.get("totalCost")),
            ("Message", one_line(st["message"]) if st.get("message") else None),
            ("Started", stamp(st.get("startTime"), at) if st.get("startTime") else None),
            ("Completed", stamp(st["completionTime"], at) if st.get("completionTime") else None),
            ("Duration", run_duration(st, at) if st.get("startTime") else None),
        ],
        INDENT,
    )


def agentdag_nodes(spec: Body, st: Body) -> str:
    status = {n.get("id"): n for n in st.get("nodes") or []}
    rows = []
    for node in spec.get("nodes") or []:
        ns = status.get(node.get("id")) or {}
        after = ",".join(node.get("dependsOn") or []) or NONE
        cells = [ns.get("phase"), ns.get("outcome"), ns.get("cost"), ns.get("child")]
        rows.append([node.get("id"), node.get("agent"), after, *(c or NONE for c in cells)])
    headers = ["ID", "AGENT", "AFTER", "PHASE", "OUTCOME", "COST", "CHILD"]
    return _indented(table(headers, rows)) if rows else ""


def clawagent_spec(spec: Body) -> str:
    auth = spec.get("auth") or {}
    key = auth.get("apiKeySecretRef")
    return fields(
        [
            ("Source", source(spec)),
            ("Agents", ", ".join(spec.get("agents") or []) or "(every claw agent)"),
            ("Replicas", spec.get("replicas")),
            ("Port", spec.get("port")),
            ("API key", f"Secret {key['name']}, key {key['key']}" if key else "none"),
            ("Sessions", _storage(spec.get("sessions"))),
            ("Image", spec.get("image")),
            ("Resources", _resources(spec.get("resources"))),
            ("Secret refs", _names(spec.get("secretRefs"))),
        ],
        INDENT,
    )


def clawagent_status(st: Body) -> str:
    return fields(
        [
            ("Phase", st.get("phase") or NONE),
            ("Ready", st.get("ready")),
            ("Endpoint", st.get("endpoint")),
            ("Agents", ", ".join(st.get("agents") or []) or None),
            ("Program", st.get("programHash")),
            ("Message", one_line(st["message"]) if st.get("message") else None),
        ],
        INDENT,
    )


def describe(api: Api, kind: Kind, body: Body, at: datetime) -> str:
    spec, st = body.get("spec") or {}, body.get("status") or {}
    namespace = body["metadata"]["namespace"]
    parts = [header(kind, body, at)]
    if kind is FORGERUN:
        children = st.get("children") or {}
        parts += [
            _section("Spec", forgerun_spec(spec)),
            _section("Status", forgerun_status(st, at)),
            _section("Progress", progress(st.get("progress"))),
            _section("Conditions", conditions(st)),
            _section("Children", forgerun_children(api, namespace, children)),
            _section("Pods", job_pods(api, namespace, children.get("job"), at)),
        ]
    elif kind is AGENTDAG:
        parts += [
            _section("Spec", agentdag_spec(spec)),
            _section("Status", agentdag_status(st, at)),
            _section("Nodes", agentdag_nodes(spec, st)),
            _section("Conditions", conditions(st)),
        ]
    else:
        parts += [
            _section("Spec", clawagent_spec(spec)),
            _section("Status", clawagent_status(st)),
            _section("Conditions", conditions(st)),
        ]
    parts.append(_section("Events", events(api, body, at)))
    return "\n".join(parts)


def run(session: Session, args: argparse.Namespace) -> Exit:
    kind, name = parse_ref(args.resource, (FORGERUN, AGENTDAG, CLAWAGENT))
    session.say(describe(session.api, kind, session.fetch(kind, name), now()))
    return Exit.OK
