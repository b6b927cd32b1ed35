"""ClawAgent end to end on real pods: the operator's Deployment runs ``neam-api``, which
the test reaches at 127.0.0.1 (pods share the host network here) and which talks to
the OpenAI-compatible stub; keys come from Secrets, sessions live on the volume."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from tests.support.claw import clawagent, ready, rolled_out_to, wait_claw
from tests.support.cluster import ClusterHandle
from tests.support.llm_stubs import LLMStub
from tests.support.operator_harness import apply, free_port, source_configmap

PROGRAM = """
claw agent concierge {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "SYSTEM"
  session { max_history_turns 20 }
}
"""


def program(system: str) -> str:
    return PROGRAM.replace("SYSTEM", system)


def user_texts(request: Any) -> list[str]:
    return [m["content"] for m in request.json["messages"] if m["role"] == "user"]


def system_text(request: Any) -> str:
    return next(m["content"] for m in request.json["messages"] if m["role"] == "system")


@pytest.fixture
def served(kube: ClusterHandle, namespace: str, llm: LLMStub) -> dict[str, Any]:
    """A ClawAgent with API and admin keys from a Secret, serving on a free host port."""
    assert llm.api_key is not None
    keys = {"api": f"api-{secrets.token_hex(8)}", "admin": f"adm-{secrets.token_hex(8)}"}
    port = free_port()
    apply(
        kube,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "concierge-keys", "namespace": namespace},
            "stringData": keys,
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "llm-provider", "namespace": namespace},
            "stringData": {"OPENAI_API_KEY": llm.api_key, "OPENAI_BASE_URL": llm.url},
        },
        source_configmap(namespace, "concierge-src", program("You are the concierge, v1.")),
        clawagent(
            namespace,
            "concierge",
            port=port,
            secretRefs=[{"name": "llm-provider"}],
            auth={
                "apiKeySecretRef": {"name": "concierge-keys", "key": "api"},
                "adminKeySecretRef": {"name": "concierge-keys", "key": "admin"},
            },
        ),
    )
    status = wait_claw(kube, namespace, "concierge", "Ready", ready, timeout=180)
    return {"url": f"http://127.0.0.1:{port}", "keys": keys, "status": status}


def message(served: dict[str, Any], session: str, text: str, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.post(
        f"{served['url']}/api/v1/claw/concierge/sessions/{session}/message",
        json={"message": text},
        headers=headers,
        timeout=60,
    )


def test_claw_endpoints_with_keys_from_secrets(served: dict[str, Any], llm: LLMStub) -> None:
    url, keys = served["url"], served["keys"]
    assert served["status"]["agents"] == ["concierge"]
    # Authentication: keys from the Secret, 401 without or with a wrong one, 403 for
    # an API key on an admin endpoint.
    assert message(served, "ada", "hello", None).status_code == 401
    assert message(served, "ada", "hello", keys["api"] + "x").status_code == 401
    admin = f"{url}/api/v1/admin/status"
    assert httpx.get(admin, headers={"Authorization": f"Bearer {keys['api']}"}).status_code == 403
    assert httpx.get(admin, headers={"Authorization": f"Bearer {keys['admin']}"}).status_code == 200

    # Context across turns: the second turn's model call carries the first turn.
    first = message(served, "ada", "My name is Ada.", keys["api"])
    assert first.status_code == 200, first.text
    assert first.json()["response"] == "echo: My name is Ada."
    assert message(served, "ada", "What is my name?", keys["api"]).status_code == 200
    assert user_texts(llm.requests[-1]) == ["My name is Ada.", "What is my name?"]
    assert system_text(llm.requests[-1]) == "You are the concierge, v1."

    # Reset archives the session: the next turn starts without history.
    reset = httpx.post(
        f"{url}/api/v1/claw/concierge/sessions/ada/reset",
        headers={"Authorization": f"Bearer {keys['api']}"},
    )
    assert reset.status_code == 200 and reset.json()["status"] == "reset"
    assert message(served, "ada", "Who am I?", keys["api"]).status_code == 200
    assert user_texts(llm.requests[-1]) == ["Who am I?"]


def test_a_program_update_rolls_out_and_the_session_survives(
    kube: ClusterHandle, namespace: str, served: dict[str, Any], llm: LLMStub
) -> None:
    key = served["keys"]["api"]
    for text in ("I like tea.", "And biscuits."):
        assert message(served, "grace", text, key).status_code == 200
    first = served["status"]["programHash"]
    apply(kube, source_configmap(namespace, "concierge-src", program("You are the concierge, v2.")))
    new = wait_claw(
        kube, namespace, "concierge", "a new program", lambda s: s["programHash"] != first
    )
    wait_claw(kube, namespace, "concierge", "rolled out", rolled_out_to(new["programHash"]), 180)
    # The new pod serves the new program, with the session's history from the volume.
    reply = message(served, "grace", "What do I like?", key)
    assert reply.status_code == 200, reply.text
    assert system_text(llm.requests[-1]) == "You are the concierge, v2."
    assert user_texts(llm.requests[-1]) == ["I like tea.", "And biscuits.", "What do I like?"]
