"""``kubectl neam list``: runs (or DAGs, or claw agents) as a table, sorted by start time."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from neam_operator import models
from neam_operator.kubectl_plugin.errors import Exit, PluginError
from neam_operator.kubectl_plugin.resources import AGENTDAG, CLAWAGENT, FORGERUN, Kind, kind_named
from neam_operator.kubectl_plugin.session import Session
from neam_operator.kubectl_plugin.text import NONE, age, iterations, now, run_duration, table

Row = list[str]


def _literals(annotation: Any) -> tuple[str, ...]:
    """The values of the ``Literal`` inside an annotation such as ``Literal[...] | None``."""
    if get_origin(annotation) is Literal:
        return tuple(str(v) for v in get_args(annotation))
    return tuple(v for arg in get_args(annotation) for v in _literals(arg))


def _phases(status: type[BaseModel]) -> tuple[str, ...]:
    return _literals(status.model_fields["phase"].annotation)


PHASES = {
    FORGERUN: _phases(models.ForgeRunStatus),
    AGENTDAG: _phases(models.AgentDAGStatus),
    CLAWAGENT: _phases(models.ClawAgentStatus),
}


def agents(kind: Kind, body: dict[str, Any]) -> list[str]:
    """The agents a resource runs (a run's agent falls back to ``spec.agent``)."""
    spec, status = body.get("spec") or {}, body.get("status") or {}
    if kind is FORGERUN:
        agent = status.get("agent") or spec.get("agent")
        return [agent] if agent else []
    if kind is AGENTDAG:
        return [n.get("agent", "") for n in spec.get("nodes") or []]
    return list(status.get("agents") or spec.get("agents") or [])


def started(body: dict[str, Any]) -> str:
    """The sort key: the start time, else the creation time."""
    status = body.get("status") or {}
    return status.get("startTime") or body["metadata"].get("creationTimestamp") or ""


def _forgerun(body: dict[str, Any]) -> Row:
    st = body.get("status") or {}
    return [
        ",".join(agents(FORGERUN, body)) or NONE,
        st.get("phase") or NONE,
        iterations(st.get("iteration"), st.get("maxIterations")),
        st.get("totalCost") or NONE,
        run_duration(st, now()),
    ]


def _agentdag(body: dict[str, Any]) -> Row:
    st = body.get("status") or {}
    cells = [st.get("phase"), st.get("progress"), st.get("totalCost")]
    return [*(c or NONE for c in cells), run_duration(st, now())]


def _clawagent(body: dict[str, Any]) -> Row:
    st = body.get("status") or {}
    shown = ",".join(agents(CLAWAGENT, body)) or NONE
    created = body["metadata"].get("creationTimestamp")
    return [st.get("phase") or NONE, st.get("ready") or NONE, shown, age(created, now())]


COLUMNS: dict[Kind, tuple[list[str], Callable[[dict[str, Any]], Row]]] = {
    FORGERUN: (["AGENT", "PHASE", "ITER", "COST", "DURATION"], _forgerun),
    AGENTDAG: (["PHASE", "PROGRESS", "COST", "DURATION"], _agentdag),
    CLAWAGENT: (["PHASE", "READY", "AGENTS", "AGE"], _clawagent),
}


def phase_filter(kind: Kind, values: list[str]) -> set[str]:
    """``--phase`` values (repeatable, comma-separated, any case) as phase names."""
    known = {p.lower(): p for p in PHASES[kind]}
    wanted = {v.strip().lower() for value in values for v in value.split(",") if v.strip()}
    unknown = sorted(wanted - known.keys())
    if unknown:
        raise PluginError(
            f"unknown {kind.singular} phase {', '.join(unknown)}; "
            f"phases are {', '.join(PHASES[kind])}",
            Exit.USAGE,
        )
    return {known[w] for w in wanted}


def select(
    kind: Kind, items: list[dict[str, Any]], agent: str | None, phases: set[str]
) -> list[dict[str, Any]]:
    """The items matching ``--agent`` and ``--phase``, sorted by start time, then name."""
    chosen = [
        i
        for i in items
        if (agent is None or agent in agents(kind, i))
        and (not phases or (i.get("status") or {}).get("phase") in phases)
    ]
    return sorted(chosen, key=lambda i: (started(i), i["metadata"]["name"]))


def render(kind: Kind, items: list[dict[str, Any]], all_namespaces: bool) -> str:
    headers, row = COLUMNS[kind]
    lead = ["NAMESPACE", "NAME"] if all_namespaces else ["NAME"]
    rows = []
    for item in items:
        meta = item["metadata"]
        first = [meta["namespace"], meta["name"]] if all_namespaces else [meta["name"]]
        rows.append(first + row(item))
    return table(lead + headers, rows)


def run(session: Session, args: argparse.Namespace) -> Exit:
    kind = kind_named(args.kind) if args.kind else FORGERUN
    phases = phase_filter(kind, args.phase)
    namespace = None if args.all_namespaces else session.namespace
    params = {"labelSelector": args.selector} if args.selector else {}
    items = select(kind, session.api.list(kind.url(namespace), **params), args.agent, phases)
    if not items:
        where = "any namespace" if namespace is None else f"namespace {namespace}"
        session.note(f"No {kind.plural} found in {where}.")
        return Exit.OK
    session.say(render(kind, items, args.all_namespaces))
    return Exit.OK
