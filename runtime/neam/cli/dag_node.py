"""``neam-dag-node``: run one node of an AgentDAG (what ``dag_execute`` does for a node).

The node's task is followed by the results of the nodes it depends on, read from
``--results-dir/<id>`` (the operator mounts the dependencies' result ConfigMaps
there), exactly as ``dag_execute`` builds it; then one ``spawn`` of the agent. The
result goes to the ConfigMap ``NEAM_RESULT_CONFIGMAP`` (``<namespace>/<name>``, keys
``result``, ``outcome``, ``cost``), bounded to 64 KiB with a marker when longer, and
a summary to the termination message. Prints one JSON line; exit 0 on success, 1
otherwise (a failed write of the result is a failure: dependents need it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from neam.agents.runtime import AgentRuntime, default_dirs
from neam.lang import NeamCompileError, load_program
from neam.lang.neamb import NeambError
from neam.orchestration.dag import Node, node_task, result_text
from neam.orchestration.spawn import spawn_with_cost
from neam.providers import ProviderError
from neam.report import ObjectRef, api_from_env, cost_string

RESULT_LIMIT = 64 * 1024
PREVIEW = 256


def bounded(text: str, limit: int = RESULT_LIMIT) -> str:
    """``text``, or its first ``limit`` characters and a marker saying how much is cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n…[truncated: {len(text) - limit} more characters]"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="neam-dag-node", description="Run one AgentDAG node: a spawn of its agent."
    )
    p.add_argument("--program", required=True, type=Path, help=".neam or .neamb file")
    p.add_argument("--agent", required=True, help="the node's agent")
    p.add_argument("--node", required=True, help="the node's id")
    p.add_argument("--task", default="", help="the node's task")
    p.add_argument("--depends-on", default="", help="ids of the nodes it depends on, in order")
    p.add_argument(
        "--results-dir", type=Path, help="directory holding a file per dependency's result"
    )
    return p


def _dependency_results(args: argparse.Namespace, deps: list[str]) -> dict[str, str]:
    results = {}
    for dep in deps:
        if args.results_dir is None:
            raise ValueError(f"node {args.node} depends on {dep} but no --results-dir is given")
        path = args.results_dir / dep
        try:
            results[dep] = path.read_text(encoding="utf-8")
        except OSError as e:
            raise ValueError(f"the result of {dep} is not readable at {path}: {e.strerror}") from e
    return results


def _write_result(env: Mapping[str, str], data: dict[str, str]) -> str | None:
    """Store the result in the node's ConfigMap; the reason it failed, or None."""
    target = env.get("NEAM_RESULT_CONFIGMAP", "")
    if not target:
        return None  # outside Kubernetes: stdout is the only output
    namespace, _, name = target.partition("/")
    if not namespace or not name:
        return f"NEAM_RESULT_CONFIGMAP {target!r} is not <namespace>/<name>"
    api = api_from_env(env, "the node's result")
    if api is None:
        return "no API server to store the result in"
    try:
        ref = ObjectRef("", "v1", "ConfigMap", "configmaps", namespace, name)
        if not api.patch(ref, {"data": data}, "storing the node's result"):
            return f"storing the result in ConfigMap {target} failed"
    finally:
        api.close()
    return None


def _finish(env: Mapping[str, str], outcome: str, cost: Decimal, message: str) -> int:
    line = {"outcome": outcome, "cost": cost_string(cost), "message": message[:PREVIEW]}
    print(json.dumps(line), flush=True)
    target = env.get("NEAM_TERMINATION_MESSAGE_PATH")
    if target:
        try:
            Path(target).write_text(json.dumps(line), encoding="utf-8")
        except OSError as e:
            print(f"neam-dag-node: cannot write the termination message: {e}", file=sys.stderr)
    return 0 if outcome == "completed" else 1


def main(argv: list[str] | None = None) -> int:
    env = dict(os.environ)
    args = build_parser().parse_args(argv)
    deps = [d for d in args.depends_on.split(",") if d]
    cost = Decimal(0)
    try:
        program = load_program(args.program)
        runtime = AgentRuntime(program, env=env, **default_dirs(env))
        runtime.decl(args.agent)
        node = Node(args.node, args.agent, args.task, tuple(deps))
        task = node_task(node, _dependency_results(args, deps))
        result, cost = spawn_with_cost(runtime, args.agent, task)
    except NeamCompileError as e:
        print(str(e), file=sys.stderr)
        return _finish(env, "error", cost, f"compilation failed: {args.program}")
    except (OSError, NeambError, ProviderError, LookupError, ValueError) as e:
        print(f"neam-dag-node: {e}", file=sys.stderr)
        return _finish(env, "error", cost, str(e))
    text = bounded(result_text(result))
    failed = _write_result(env, {"result": text, "outcome": "completed", "cost": cost_string(cost)})
    if failed is not None:
        print(f"neam-dag-node: {failed}", file=sys.stderr)
        return _finish(env, "error", cost, failed)
    return _finish(env, "completed", cost, text)


if __name__ == "__main__":
    sys.exit(main())
