"""``kubectl neam outputs``: a run's final outcome (from its status) and, through a
short-lived pod on its workspace claim (see ``workspace``), the files it left."""

from __future__ import annotations

import argparse
import base64
import posixpath
from datetime import UTC, datetime
from typing import Any

from neam_operator.builders.forgerun import CONTAINER as FORGE_CONTAINER
from neam_operator.builders.forgerun import WORKSPACE
from neam_operator.conditions import TERMINAL
from neam_operator.kubectl_plugin import pods
from neam_operator.kubectl_plugin.errors import Exit, PluginError
from neam_operator.kubectl_plugin.resources import FORGERUN, JOB, PVC, parse_ref
from neam_operator.kubectl_plugin.session import Session
from neam_operator.kubectl_plugin.text import (
    NONE,
    fields,
    git_summary,
    iterations,
    now,
    one_line,
    parse_duration,
    run_duration,
    size,
    table,
)
from neam_operator.kubectl_plugin.workspace import WorkspacePod, pod_manifest

Body = dict[str, Any]


def outcome(body: Body) -> str:
    """The run's result as its status records it."""
    st = body.get("status") or {}
    phase = st.get("phase") or "Pending"
    title = f"{FORGERUN.ref(body['metadata']['name'])}: {phase}"
    if phase not in TERMINAL:
        title += " (not finished: the outcome is not final)"
    details = fields(
        [
            ("Outcome", st.get("outcome") or NONE),
            ("Iterations", iterations(st.get("iteration"), st.get("maxIterations"))),
            ("Cost (USD)", st.get("totalCost") or NONE),
            ("Duration", run_duration(st, now())),
            ("Message", one_line(st["message"]) if st.get("message") else None),
            ("Git", git_summary(st.get("git"))),
        ],
        indent=2,
    )
    return f"{title}\n{details}"


def workspace_claim(body: Body) -> str | None:
    """The claim the run's Job mounts (its own, or ``spec.workspace.existingClaim``)."""
    children = (body.get("status") or {}).get("children") or {}
    existing = ((body.get("spec") or {}).get("workspace") or {}).get("existingClaim")
    return children.get("workspace") or existing


def relative(path: str) -> str:
    """A ``--cat`` path made relative to the workspace; outside it is a usage error."""
    if path.startswith(WORKSPACE + "/"):
        path = path[len(WORKSPACE) + 1 :]
    clean = posixpath.normpath(path)
    if posixpath.isabs(clean) or clean == ".." or clean.startswith("../") or clean == ".":
        raise PluginError(f"--cat {path}: paths are relative to the workspace", Exit.USAGE)
    return clean


def listing(claim: str, items: list[Body]) -> str:
    rows = []
    more = 0
    for item in items:
        if "file" in item:
            when = datetime.fromtimestamp(item["mtime"], UTC).strftime("%Y-%m-%d %H:%M:%S")
            rows.append([size(item["size"]), when, item["file"]])
        elif "link" in item:
            rows.append([NONE, NONE, f"{item['link']} -> {item['target']}"])
        elif "truncated" in item:
            more = item["truncated"]
    head = f"Files in the workspace (claim {claim}):"
    if not rows:
        return f"{head}  (none)"
    lines = [
        head,
        *("  " + line for line in table(["SIZE", "MODIFIED (UTC)", "PATH"], rows).splitlines()),
    ]
    if more:
        lines.append(f"  ... and {more} more files, not listed")
    return "\n".join(lines)


def files(items: list[Body]) -> tuple[dict[str, bytes], dict[str, str]]:
    """The lister's ``cat`` records as ``({path: bytes}, {path: error})``."""
    data: dict[str, bytearray] = {}
    errors: dict[str, str] = {}
    for item in items:
        if "error" in item:
            errors[item["cat"]] = item["error"]
        else:
            data.setdefault(item["cat"], bytearray()).extend(base64.b64decode(item["chunk"]))
    return {path: bytes(content) for path, content in data.items()}, errors


def contents(session: Session, items: list[Body], paths: list[str]) -> Exit:
    """The files' bytes on stdout (with a ``==> path <==`` header when there are several);
    a file that cannot be printed is an error on stderr."""
    data, errors = files(items)
    code = Exit.OK
    for path in paths:
        if path in errors:
            session.note(f"error: {path}: {errors[path]}")
            code = Exit.ERROR
            continue
        if len(paths) > 1:
            session.say(f"==> {path} <==")
        session.out.buffer.write(data.get(path, b""))
        session.out.buffer.flush()
    return code


def _image(
    session: Session, body: Body, job: str | None, override: str | None
) -> tuple[str, str | None]:
    """The image (and pull policy) the run's Job used, else ``spec.image``."""
    if override:
        return override, None
    found = session.api.get(JOB.url(session.namespace, job)) if job else None
    template = (((found or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    for c in template.get("containers") or []:
        if c.get("name") == FORGE_CONTAINER and c.get("image"):
            return c["image"], c.get("imagePullPolicy")
    spec = body.get("spec") or {}
    if spec.get("image"):
        return spec["image"], spec.get("imagePullPolicy")
    raise PluginError(
        f"cannot tell the image of {FORGERUN.ref(body['metadata']['name'])} "
        "(its Job is gone and spec.image is unset); pass --image",
        Exit.USAGE,
    )


def _live_node(session: Session, job: str | None) -> str | None:
    """The node of a pod of the run that is still running (it holds the claim there)."""
    for pod in pods.of_job(session.api, session.namespace, job) if job else []:
        node = (pod.get("spec") or {}).get("nodeName")
        if node and pods.phase(pod) not in pods.TERMINAL and not pods.gone(pod):
            return node
    return None


def run(session: Session, args: argparse.Namespace) -> Exit:
    _, name = parse_ref(args.run)
    paths = [relative(p) for p in args.cat]
    try:
        timeout = parse_duration(args.timeout)
    except ValueError as e:
        raise PluginError(f"--timeout: {e}", Exit.USAGE) from e
    body = session.fetch(FORGERUN, name)
    if not paths:
        session.say(outcome(body))
    if args.no_files:
        return Exit.OK
    claim = workspace_claim(body)
    if claim is None:
        raise PluginError(f"{FORGERUN.ref(name)} has no workspace: it never started its Job")
    if session.api.get(PVC.url(session.namespace, claim)) is None:
        raise PluginError(f"the workspace claim {claim} of {FORGERUN.ref(name)} no longer exists")
    job = ((body.get("status") or {}).get("children") or {}).get("job")
    image, pull_policy = _image(session, body, job, args.image)
    mode = ["cat", WORKSPACE, *paths] if paths else ["list", WORKSPACE, "1" if args.git else "0"]
    manifest = pod_manifest(body, claim, image, pull_policy, _live_node(session, job), mode)
    items = WorkspacePod(session, manifest, timeout).run()
    if paths:
        return contents(session, items, paths)
    session.say(listing(claim, items))
    return Exit.OK
