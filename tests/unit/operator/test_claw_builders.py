"""ClawAgent children: names, the neam-api Deployment, auth from Secrets, storage."""

from __future__ import annotations

from typing import Any

import pytest
from neam_operator.builders import clawagent as b
from neam_operator.builders.common import Owner
from neam_operator.models import ClawAgentSpec
from neam_operator.program import Rejected, compile_claw
from neam_operator.settings import Settings
from pydantic import ValidationError

OWNER = Owner("ClawAgent", "support", "team-a", "uid-9")
SETTINGS = Settings.from_env({})
HASH = "0123456789abcdef"


def _spec(**extra: Any) -> ClawAgentSpec:
    return ClawAgentSpec.model_validate({"source": {"configMapRef": {"name": "src"}}, **extra})


def _deployment(spec: ClawAgentSpec, program_hash: str = HASH) -> dict[str, Any]:
    return b.deployment(OWNER, b.ClawNames.of("support", spec), spec, program_hash, SETTINGS)


def test_names_and_the_content_named_program() -> None:
    names = b.ClawNames.of("support", _spec())
    assert (names.deployment, names.service, names.sessions) == (
        "support-api",
        "support-api",
        "support-sessions",
    )
    cm = b.program_configmap(OWNER, '{"x": 1}', HASH)
    assert cm["metadata"]["name"] == "support-program-0123456789"
    assert cm["immutable"] is True and cm["data"] == {"program.neamb": '{"x": 1}'}
    assert cm["metadata"]["labels"]["neam.dev/clawagent"] == "support"
    assert cm["metadata"]["ownerReferences"][0]["uid"] == "uid-9"
    other = b.program_configmap(OWNER, "{}", "fedcba9876543210")
    assert other["metadata"]["name"] != cm["metadata"]["name"]


def test_a_new_program_changes_only_what_rolls_the_pods() -> None:
    first, second = _deployment(_spec()), _deployment(_spec(), "fedcba9876543210")
    assert first["spec"]["selector"] == second["spec"]["selector"]
    volumes = [d["spec"]["template"]["spec"]["volumes"][0] for d in (first, second)]
    assert [v["configMap"]["name"] for v in volumes] == [
        "support-program-0123456789",
        "support-program-fedcba9876",
    ]
    assert first["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }


def test_deployment_runs_neam_api_hardened_with_probes_and_drain() -> None:
    spec = _spec(
        replicas=2,
        port=9000,
        agents=["support_bot"],
        terminationGracePeriodSeconds=45,
        env=[{"name": "LOG", "value": "1"}],
        secretRefs=[{"name": "llm-provider"}],
    )
    dep = _deployment(spec)
    assert dep["spec"]["replicas"] == 2
    pod = dep["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 45
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["automountServiceAccountToken"] is False
    (c,) = pod["containers"]
    assert c["command"] == [
        "neam-api",
        "--program",
        "/neam/program/program.neamb",
        "--port",
        "9000",
        "--drain-seconds",
        "43",
        "--claw-agents",
        "support_bot",
    ]
    assert c["securityContext"] == {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert c["ports"] == [{"name": "http", "containerPort": 9000, "protocol": "TCP"}]
    probes = {k: c[k]["httpGet"] for k in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert probes == {
        "startupProbe": {"path": "/startup", "port": "http"},
        "readinessProbe": {"path": "/ready", "port": "http"},
        "livenessProbe": {"path": "/health", "port": "http"},
    }
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["NEAM_SESSIONS_DIR"] == "/var/lib/neam/sessions"
    assert env["NEAM_WORKSPACE_DIR"] == "/var/lib/neam/workspace"
    assert env["LOG"] == "1"
    assert c["envFrom"] == [{"secretRef": {"name": "llm-provider"}}]
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts == {"program": "/neam/program", "data": "/var/lib/neam", "tmp": "/tmp"}
    claim = pod["volumes"][1]["persistentVolumeClaim"]
    assert claim == {"claimName": "support-sessions"}


def test_keys_come_from_secrets_by_reference() -> None:
    spec = _spec(
        auth={
            "apiKeySecretRef": {"name": "support-keys", "key": "api"},
            "adminKeySecretRef": {"name": "support-keys", "key": "admin"},
        }
    )
    (c,) = _deployment(spec)["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in c["env"]}
    assert env["NEAM_API_KEY"] == {
        "name": "NEAM_API_KEY",
        "valueFrom": {"secretKeyRef": {"name": "support-keys", "key": "api"}},
    }
    assert env["NEAM_ADMIN_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "admin"
    (plain,) = _deployment(_spec())["spec"]["template"]["spec"]["containers"]
    assert not {"NEAM_API_KEY", "NEAM_ADMIN_KEY"} & {e["name"] for e in plain["env"]}


def test_sessions_claim_and_existing_claims() -> None:
    names = b.ClawNames.of("support", _spec())
    claim = b.sessions_pvc(OWNER, names, _spec(), SETTINGS)
    assert claim is not None
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    rwx = _spec(sessions={"size": "5Gi", "accessMode": "ReadWriteMany", "storageClassName": "nfs"})
    shared = b.sessions_pvc(OWNER, b.ClawNames.of("support", rwx), rwx, SETTINGS)
    assert shared is not None
    assert shared["spec"]["accessModes"] == ["ReadWriteMany"]
    assert shared["spec"]["storageClassName"] == "nfs"
    existing = _spec(sessions={"existingClaim": "team-sessions"})
    assert b.sessions_pvc(OWNER, b.ClawNames.of("support", existing), existing, SETTINGS) is None
    pod = _deployment(existing)["spec"]["template"]["spec"]
    assert pod["volumes"][1]["persistentVolumeClaim"]["claimName"] == "team-sessions"


def test_service_selector_and_endpoint() -> None:
    spec = _spec(port=9000)
    names = b.ClawNames.of("support", spec)
    svc = b.service(OWNER, names, spec)
    assert svc["spec"]["selector"] == b.selector(OWNER)
    assert svc["spec"]["ports"] == [{"name": "http", "port": 9000, "targetPort": "http"}]
    labels = _deployment(spec)["spec"]["template"]["metadata"]["labels"]
    assert b.selector(OWNER).items() <= labels.items()
    assert b.selector_string(OWNER) == "app.kubernetes.io/component=claw,neam.dev/clawagent=support"
    assert b.endpoint(OWNER, names, spec) == "http://support-api.team-a.svc:9000"


def test_sessions_storage_rules() -> None:
    with pytest.raises(ValidationError):
        _spec(sessions={"accessMode": "ReadWriteSometimes"})
    with pytest.raises(ValidationError):
        _spec(terminationGracePeriodSeconds=1)


CLAWS = """
claw agent support_bot {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "Help."
}

claw agent sales_bot {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "Sell."
}

fun done(ctx) { return true; }

forge agent builder {
  provider: "openai"
  model: "gpt-4o-mini"
  verify: done
}
"""


def test_compile_claw_selects_claw_agents() -> None:
    every = compile_claw(CLAWS, "main.neam", None)
    assert not isinstance(every, Rejected)
    assert every.agents == ("support_bot", "sales_bot")
    one = compile_claw(CLAWS, "main.neam", ["sales_bot", "sales_bot"])
    assert not isinstance(one, Rejected) and one.agents == ("sales_bot",)
    assert one.program_hash == every.program_hash
    forge = compile_claw(CLAWS, "main.neam", ["builder"])
    assert forge == Rejected(
        "AgentNotFound", "main.neam: no claw agent 'builder' (have: sales_bot, support_bot)"
    )
    none = compile_claw("fun f() { return 1; }", "x.neam", None)
    assert none == Rejected("AgentNotFound", "x.neam: no claw agent declared")
    broken = compile_claw("claw agent x {\n  provider: \n}\n", "x.neam", None)
    assert isinstance(broken, Rejected) and broken.reason == "CompileError"
    assert broken.message.startswith("x.neam:")
