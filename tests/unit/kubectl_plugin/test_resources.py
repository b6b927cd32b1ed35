"""Kinds, API paths and KIND/NAME references."""

from __future__ import annotations

import pytest
from neam_operator.kubectl_plugin.errors import Exit, PluginError
from neam_operator.kubectl_plugin.resources import (
    AGENTDAG,
    CLAWAGENT,
    FORGERUN,
    JOB,
    POD,
    kind_named,
    parse_ref,
)


def test_paths() -> None:
    assert FORGERUN.url("ns", "x") == "/apis/neam.dev/v1alpha1/namespaces/ns/forgeruns/x"
    assert FORGERUN.url(None) == "/apis/neam.dev/v1alpha1/forgeruns"
    assert POD.url("ns", "p") == "/api/v1/namespaces/ns/pods/p"
    assert JOB.url("ns") == "/apis/batch/v1/namespaces/ns/jobs"
    assert (FORGERUN.api_version, FORGERUN.ref("x")) == ("neam.dev/v1alpha1", "forgerun/x")


@pytest.mark.parametrize(
    ("alias", "kind"),
    [
        ("fr", FORGERUN),
        ("ForgeRun", FORGERUN),
        ("forgeruns.neam.dev", FORGERUN),
        ("dag", AGENTDAG),
        ("agentdags", AGENTDAG),
        ("claw", CLAWAGENT),
        ("clawagent", CLAWAGENT),
    ],
)
def test_kind_aliases(alias: str, kind: object) -> None:
    assert kind_named(alias) is kind


def test_references() -> None:
    assert parse_ref("hello") == (FORGERUN, "hello")
    assert parse_ref("fr/hello") == (FORGERUN, "hello")
    assert parse_ref("dag/x", (FORGERUN, AGENTDAG)) == (AGENTDAG, "x")
    assert parse_ref("x", (AGENTDAG, FORGERUN)) == (AGENTDAG, "x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pod/x", r"'pod' is not a neam resource kind; use forgerun \(fr\), clawagent"),
        ("claw/x", "this command works on forgeruns and agentdags, not clawagents"),
        ("fr/", "names no resource"),
    ],
)
def test_bad_references_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(PluginError, match=message) as info:
        parse_ref(text, (FORGERUN, AGENTDAG))
    assert info.value.code == Exit.USAGE
