"""``kubectl neam watch``: a live progress line until the run ends; the exit code says how
it ended (0 only for Succeeded)."""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Iterator
from typing import Any

from neam_operator.conditions import TERMINAL
from neam_operator.kubectl_plugin.client import Api, ApiError
from neam_operator.kubectl_plugin.errors import Exit, PluginError
from neam_operator.kubectl_plugin.resources import FORGERUN, Kind, parse_ref
from neam_operator.kubectl_plugin.session import Session
from neam_operator.kubectl_plugin.text import (
    NONE,
    iterations,
    now,
    one_line,
    parse_duration,
    run_duration,
)

WATCH_SECONDS = 300  # one watch request; the next resumes from the last resourceVersion
ENDINGS = {"Succeeded": Exit.OK, "Failed": Exit.RUN_FAILED, "Stopped": Exit.RUN_STOPPED}
CLEAR = "\r\x1b[2K"


def changes(
    api: Api, kind: Kind, namespace: str, name: str, deadline: float | None
) -> Iterator[dict[str, Any]]:
    """The object now and after each change (a watch resumed across requests), until it
    is deleted (a NOT_FOUND error) or ``deadline`` (``time.monotonic()``) passes
    (TimeoutError)."""
    gone = PluginError(f"{kind.ref(name)} was deleted", Exit.NOT_FOUND)
    body = api.get(kind.url(namespace, name))
    if body is None:
        raise PluginError(f"{kind.ref(name)} not found in namespace {namespace}", Exit.NOT_FOUND)
    yield body
    version = body["metadata"]["resourceVersion"]
    while True:
        left = WATCH_SECONDS if deadline is None else deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        selector = f"metadata.name={name}"
        try:
            for type_, obj in api.watch(
                kind.url(namespace),
                version,
                max(1, min(int(left), WATCH_SECONDS)),
                fieldSelector=selector,
            ):
                if type_ == "ERROR":
                    raise ApiError(int(obj.get("code") or 500), json.dumps(obj))
                version = obj["metadata"]["resourceVersion"]
                if type_ == "DELETED":
                    raise gone
                if type_ != "BOOKMARK":
                    yield obj
        except ApiError as e:
            if e.code != 410:  # 410 Gone: the version is too old; read the object afresh
                raise
            body = api.get(kind.url(namespace, name))
            if body is None:
                raise gone from e
            version = body["metadata"]["resourceVersion"]
            yield body


def progress_line(body: dict[str, Any]) -> str:
    """``forgerun/x  Running  iteration 2/4  cost 0.0042  task: ...``"""
    st = body.get("status") or {}
    parts = [FORGERUN.ref(body["metadata"]["name"]), st.get("phase") or "Pending"]
    done = iterations(st.get("iteration"), st.get("maxIterations"))
    if done != NONE:
        parts.append(f"iteration {done}")
    if st.get("totalCost"):
        parts.append(f"cost {st['totalCost']}")
    if st.get("currentTask"):
        parts.append(f"task: {one_line(st['currentTask'], 60)}")
    elif st.get("message"):
        parts.append(one_line(st["message"], 60))
    return "  ".join(parts)


def final_line(body: dict[str, Any]) -> str:
    """``forgerun/x Succeeded: outcome completed, 3/4 iterations, cost 0.01, took 2m05s: ...``"""
    st = body.get("status") or {}
    parts = [f"outcome {st.get('outcome') or NONE}"]
    if st.get("iteration") is not None:
        parts.append(f"{iterations(st['iteration'], st.get('maxIterations'))} iterations")
    if st.get("totalCost"):
        parts.append(f"cost {st['totalCost']}")
    if st.get("startTime"):
        parts.append(f"took {run_duration(st, now())}")
    message = f": {one_line(st['message'])}" if st.get("message") else ""
    ref = FORGERUN.ref(body["metadata"]["name"])
    return f"{ref} {st.get('phase')}: {', '.join(parts)}{message}"


def run(session: Session, args: argparse.Namespace) -> Exit:
    _, name = parse_ref(args.run)
    try:
        limit = parse_duration(args.timeout) if args.timeout else None
    except ValueError as e:
        raise PluginError(f"--timeout: {e}", Exit.USAGE) from e
    deadline = None if limit is None else time.monotonic() + limit
    live = session.out.isatty()  # a terminal gets one line rewritten in place
    shown = ""
    try:
        for body in changes(session.api, FORGERUN, session.namespace, name, deadline):
            phase = (body.get("status") or {}).get("phase")
            if phase in TERMINAL:
                session.say((CLEAR if live else "") + final_line(body))
                shown = ""
                return ENDINGS[phase]
            line = progress_line(body)
            if live:  # a wrapped line could not be rewritten in place
                line = line[: shutil.get_terminal_size().columns - 1]
            if line != shown:
                session.out.write(CLEAR + line if live else line + "\n")
                session.out.flush()
                shown = line
    except TimeoutError:
        raise PluginError(
            f"{FORGERUN.ref(name)} did not end within {args.timeout}", Exit.TIMEOUT
        ) from None
    finally:
        if live and shown:  # leave the terminal on a fresh line (timeout, Ctrl-C)
            session.out.write("\n")
    raise AssertionError("unreachable: changes() ends only by raising")
