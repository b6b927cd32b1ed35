"""Argo CD health checks (``kustomize/argocd/health/*.lua``) run with a Lua 5.1
interpreter, through ``tests/support/argocd_health.lua`` (Argo CD's sandbox: no string
or math library).

``lua5.1`` comes from Debian (``apt-get install lua5.1``; ``.ci/run`` and ``make
test-deps`` install it as root). Without it the tests that need it skip, unless
``NEAM_LUA_REQUIRED`` is set (CI), which makes that a failure. ``NEAM_LUA`` names
another interpreter.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cluster import REPO_ROOT

HEALTH_DIR = REPO_ROOT / "kustomize" / "argocd" / "health"
PATCH = HEALTH_DIR / "argocd-cm-health.yaml"
HARNESS = Path(__file__).with_name("argocd_health.lua")
COMMON = HEALTH_DIR / "common.lua"
SCRIPTS = {
    "ForgeRun": HEALTH_DIR / "forgerun.lua",
    "ClawAgent": HEALTH_DIR / "clawagent.lua",
    "AgentDAG": HEALTH_DIR / "agentdag.lua",
}
KEY = "resource.customizations.health.neam.dev_{}"
# The embedded scripts as files for the harness (removed when the tests end).
_EMBEDDED = tempfile.TemporaryDirectory(prefix="argocd-health-")


def source_script(kind: str) -> str:
    """What the patch must embed for ``kind``: the shared helpers, then its script."""
    return COMMON.read_text() + "\n" + SCRIPTS[kind].read_text()


def embedded_script(kind: str) -> str:
    """The script Argo CD gets for ``kind``: the one in the argocd-cm patch."""
    return yaml.safe_load(PATCH.read_text())["data"][KEY.format(kind)]


@functools.cache
def _embedded_file(kind: str) -> Path:
    path = Path(_EMBEDDED.name) / f"{kind}.lua"
    path.write_text(embedded_script(kind))
    return path


def lua_interpreter() -> str:
    """The Lua 5.1 interpreter's path; skips (or fails with NEAM_LUA_REQUIRED) without one."""
    name = os.environ.get("NEAM_LUA", "lua5.1")
    found = shutil.which(name)
    if found:
        return found
    why = f"{name} not found: install Debian's lua5.1 (apt-get install lua5.1, or make test-deps)"
    if os.environ.get("NEAM_LUA_REQUIRED"):
        pytest.fail(f"the Argo CD health checks cannot be tested: {why} (NEAM_LUA_REQUIRED is set)")
    pytest.skip(why)


class HealthError(AssertionError):
    pass


def run_script(lua: str, script: Path, obj: Any) -> dict[str, str]:
    """``{"status", "message"}`` of ``script`` for ``obj`` (a decoded JSON object)."""
    r = subprocess.run(
        [lua, str(HARNESS), str(script)],
        input=json.dumps(obj),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if r.returncode != 0:
        raise HealthError(f"{script.name}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def health(lua: str, obj: dict[str, Any]) -> dict[str, str]:
    """The Argo CD health of a neam.dev object (by its kind), by the script the patch
    gives Argo CD."""
    return run_script(lua, _embedded_file(obj["kind"]), obj)
