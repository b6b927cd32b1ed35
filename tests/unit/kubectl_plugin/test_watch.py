"""kubectl neam watch: the progress line and the final line."""

from __future__ import annotations

from neam_operator.kubectl_plugin.errors import Exit
from neam_operator.kubectl_plugin.watch import ENDINGS, final_line, progress_line


def _run(**status: object) -> dict:
    return {"metadata": {"name": "x"}, "status": status}


def test_progress_line() -> None:
    running = _run(phase="Running", iteration=2, maxIterations=4, totalCost="0.01", currentTask="T")
    assert progress_line(running) == "forgerun/x  Running  iteration 2/4  cost 0.01  task: T"
    assert progress_line(_run()) == "forgerun/x  Pending"
    waiting = _run(phase="Pending", message="ConfigMap src not found")
    assert progress_line(waiting) == "forgerun/x  Pending  ConfigMap src not found"


def test_final_line_names_only_what_is_known() -> None:
    done = _run(
        phase="Succeeded",
        outcome="completed",
        iteration=3,
        maxIterations=4,
        totalCost="0.02",
        startTime="2026-01-01T00:00:00Z",
        completionTime="2026-01-01T00:02:05Z",
        message="ok",
    )
    assert final_line(done) == (
        "forgerun/x Succeeded: outcome completed, 3/4 iterations, cost 0.02, took 2m05s: ok"
    )
    broken = _run(phase="Failed", outcome="error", message="x.neam:1:1: error")
    assert final_line(broken) == "forgerun/x Failed: outcome error: x.neam:1:1: error"


def test_only_succeeded_exits_zero() -> None:
    assert ENDINGS == {"Succeeded": Exit.OK, "Failed": Exit.RUN_FAILED, "Stopped": Exit.RUN_STOPPED}
    assert len({int(code) for code in Exit}) == len(Exit)
