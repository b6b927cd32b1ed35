"""Where a ForgeRun's launch time and API calls go (``python -m bench launch``).

On a fresh local cluster whose kube-apiserver writes an audit log (bench/audit.py),
the operator launches ForgeRuns one at a time, 0.3 s apart, with pods held Pending.
Every request on the run's namespace is attributed to its run by name and to its
sender by User-Agent (``operator``: the operator's own client; ``kopf``: its watches;
``job-controller`` and the other kube-controller-manager controllers; ``bench``: this
script). Printed:

- requests per run, by sender and verb/resource, averaged over the runs;
- the launch timeline: for each step up to the pod's creation, the median offset of
  the request's arrival and completion at the API server from the ForgeRun's create;
- the in-process compile time of the program, for comparison.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from kubernetes import client
from neam_operator.program import compile_forge

from bench.audit import POLICY, Request, requests
from bench.cluster import bench_cluster
from bench.first_seen import FirstSeen
from bench.peers import FORGERUN, KEY_LABELS
from tests.support.operator_harness import PROGRAM, install_crds, running_operator

RUNS = 40
PAUSE = 0.3
SETTLE = 3.0  # seconds after the last pod, for the reconciles its events trigger
NS = "bench-launch"
RUN_NAME = re.compile(rf"^({FORGERUN.prefix}-\d{{3}})(?:$|[-.])")


def _by_run(reqs: list[Request]) -> dict[str, list[Request]]:
    out: dict[str, list[Request]] = defaultdict(list)
    for r in reqs:
        match = RUN_NAME.match(r.name)
        if match:
            out[match[1]].append(r)
    return out


def _counts(runs: dict[str, list[Request]]) -> None:
    total: Counter[tuple[str, str]] = Counter()
    for reqs in runs.values():
        total.update((r.actor, r.what) for r in reqs)
    print(f"requests per run (mean over {len(runs)} runs), by sender:")
    for who in sorted({a for a, _ in total}):
        mine = {what: n for (a, what), n in total.items() if a == who}
        line = ", ".join(f"{what} {n / len(runs):.2f}" for what, n in sorted(mine.items()))
        print(f"  {who:24} {sum(mine.values()) / len(runs):5.2f}: {line}")


def _timeline(runs: dict[str, list[Request]]) -> None:
    """Median offsets of each step (sender, verb/resource, n-th time) from the create."""
    starts: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    ends: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for reqs in runs.values():
        create = next(r for r in reqs if r.actor == "bench" and r.verb == "create")
        pod = next((r for r in reqs if r.what == "create pods"), None)
        if pod is None:
            continue
        seen: Counter[tuple[str, str]] = Counter()
        for r in reqs:
            if r.received > pod.completed:
                break
            seen[(r.actor, r.what)] += 1
            key = (r.actor, r.what, seen[(r.actor, r.what)])
            starts[key].append((r.received - create.received) * 1000)
            ends[key].append((r.completed - create.received) * 1000)
    print("launch timeline, ms from the ForgeRun's create reaching the API server (medians):")
    common = [k for k in starts if len(starts[k]) * 2 >= len(runs)]
    for key in sorted(common, key=lambda k: statistics.median(starts[k])):
        who, what, nth = key
        s, e = statistics.median(starts[key]), statistics.median(ends[key])
        label = f"{what}" + (f" (#{nth})" if nth > 1 else "")
        print(f"  {s:7.1f} -> {e:7.1f}  {who:16} {label}  [in {len(starts[key])} runs]")


def _compile_ms() -> float:
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        compile_forge(PROGRAM, "run.neam", None)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "audit-policy.yaml"
        policy.write_text(POLICY)
        with bench_cluster(("--kube-audit-policy", str(policy))) as kube:
            install_crds(kube)
            kube.kubectl("create", "namespace", NS)
            api = kube.api_client()
            crd = client.CustomObjectsApi(api)
            names = [f"{FORGERUN.prefix}-{i:03d}" for i in range(RUNS)]
            pods = FirstSeen(api, NS, "pods", KEY_LABELS)
            with running_operator(kube, Path(tmp)):
                for name in names:
                    FORGERUN.create(crd, NS, name)
                    time.sleep(PAUSE)
                pods.wait(names, timeout=120)
                time.sleep(SETTLE)
            pods.stop()
            log = kube.kubeconfig.parent / "logs" / "audit.log"
            runs = _by_run(requests(log, NS))
    _counts(runs)
    _timeline(runs)
    print(f"compile_forge of the benchmark program, in process: {_compile_ms():.2f} ms (median)")


if __name__ == "__main__":
    main()
