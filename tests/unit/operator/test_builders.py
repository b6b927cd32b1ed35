"""Child-resource builders: names, specs, RBAC, security and secret handling."""

from __future__ import annotations

import json
from typing import Any

from neam_operator.builders import forgerun as b
from neam_operator.builders.common import Owner, child_name
from neam_operator.models import ForgeRunSpec
from neam_operator.settings import Settings

OWNER = Owner("ForgeRun", "demo", "team-a", "uid-1")
SETTINGS = Settings.from_env({})


def _spec(**extra: Any) -> ForgeRunSpec:
    return ForgeRunSpec.model_validate({"source": {"configMapRef": {"name": "src"}}, **extra})


def _children(spec: ForgeRunSpec) -> dict[str, dict[str, Any]]:
    objs = b.children(OWNER, spec, "builder", '{"neamb": 1}', "abc123", SETTINGS)
    return {o["kind"]: o for o in objs}


def test_child_names_are_deterministic_and_short() -> None:
    assert child_name("demo", "forge") == "demo-forge"
    long = "x" * 200
    name = child_name(long, "forge")
    assert len(name) <= 63 and name.endswith("-forge")
    assert name == child_name(long, "forge")
    assert name != child_name("x" * 199, "forge")


def test_every_child_is_owned_by_the_run() -> None:
    objs = b.children(OWNER, _spec(), "builder", "{}", "h", SETTINGS)
    assert [o["kind"] for o in objs] == [
        "ConfigMap",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "PersistentVolumeClaim",
        "Job",
    ]
    for o in objs:
        (ref,) = o["metadata"]["ownerReferences"]
        assert ref == {
            "apiVersion": "neam.dev/v1alpha1",
            "kind": "ForgeRun",
            "name": "demo",
            "uid": "uid-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
        assert o["metadata"]["namespace"] == "team-a"
        assert o["metadata"]["labels"]["neam.dev/forgerun"] == "demo"


def test_job_command_and_overrides() -> None:
    job = _children(_spec(maxIterations=7, maxCost="2.50"))["Job"]
    (c,) = job["spec"]["template"]["spec"]["containers"]
    assert c["command"] == [
        "neam-forge",
        "--agent",
        "/neam/program/program.neamb",
        "--name",
        "builder",
        "--workspace",
        "/workspace",
        "--verbose",
        "--max-iterations",
        "7",
        "--max-cost",
        "2.50",
    ]
    env = {e["name"]: e for e in c["env"]}
    assert env["NEAM_REPORT_RESOURCE"]["value"] == (
        "neam.dev/v1alpha1/namespaces/team-a/forgeruns/demo"
    )
    assert env["NEAM_TERMINATION_MESSAGE_PATH"]["value"] == "/dev/termination-log"
    assert c["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert c["image"] == SETTINGS.runtime_image


def test_job_without_overrides_passes_no_limits() -> None:
    (c,) = _children(_spec())["Job"]["spec"]["template"]["spec"]["containers"]
    assert "--max-iterations" not in c["command"] and "--max-cost" not in c["command"]


def test_job_spec_fields() -> None:
    spec = _spec(
        image="my/neam:1",
        activeDeadlineSeconds=600,
        backoffLimit=0,
        resources={"limits": {"cpu": 1, "memory": "1Gi"}},
    )
    job = _children(spec)["Job"]
    assert job["metadata"]["name"] == "demo-forge"
    assert job["spec"]["activeDeadlineSeconds"] == 600
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["suspend"] is False
    assert job["spec"]["podReplacementPolicy"] == "Failed"
    pod = job["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["image"] == "my/neam:1"
    assert c["resources"] == {"limits": {"cpu": 1, "memory": "1Gi"}}
    (default,) = _children(_spec())["Job"]["spec"]["template"]["spec"]["containers"]
    assert default["resources"]["requests"] == {"cpu": "500m", "memory": "512Mi"}
    assert pod["restartPolicy"] == "Never"
    assert pod["serviceAccountName"] == "demo-reporter"
    assert pod["automountServiceAccountToken"] is True


def test_job_is_hardened() -> None:
    pod = _children(_spec())["Job"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (c,) = pod["containers"]
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    assert mounts["/tmp"]["name"] == "tmp"
    assert mounts["/neam/program"]["readOnly"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["tmp"] == {"name": "tmp", "emptyDir": {}}
    assert volumes["program"]["configMap"]["name"] == "demo-program"
    assert volumes["workspace"]["persistentVolumeClaim"]["claimName"] == "demo-workspace"


def test_secrets_are_references_never_values() -> None:
    spec = _spec(
        env=[
            {"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": "llm", "key": "k"}}},
            {"name": "NEAM_LOG_LEVEL", "value": "debug"},
        ],
        secretRefs=[{"name": "anthropic"}],
    )
    (c,) = _children(spec)["Job"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in c["env"]}
    assert env["OPENAI_API_KEY"] == {
        "name": "OPENAI_API_KEY",
        "valueFrom": {"secretKeyRef": {"name": "llm", "key": "k"}},
    }
    assert env["NEAM_LOG_LEVEL"]["value"] == "debug"
    assert c["envFrom"] == [{"secretRef": {"name": "anthropic"}}]


def test_reporter_rbac_names_only_this_run() -> None:
    kids = _children(_spec())
    (rule,) = kids["Role"]["rules"]
    assert rule == {
        "apiGroups": ["neam.dev"],
        "resources": ["forgeruns/status"],
        "resourceNames": ["demo"],
        "verbs": ["get", "patch"],
    }
    rb = kids["RoleBinding"]
    assert rb["roleRef"]["name"] == kids["Role"]["metadata"]["name"]
    assert rb["subjects"] == [
        {"kind": "ServiceAccount", "name": "demo-reporter", "namespace": "team-a"}
    ]
    assert kids["ServiceAccount"]["automountServiceAccountToken"] is False


def test_program_configmap_is_an_immutable_snapshot() -> None:
    cm = _children(_spec())["ConfigMap"]
    assert cm["data"] == {"program.neamb": '{"neamb": 1}'}
    assert cm["immutable"] is True
    assert cm["metadata"]["annotations"]["neam.dev/program-hash"] == "abc123"


def test_workspace_claim() -> None:
    pvc = _children(_spec(workspace={"size": "5Gi", "storageClassName": "fast"}))[
        "PersistentVolumeClaim"
    ]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert pvc["spec"]["storageClassName"] == "fast"
    default = _children(_spec())["PersistentVolumeClaim"]
    assert default["spec"]["resources"]["requests"]["storage"] == SETTINGS.workspace_size
    assert "storageClassName" not in default["spec"]


def test_existing_claim_is_used_not_created() -> None:
    kids = _children(_spec(workspace={"existingClaim": "shared"}))
    assert "PersistentVolumeClaim" not in kids
    volumes = {v["name"]: v for v in kids["Job"]["spec"]["template"]["spec"]["volumes"]}
    assert volumes["workspace"]["persistentVolumeClaim"]["claimName"] == "shared"


def test_stop_creates_a_suspended_job() -> None:
    assert _children(_spec(stop=True))["Job"]["spec"]["suspend"] is True


def test_a_task_travels_in_the_program_snapshot() -> None:
    kids = _children(_spec(task="Summarise [research]:\n" + "x" * 5000))
    assert kids["ConfigMap"]["data"]["task"].startswith("Summarise [research]:")
    pod = kids["Job"]["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["command"][-2:] == ["--task-file", "/neam/program/task"]
    assert pod["volumes"][0]["configMap"]["items"] == [
        {"key": "program.neamb", "path": "program.neamb"},
        {"key": "task", "path": "task"},
    ]
    plain = _children(_spec())
    assert "task" not in plain["ConfigMap"]["data"]
    assert "--task-file" not in plain["Job"]["spec"]["template"]["spec"]["containers"][0]["command"]


def test_a_run_on_a_repository_gets_flags_and_its_credentials_as_files() -> None:
    spec = _spec(
        git={
            "url": "https://git.example.com/team/app.git",
            "revision": "v1.2",
            "secretRef": {"name": "app-git"},
            "author": {"name": "Neam Bot", "email": "bot@example.com"},
        }
    )
    pod = _children(spec)["Job"]["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    flags = c["command"][c["command"].index("--git-url") :]
    assert flags == [
        "--git-url", "https://git.example.com/team/app.git", "--push-branch", "neam/demo",
        "--git-revision", "v1.2", "--git-author", "Neam Bot <bot@example.com>",
        "--git-credentials", "/var/run/secrets/neam/git",
    ]  # fmt: skip
    assert {
        "name": "git-credentials",
        "secret": {"secretName": "app-git", "defaultMode": 0o440},
    } in (pod["volumes"])
    mount = next(m for m in c["volumeMounts"] if m["name"] == "git-credentials")
    assert mount == {
        "name": "git-credentials",
        "mountPath": "/var/run/secrets/neam/git",
        "readOnly": True,
    }
    assert "app-git" not in json.dumps(c.get("env")) and "envFrom" not in c
    public = _children(_spec(git={"url": "git@github.com:o/r.git", "pushBranch": "feature/x"}))
    (p,) = public["Job"]["spec"]["template"]["spec"]["containers"]
    assert p["command"][-4:] == [
        "--git-url",
        "git@github.com:o/r.git",
        "--push-branch",
        "feature/x",
    ]
