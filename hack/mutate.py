"""``make mutate``: mutation testing (mutmut) of the code whose mistakes must not pass.

Each target mutates a few functions and runs only the unit tests that exercise them.
mutmut derives a mutant's module from its path below ``src/``, while this repository
keeps its packages below ``runtime/`` and ``operator/``; so every target gets a
staging directory ``mutants/<target>/`` with ``src/<package>`` linked to the package,
the tests and the data files they read linked beside it, and a ``pyproject.toml`` that
adds the target's ``[tool.mutmut]`` section to the project's own. mutmut copies that
into ``mutants/<target>/mutants/`` and mutates the copy; the repository is never
changed.

    python hack/mutate.py [TARGET ...]     # default: every target, one after another
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "mutants"
MUTMUT = Path(sys.executable).parent / "mutmut"
# Read by the tests through paths relative to the tests folder.
DATA = ("examples", "crds", "manifests", "docs")


@dataclass(frozen=True)
class Target:
    package: str  # the import package's folder in the repository
    files: tuple[str, ...]  # mutated files, relative to the package
    mutants: tuple[str, ...]  # mutmut name globs: the functions whose mutants run
    tests: tuple[str, ...]  # the test selection

    @property
    def name(self) -> str:
        return Path(self.package).name


TARGETS = {
    "status": Target(
        "operator/neam_operator",
        ("forgestatus.py", "jobs.py", "conditions.py"),
        (
            *(
                f"neam_operator.forgestatus.x_{f}__mutmut_*"
                for f in (
                    "parse_termination",
                    "git_status",
                    "final_progress",
                    "decimal_string",
                    "job_condition",
                    "_reason",
                    "pod_problem",
                    "job_phase",
                    "finished",
                    "observe",
                )
            ),
            "neam_operator.conditions.x_lifecycle__mutmut_*",
            "neam_operator.jobs.x_newest_termination__mutmut_*",
        ),
        ("tests/unit/operator",),
    ),
    "security": Target(
        "operator/neam_operator",
        ("builders/common.py",),
        (
            "neam_operator.builders.common.x_pod_security_context__mutmut_*",
            "neam_operator.builders.common.x_container_security_context__mutmut_*",
        ),
        ("tests/unit/operator",),
    ),
    "auth": Target(
        "runtime/neam",
        ("api/auth.py",),
        ("neam.api.auth.*",),
        (
            "tests/unit/api/test_auth.py",
            "tests/unit/api/test_server_basics.py",
            "tests/unit/api/test_admin.py",
        ),
    ),
    "budget": Target(
        "runtime/neam",
        ("agents/forge.py",),
        ("neam.agents.forge.xǁForgeLoopǁ_run__mutmut_*",),
        ("tests/unit/agents",),
    ),
}


def mutmut_section(target: Target) -> str:
    """The target's ``[tool.mutmut]`` table (TOML arrays of JSON strings are valid TOML)."""
    src = f"src/{target.name}"
    return "\n".join(
        [
            "",
            "[tool.mutmut]",
            f"source_paths = {json.dumps([src])}",
            f"only_mutate = {json.dumps([f'{src}/{f}' for f in target.files])}",
            f"also_copy = {json.dumps(list(DATA))}",
            f"pytest_add_cli_args_test_selection = {json.dumps(list(target.tests))}",
            "",
        ]
    )


def stage(name: str, target: Target) -> Path:
    """A fresh staging directory for ``target`` (mutmut's previous copy removed, so
    every run mutates and copies the current sources)."""
    root = WORK / name
    shutil.rmtree(root, ignore_errors=True)
    (root / "src").mkdir(parents=True)
    (root / "src" / target.name).symlink_to(REPO / target.package)
    for entry in ("tests", *DATA):
        (root / entry).symlink_to(REPO / entry)
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    (root / "pyproject.toml").write_text(pyproject + mutmut_section(target), encoding="utf-8")
    return root


def results(target: Target, cwd: Path) -> dict[str, str]:
    """``{mutant: status}`` of the mutants the target runs."""
    out = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    statuses = {}
    for line in out.splitlines():
        mutant, _, status = line.strip().rpartition(": ")
        if any(fnmatch.fnmatchcase(mutant, glob) for glob in target.mutants):
            statuses[mutant] = status
    return statuses


def diffs(mutants: list[str], cwd: Path) -> str:
    """The diffs of ``mutants``, in one process (``mutmut show`` starts one per mutant)."""
    script = (
        "import sys\n"
        "from mutmut.mutation.diff_apply import get_diff_for_mutant\n"
        "for name in sys.argv[1:]:\n"
        "    print(f'# {name}', get_diff_for_mutant(name), sep='\\n')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script, *mutants],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def run(name: str, target: Target, jobs: int) -> dict[str, str]:
    root = stage(name, target)
    started = time.monotonic()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    command = [str(MUTMUT), "run", "--max-children", str(jobs), *target.mutants]
    subprocess.run(["nice", "-n", "10", *command], cwd=root, env=env, check=True)
    elapsed = time.monotonic() - started
    statuses = results(target, root)
    survivors = sorted(m for m, s in statuses.items() if s != "killed")
    report = [f"{name}: {summary(statuses)} in {elapsed:.0f}s"]
    report.append(diffs(survivors, root))
    (root / "report.txt").write_text("\n".join(report) + "\n", encoding="utf-8")
    return statuses


def summary(statuses: dict[str, str]) -> str:
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return f"{len(statuses)} mutants: {parts}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=", ".join(TARGETS))
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("MUTATE_JOBS", "2")))
    args = parser.parse_args()
    unknown = set(args.targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}; choose from {', '.join(TARGETS)}")
    lines = []
    for name in args.targets or TARGETS:
        started = time.monotonic()
        statuses = run(name, TARGETS[name], args.jobs)
        elapsed = time.monotonic() - started
        lines.append(f"{name:<9} {summary(statuses)} ({elapsed:.0f}s)")
        for mutant, status in sorted(statuses.items()):
            if status != "killed":
                lines.append(f"    {status:<10} {mutant}")
    print("\n".join(["", "mutation testing (diffs: mutants/<target>/report.txt)", *lines]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
