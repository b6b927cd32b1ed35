"""ForgeRun helpers for tests on real pods: a run whose pod talks to the LLM stub."""

from __future__ import annotations

import json
from typing import Any

from tests.support.cluster import ClusterHandle
from tests.support.llm_stubs import LLMStub, StubReply
from tests.support.operator_harness import (
    apply,
    forgerun,
    run_status,
    source_configmap,
    wait_for,
)

TERMINAL = ("Succeeded", "Failed", "Stopped")
USAGE = {"input_tokens": 1200, "output_tokens": 300}


def write(path: str, content: str, **extra: Any) -> StubReply:
    call = {"name": "write_file", "arguments": {"path": path, "content": content}}
    return StubReply(tool_calls=[call], usage=USAGE, **extra)


def text(reply: str, **extra: Any) -> StubReply:
    return StubReply(text=reply, usage=USAGE, **extra)


def launch(
    kube: ClusterHandle, ns: str, llm: LLMStub, name: str, program: str, **spec: Any
) -> None:
    """The program's ConfigMap, the key's Secret and a ForgeRun using both."""
    assert llm.api_key is not None
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"{name}-llm", "namespace": ns},
        "stringData": {"OPENAI_API_KEY": llm.api_key},
    }
    env = [
        {"name": "OPENAI_BASE_URL", "value": llm.url},
        {
            "name": "OPENAI_API_KEY",
            "valueFrom": {"secretKeyRef": {"name": f"{name}-llm", "key": "OPENAI_API_KEY"}},
        },
    ]
    source = {"configMapRef": {"name": f"{name}-src"}}
    apply(
        kube,
        secret,
        source_configmap(ns, f"{name}-src", program),
        forgerun(ns, name, source=source, env=env, **spec),
    )


def wait_status(
    kube: ClusterHandle, ns: str, name: str, what: str, check: Any, timeout: float = 180
) -> dict[str, Any]:
    """The run's status once ``check(status)`` holds; a timeout shows the last status."""
    last: dict[str, Any] = {}

    def probe() -> dict[str, Any] | None:
        nonlocal last
        last = run_status(kube, ns, name)
        return last if check(last) else None

    try:
        return wait_for(probe, f"ForgeRun {name}: {what}", timeout=timeout)
    except AssertionError as e:
        raise AssertionError(f"{e}; last status: {json.dumps(last)}") from None
