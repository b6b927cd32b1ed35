"""Runtime benchmarks: forge loop overhead per iteration and claw ask latency.

- Forge: a loop of N iterations against a zero-latency OpenAI-compatible stub on
  127.0.0.1, with ``checkpoint: "git"`` (and ``"none"`` for comparison). The
  overhead per iteration is the wall time per iteration minus the median time of
  a bare provider call to the same stub (HTTP round trip, measured separately).
- Claw: ask latency (median and p95 of many asks) on a fresh session and on a
  session whose JSONL file already holds 10,000 turns (``max_history_turns: 50``).
  The cold load of the big session (first ask after start) is reported apart.

Run: ``python -m bench runtime`` (or ``make bench``).
"""

from __future__ import annotations

import platform
import statistics
import tempfile
import time
from pathlib import Path

from neam.agents import jsonl
from neam.agents.runtime import AgentRuntime
from neam.lang import compile_source

from tests.support.llm_stubs import FAST_RETRY_ENV, LLMStub

FORGE = """
skill write_file {
  description: "Write a file"
  params: { path: string, content: string }
  impl(path, content) { workspace_write(path, content); return "ok"; }
}
fun verify_fn(ctx) {
  workspace_write("iter.txt", str(ctx["iteration"]));
  if (ctx["iteration"] < ITERATIONS) { return "keep going"; }
  return true;
}
forge agent builder {
  provider: "openai"
  model: "stub-model"
  system: "Build."
  skills: [write_file]
  verify: verify_fn
  workspace: "build"
  checkpoint: "CHECKPOINT"
  loop: { max_iterations: 1000, max_cost: 1000.0, plan_file: "plan.md",
          progress_file: "progress.jsonl", learnings_file: "learnings.jsonl" }
}
"""

CLAW = """
claw agent bot {
  provider: "openai"
  model: "stub-model"
  system: "You are helpful."
  session: { max_history_turns: 50, compaction: "manual" }
}
"""


def _runtime(source: str, root: Path, stub: LLMStub) -> AgentRuntime:
    program = compile_source(source, str(root / "bench.neam")).program
    assert program is not None
    return AgentRuntime(
        program,
        sessions_dir=root / "sessions",
        workspace_dir=root,
        env={**stub.env(), **FAST_RETRY_ENV},
    )


def _bare_call_ms(rt: AgentRuntime, agent: str, n: int = 200) -> float:
    provider = rt.provider(rt.decl(agent))
    messages = [{"role": "system", "content": "x"}, {"role": "user", "content": "y"}]
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        provider.chat(messages)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def bench_forge(checkpoint: str, iterations: int = 100) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, LLMStub("openai") as stub:
        root = Path(tmp)
        source = FORGE.replace("ITERATIONS", str(iterations)).replace("CHECKPOINT", checkpoint)
        rt = _runtime(source, root, stub)
        llm_ms = _bare_call_ms(rt, "builder")
        start = time.perf_counter()
        result = rt.run_forge("builder")
        total_ms = (time.perf_counter() - start) * 1000
        assert result.outcome == "completed" and result.iterations == iterations, result
        per_iteration = total_ms / iterations
        return {
            "per_iteration_ms": per_iteration,
            "llm_call_ms": llm_ms,
            "overhead_ms": per_iteration - llm_ms,
        }


def _latencies(rt: AgentRuntime, key: str, n: int) -> list[float]:
    samples = []
    for i in range(n):
        start = time.perf_counter()
        rt.ask("bot", key, f"question {i}")
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def bench_claw(turns: int = 10_000, asks: int = 300) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, LLMStub("openai") as stub:
        root = Path(tmp)
        big = root / "sessions" / "bot" / "big.jsonl"
        big.parent.mkdir(parents=True)
        with open(big, "wb") as fh:
            for i in range(turns):
                fh.write(
                    jsonl.dumps_line(
                        {
                            "type": "turn",
                            "ts": time.time(),
                            "user": f"earlier question {i} " + "lorem ipsum " * 10,
                            "assistant": f"earlier answer {i} " + "dolor sit amet " * 10,
                            "tools": [],
                        }
                    )
                )
        rt = _runtime(CLAW, root, stub)
        _latencies(rt, "warmup", 20)
        start = time.perf_counter()
        rt.ask("bot", "big", "first question after start")
        cold_ms = (time.perf_counter() - start) * 1000
        fresh = _latencies(rt, "fresh", asks)
        large = _latencies(rt, "big", asks)
        p50_fresh, p50_large = statistics.median(fresh), statistics.median(large)
        return {
            "fresh_p50_ms": p50_fresh,
            "fresh_p95_ms": statistics.quantiles(fresh, n=20)[-1],
            "large_p50_ms": p50_large,
            "large_p95_ms": statistics.quantiles(large, n=20)[-1],
            "large_cold_first_ask_ms": cold_ms,
            "ratio_p50": p50_large / p50_fresh,
        }


def main() -> None:
    print(f"machine: {platform.machine()} {platform.system()} python {platform.python_version()}")
    for mode in ("git", "none"):
        r = bench_forge(mode)
        print(
            f"forge checkpoint={mode}: {r['per_iteration_ms']:.2f} ms/iteration, "
            f"bare LLM call {r['llm_call_ms']:.2f} ms, overhead {r['overhead_ms']:.2f} ms "
            "(target < 30 ms with git)"
        )
    c = bench_claw()
    print(
        f"claw ask: fresh p50 {c['fresh_p50_ms']:.2f} ms (p95 {c['fresh_p95_ms']:.2f}), "
        f"10,000-turn p50 {c['large_p50_ms']:.2f} ms (p95 {c['large_p95_ms']:.2f}), "
        f"ratio {c['ratio_p50']:.2f} (target <= 1.2); "
        f"cold first ask on the 10,000-turn file {c['large_cold_first_ask_ms']:.2f} ms"
    )


if __name__ == "__main__":
    main()
