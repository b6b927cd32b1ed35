"""ClawAgent against the real control plane, with the operator running. KWOK runs the
Deployment's pods (they become Ready without a container), so rollouts complete."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.claw import (
    clawagent,
    ready,
    rolled_out_to,
    served_hash,
    wait_claw,
)
from tests.support.cluster import ClusterHandle
from tests.support.operator_harness import (
    OperatorProcess,
    apply,
    claims_refused,
    condition,
    events,
    get_json,
    new_name,
    scratch_namespace,
    source_configmap,
    wait_for,
)

CLAW = """
claw agent support_bot {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "You help customers of Acme."
}

claw agent sales_bot {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "You sell Acme products."
}
"""
CLAW_V2 = CLAW.replace("You help customers of Acme.", "You help customers of Acme, briefly.")
BROKEN = """
claw agent support_bot {
  provider: "openai"
  model: "gpt-4o-mini"
  skills: [missing_skill]
}
"""


@pytest.fixture
def ns(kube: ClusterHandle, operator: OperatorProcess) -> Iterator[str]:
    with scratch_namespace(kube, "claw") as name:
        yield name


def deployment(kube: ClusterHandle, ns: str, name: str) -> dict[str, Any]:
    return get_json(kube, "deployment", f"{name}-api", "-n", ns)


def programs(kube: ClusterHandle, ns: str, name: str) -> list[str]:
    found = get_json(
        kube,
        "configmaps",
        "-n",
        ns,
        "-l",
        f"neam.dev/clawagent={name},app.kubernetes.io/component=program",
    )
    return sorted(cm["metadata"]["name"] for cm in found["items"])


def start_claw(kube: ClusterHandle, ns: str, name: str, **spec: Any) -> dict[str, Any]:
    apply(kube, source_configmap(ns, f"{name}-src", CLAW), clawagent(ns, name, **spec))
    return wait_claw(kube, ns, name, "Ready", ready)


# ------------------------------------------------------------------ serving


def test_a_clawagent_is_served_with_its_children(kube: ClusterHandle, ns: str) -> None:
    name = new_name("support")
    keys = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "support-keys", "namespace": ns},
        "stringData": {"api": "k-api", "admin": "k-admin"},
    }
    apply(kube, keys)
    auth = {
        "apiKeySecretRef": {"name": "support-keys", "key": "api"},
        "adminKeySecretRef": {"name": "support-keys", "key": "admin"},
    }
    st = start_claw(kube, ns, name, agents=["support_bot"], port=9090, auth=auth)
    assert st["phase"] == "Ready" and st["ready"] == "1/1"
    assert st["agents"] == ["support_bot"]
    assert st["endpoint"] == f"http://{name}-api.{ns}.svc:9090"
    assert st["selector"] == f"app.kubernetes.io/component=claw,neam.dev/clawagent={name}"
    assert st["observedGeneration"] == 1
    for type_ in ("Compiled", "Ready", "Authenticated", "SessionsShared"):
        assert condition(st, type_)["status"] == "True", type_
    assert condition(st, "Progressing")["reason"] == "RolloutComplete"
    assert condition(st, "Stalled")["status"] == "False"

    dep = deployment(kube, ns, name)
    assert served_hash(dep) == st["programHash"]
    (c,) = dep["spec"]["template"]["spec"]["containers"]
    assert c["command"][-2:] == ["--claw-agents", "support_bot"]
    env = {e["name"]: e for e in c["env"]}
    assert env["NEAM_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "support-keys",
        "key": "api",
    }
    assert "k-api" not in json.dumps(dep) and "k-api" not in json.dumps(st)
    svc = get_json(kube, "service", f"{name}-api", "-n", ns)
    assert svc["spec"]["ports"][0]["port"] == 9090
    claim = get_json(kube, "pvc", f"{name}-sessions", "-n", ns)
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert programs(kube, ns, name) == [f"{name}-program-{st['programHash'][:10]}"]
    for obj in (dep, svc, claim):
        assert obj["metadata"]["ownerReferences"][0]["kind"] == "ClawAgent"

    row = kube.kubectl("get", "clawagents", "-n", ns).stdout.splitlines()
    assert row[0].split() == ["NAME", "READY", "AGENTS", "ENDPOINT", "AGE"]
    assert row[1].split()[:4] == [name, "1/1", '["support_bot"]', st["endpoint"]]
    reasons = [e["reason"] for e in events(kube, ns, name)]
    assert "Program" in reasons and "Ready" in reasons


def test_without_an_api_key_the_status_says_it_is_unauthenticated(
    kube: ClusterHandle, ns: str
) -> None:
    name = new_name("open")
    st = start_claw(kube, ns, name)
    auth = condition(st, "Authenticated")
    assert (auth["status"], auth["reason"]) == ("False", "Unauthenticated")
    assert st["agents"] == ["support_bot", "sales_bot"]
    (c,) = deployment(kube, ns, name)["spec"]["template"]["spec"]["containers"]
    assert "--claw-agents" not in c["command"]
    assert "NEAM_API_KEY" not in {e["name"] for e in c["env"]}


@pytest.mark.parametrize(
    ("source", "agents", "reason", "needle"),
    [
        (BROKEN, None, "CompileError", ":5:12: error: unknown skill 'missing_skill'"),
        ("fun f() { return 1; }", None, "AgentNotFound", "no claw agent declared"),
        (CLAW, ["support_bot", "ghost"], "AgentNotFound", "no claw agent 'ghost'"),
    ],
)
def test_a_program_that_cannot_be_served_creates_nothing(
    kube: ClusterHandle,
    ns: str,
    source: str,
    agents: list[str] | None,
    reason: str,
    needle: str,
) -> None:
    name = new_name("bad")
    spec: dict[str, Any] = {"source": {"inline": source}}
    if agents:
        spec["agents"] = agents
    apply(kube, clawagent(ns, name, **spec))
    st = wait_claw(kube, ns, name, "Failed", lambda s: s.get("phase") == "Failed")
    compiled = condition(st, "Compiled")
    assert (compiled["status"], compiled["reason"]) == ("False", reason)
    assert needle in compiled["message"]
    assert condition(st, "Stalled")["status"] == "True"
    warnings = [e for e in events(kube, ns, name) if e["type"] == "Warning"]
    assert [e["reason"] for e in warnings][:1] == [reason]
    for kind in ("deployments", "services", "pvc"):
        assert get_json(kube, kind, "-n", ns)["items"] == [], kind
    assert programs(kube, ns, name) == []


def test_a_refused_child_fails_it_with_the_api_servers_one_line_reason(
    kube: ClusterHandle, ns: str
) -> None:
    """The sessions claim refused by an admission policy: InvalidSpec with the API
    server's message on one line, Stalled, one Warning event; not retried as an error."""
    name = new_name("refused")
    apply(kube, source_configmap(ns, f"{name}-src", CLAW))
    with claims_refused(kube, ns):
        apply(kube, clawagent(ns, name))
        st = wait_claw(kube, ns, name, "refused", lambda s: s.get("message"))
        assert st["phase"] == "Failed" and "\n" not in st["message"]
        assert st["message"].startswith("a child resource was rejected: ")
        assert "claims are not allowed" in st["message"] and "HTTP" not in st["message"]
        stalled = condition(st, "Stalled")
        assert (stalled["status"], stalled["reason"]) == ("True", "InvalidSpec")
        refused = [e for e in events(kube, ns, name) if e["reason"] == "InvalidSpec"]
        assert [e["type"] for e in refused] == ["Warning"]
        assert refused[0]["message"] == st["message"]


def test_a_source_configmap_that_appears_later_is_picked_up(kube: ClusterHandle, ns: str) -> None:
    name = new_name("late")
    apply(kube, clawagent(ns, name))
    st = wait_claw(kube, ns, name, "waiting", lambda s: s.get("message"))
    assert condition(st, "Compiled")["reason"] == "SourceNotFound"
    assert st["message"] == f"ConfigMap {name}-src not found"
    apply(kube, {**source_configmap(ns, f"{name}-src", CLAW), "data": {"other.neam": CLAW}})
    st = wait_claw(kube, ns, name, "wrong key", lambda s: "keys:" in (s.get("message") or ""))
    assert st["message"] == f"ConfigMap {name}-src has no key main.neam (keys: other.neam)"
    apply(kube, source_configmap(ns, f"{name}-src", CLAW))
    wait_claw(kube, ns, name, "Ready", ready)


# ------------------------------------------------------------------ program updates


def test_program_updates_roll_out_and_a_bad_one_keeps_the_old_serving(
    kube: ClusterHandle, ns: str
) -> None:
    name = new_name("roll")
    first = start_claw(kube, ns, name)["programHash"]
    # A good program: a new ConfigMap, a rolling update, then only the new pods.
    apply(kube, source_configmap(ns, f"{name}-src", CLAW_V2))
    second = wait_claw(kube, ns, name, "new program", lambda s: s.get("programHash") != first)
    second = wait_claw(kube, ns, name, "rolled out", rolled_out_to(second["programHash"]))
    dep = deployment(kube, ns, name)
    assert served_hash(dep) == second["programHash"]
    assert dep["status"]["updatedReplicas"] == 1
    assert f"{name}-program-{second['programHash'][:10]}" in programs(kube, ns, name)
    assert "rolling out program" in " ".join(e["message"] for e in events(kube, ns, name))

    # A broken program: nothing changes in the cluster; the status names what is served.
    generation = dep["metadata"]["generation"]
    apply(kube, source_configmap(ns, f"{name}-src", BROKEN))
    broken = wait_claw(kube, ns, name, "compile error", lambda s: s.get("phase") == "Degraded")
    compiled = condition(broken, "Compiled")
    assert compiled["status"] == "False" and "main.neam:5:12:" in compiled["message"]
    assert compiled["message"].endswith(f"still serving program {second['programHash']}")
    assert broken["programHash"] == second["programHash"] and broken["ready"] == "1/1"
    assert condition(broken, "Ready")["status"] == "False"
    assert condition(broken, "Stalled")["status"] == "True"
    after = deployment(kube, ns, name)
    assert after["metadata"]["generation"] == generation
    assert served_hash(after) == second["programHash"]

    # Fixing it goes back to Ready on the fixed program.
    apply(kube, source_configmap(ns, f"{name}-src", CLAW))
    wait_claw(kube, ns, name, "back on the first program", rolled_out_to(first))


def test_an_inline_source_edit_rolls_out(kube: ClusterHandle, ns: str) -> None:
    name = new_name("inline")
    apply(kube, clawagent(ns, name, source={"inline": CLAW}))
    first = wait_claw(kube, ns, name, "Ready", ready)["programHash"]
    apply(kube, clawagent(ns, name, source={"inline": CLAW_V2}))
    st = wait_claw(kube, ns, name, "new program", lambda s: s.get("programHash") != first)
    wait_claw(kube, ns, name, "rolled out", rolled_out_to(st["programHash"]))
    assert st["observedGeneration"] == 2


def test_program_configmaps_no_replicaset_uses_are_deleted(kube: ClusterHandle, ns: str) -> None:
    name = new_name("gc")
    hashes = [start_claw(kube, ns, name)["programHash"]]
    for i in range(5):
        text = CLAW.replace("You sell Acme products.", f"You sell Acme products, v{i}.")
        apply(kube, source_configmap(ns, f"{name}-src", text))
        st = wait_claw(kube, ns, name, f"v{i}", lambda s, h=hashes: s.get("programHash") not in h)
        hashes.append(st["programHash"])
        wait_claw(kube, ns, name, f"v{i} rolled out", rolled_out_to(st["programHash"]))

    def collected() -> list[str] | None:
        used = set()
        for rs in get_json(kube, "replicasets", "-n", ns)["items"]:
            for v in rs["spec"]["template"]["spec"]["volumes"]:
                if "configMap" in v:
                    used.add(v["configMap"]["name"])
        have = programs(kube, ns, name)
        return have if set(have) == used else None

    # The Deployment keeps 3 old ReplicaSets for rollbacks: their programs stay.
    kept = wait_for(collected, "only the programs ReplicaSets use")
    assert len(hashes) == 6 and len(kept) == 4
    assert f"{name}-program-{hashes[-1][:10]}" in kept


# ------------------------------------------------------------------ scale, restart, delete


def test_the_scale_subresource_drives_the_replicas(kube: ClusterHandle, ns: str) -> None:
    name = new_name("scale")
    start_claw(kube, ns, name)
    kube.kubectl("scale", f"clawagent/{name}", "-n", ns, "--replicas=3")
    st = wait_claw(kube, ns, name, "3 ready", lambda s: s.get("ready") == "3/3" and ready(s))
    assert deployment(kube, ns, name)["spec"]["replicas"] == 3
    scale = json.loads(
        kube.kubectl(
            "get", "--raw", f"/apis/neam.dev/v1alpha1/namespaces/{ns}/clawagents/{name}/scale"
        ).stdout
    )
    assert scale["spec"]["replicas"] == 3 and scale["status"]["replicas"] == 3
    assert scale["status"]["selector"] == st["selector"]
    shared = condition(st, "SessionsShared")
    assert (shared["status"], shared["reason"]) == ("False", "ReadWriteOnceClaim")
    kube.kubectl("scale", f"clawagent/{name}", "-n", ns, "--replicas=1")
    wait_claw(kube, ns, name, "scaled to one", lambda s: s.get("ready") == "1/1" and ready(s))

    # An HPA targets it through the same subresource (below minReplicas it scales up
    # without needing metrics).
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "neam.dev/v1alpha1",
                "kind": "ClawAgent",
                "name": name,
            },
            "minReplicas": 2,
            "maxReplicas": 4,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 80},
                    },
                }
            ],
        },
    }
    apply(kube, hpa)
    wait_claw(kube, ns, name, "scaled by the HPA", lambda s: s.get("ready") == "2/2" and ready(s))
    found = get_json(kube, "clawagent", name, "-n", ns)
    assert found["spec"]["replicas"] == 2


def test_a_restarted_operator_duplicates_nothing(
    kube: ClusterHandle, ns: str, operator: OperatorProcess
) -> None:
    name = new_name("restart")
    start_claw(kube, ns, name)
    before = {
        kind: [o["metadata"]["uid"] for o in get_json(kube, kind, "-n", ns)["items"]]
        for kind in ("deployments", "replicasets", "services", "pvc", "configmaps")
    }
    generation = deployment(kube, ns, name)["metadata"]["generation"]
    operator.stop()
    operator.start()
    # A change after the restart: its reconcile runs after the one of the restart.
    kube.kubectl("scale", f"clawagent/{name}", "-n", ns, "--replicas=2")
    wait_claw(kube, ns, name, "2 ready", lambda s: s.get("ready") == "2/2" and ready(s))
    after = {
        kind: [o["metadata"]["uid"] for o in get_json(kube, kind, "-n", ns)["items"]]
        for kind in before
    }
    assert after == before
    # The restart re-applied an unchanged Deployment: only the scale changed it.
    assert deployment(kube, ns, name)["metadata"]["generation"] == generation + 1


def test_deleting_removes_the_children_but_not_an_existing_claim(
    kube: ClusterHandle, ns: str
) -> None:
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "team-sessions", "namespace": ns},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    apply(kube, claim)
    name = new_name("owned")
    st = start_claw(kube, ns, name, replicas=2, sessions={"existingClaim": "team-sessions"})
    assert condition(st, "SessionsShared")["reason"] == "ReadWriteMany"
    assert get_json(kube, "pvc", f"{name}-sessions", "-n", ns) is None
    kube.kubectl("delete", "clawagent", name, "-n", ns, "--wait=true")

    def gone() -> bool:
        return (
            deployment(kube, ns, name) is None
            and get_json(kube, "service", f"{name}-api", "-n", ns) is None
            and programs(kube, ns, name) == []
        )

    wait_for(gone, "the children to be garbage-collected")
    assert get_json(kube, "pvc", "team-sessions", "-n", ns) is not None


def test_a_clawagent_created_again_waits_for_its_namesakes_children(
    kube: ClusterHandle, ns: str
) -> None:
    name = new_name("again")
    first = start_claw(kube, ns, name, terminationGracePeriodSeconds=2)
    old_claim = get_json(kube, "pvc", f"{name}-sessions", "-n", ns)["metadata"]["uid"]
    # Deleted and applied again at once (a GitOps replace): the garbage collector is
    # still removing the first one's children.
    kube.kubectl("delete", "clawagent", name, "-n", ns, "--wait=true")
    apply(kube, clawagent(ns, name, terminationGracePeriodSeconds=2))
    st = wait_claw(kube, ns, name, "Ready again", ready)
    uid = get_json(kube, "clawagent", name, "-n", ns)["metadata"]["uid"]
    claim = get_json(kube, "pvc", f"{name}-sessions", "-n", ns)
    assert claim["metadata"]["uid"] != old_claim
    assert claim["metadata"]["ownerReferences"][0]["uid"] == uid
    dep = deployment(kube, ns, name)
    assert dep["metadata"]["ownerReferences"][0]["uid"] == uid
    assert st["programHash"] == first["programHash"]
