"""A ForgeRun on a repository, on real pods: the pod clones from a Git server on
127.0.0.1 (``git http-backend`` behind basic auth, in this test process), the stub LLM
drives the loop, and the pushed branch holds the agent's files, one commit per
iteration."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cluster import ClusterHandle
from tests.support.forgeruns import TERMINAL, launch, wait_status, write
from tests.support.git_server import bare_repo, git, http_git_server
from tests.support.llm_stubs import LLMStub, StubReply
from tests.support.operator_harness import apply, events, get_json

PROGRAM = """
skill write_file {
  description: "Write a file"
  params: { path: string, content: string }
  impl(path, content) {
    workspace_write(path, content);
    return "Wrote " + path;
  }
}

fun verify_fn(ctx) {
  if (ctx.current_task == "Write greet.py") {
    return workspace_read("greet.py") != nil;
  }
  return workspace_read("test_greet.py") != nil;
}

forge agent builder {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "Follow PLAN.md."
  skills: [write_file]
  verify: verify_fn
  loop: { max_iterations: 5, plan_file: "PLAN.md" }
}
"""
PLAN = "- Write greet.py\n- Write test_greet.py\n"
PASSWORD = "e2e-git-token-8d1c"


def test_a_forgerun_clones_a_repository_and_pushes_its_branch(
    kube: ClusterHandle, namespace: str, llm: LLMStub, tmp_path: Path
) -> None:
    bare = bare_repo(tmp_path, "greeter", {"README.md": "# greeter\n", "PLAN.md": PLAN})
    base = git(bare, "rev-parse", "main").strip()
    llm.enqueue(
        write("greet.py", 'def greet(name):\n    return f"Hi {name}"\n'),
        StubReply(text="done", usage={"input_tokens": 10, "output_tokens": 5}),
        write("test_greet.py", "from greet import greet\n"),
        StubReply(text="done", usage={"input_tokens": 10, "output_tokens": 5}),
    )
    with http_git_server(tmp_path, "neam", PASSWORD) as server:
        url = f"{server.url}/greeter.git"
        apply(
            kube,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "greeter-git", "namespace": namespace},
                "type": "kubernetes.io/basic-auth",
                "stringData": {"username": "neam", "password": PASSWORD},
            },
        )
        git_spec = {
            "url": url,
            "secretRef": {"name": "greeter-git"},
            "author": {"name": "Neam Bot", "email": "bot@example.invalid"},
        }
        launch(kube, namespace, llm, "greeter", PROGRAM, git=git_spec)
        status = wait_status(
            kube, namespace, "greeter", "finished", lambda s: s.get("phase") in TERMINAL, 240
        )
    assert status["phase"] == "Succeeded", status
    assert status["iteration"] == 2
    head = git(bare, "rev-parse", "neam/greeter").strip()
    assert status["git"] == {
        "url": url,
        "branch": "neam/greeter",
        "baseCommit": base,
        "headCommit": head,
    }
    assert git(bare, "log", "--format=%s|%an", "neam/greeter").splitlines() == [
        "neam-forge: iteration 2: Write test_greet.py|Neam Bot",
        "neam-forge: iteration 1: Write greet.py|Neam Bot",
        "initial commit|Test Author",
    ]
    assert git(bare, "show", "neam/greeter:greet.py").startswith("def greet(name):")
    assert "Pushed" in [e["reason"] for e in events(kube, namespace, "greeter")]
    wide = kube.kubectl("get", "forgerun", "greeter", "-n", namespace, "-o", "wide").stdout
    assert "neam/greeter" in wide.splitlines()[1].split()  # the BRANCH column
    # The token reached the pod as a file and went nowhere else.
    pod = get_json(kube, "pods", "-n", namespace, "-l", "job-name=greeter-forge")["items"][0]
    places = {
        "ForgeRun": json.dumps(get_json(kube, "forgerun", "greeter", "-n", namespace)),
        "pod": json.dumps(pod),
        "events": json.dumps(get_json(kube, "events", "-n", namespace)),
        "pod log": kube.kubectl("logs", "-n", namespace, pod["metadata"]["name"]).stdout,
        "remote branch": git(bare, "log", "-p", "neam/greeter"),
    }
    assert [where for where, text in places.items() if PASSWORD in text] == []
    assert {user for _, _, user in server.requests} <= {None, "neam"}
