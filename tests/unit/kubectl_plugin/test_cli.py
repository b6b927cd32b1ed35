"""kubectl-neam's command line: flags before or after the command, and usage errors."""

from __future__ import annotations

import pytest
from neam_operator.kubectl_plugin.cli import main, parser


def test_connection_flags_go_before_or_after_the_command() -> None:
    before = parser().parse_args(["-n", "a", "--context", "c", "list"])
    after = parser().parse_args(["list", "-n", "a", "--kubeconfig", "k"])
    assert (before.namespace, before.context, getattr(before, "kubeconfig", None)) == (
        "a",
        "c",
        None,
    )
    assert (after.namespace, after.kubeconfig) == ("a", "k")
    assert not hasattr(parser().parse_args(["list"]), "namespace")


def test_command_flags() -> None:
    args = parser().parse_args(["list", "dag", "--phase", "Failed", "--phase", "stopped", "-A"])
    assert (args.kind, args.phase, args.all_namespaces) == ("dag", ["Failed", "stopped"], True)
    args = parser().parse_args(["outputs", "r", "--cat", "a", "--cat", "b", "--timeout", "5s"])
    assert (args.cat, args.timeout, args.no_files) == (["a", "b"], "5s", False)
    assert parser().parse_args(["logs", "-f", "r"]).follow is True


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main([])
    with pytest.raises(SystemExit) as info:
        main(["outputs", "r", "--no-files", "--cat", "a"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert "exit codes:" in parser().format_help()
