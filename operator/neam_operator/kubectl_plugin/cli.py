"""``kubectl-neam``: the command line (``kubectl neam COMMAND ...``) and its exit codes."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType

from neam_operator.kubectl_plugin import actions, describe, listing, logs, outputs, watch
from neam_operator.kubectl_plugin.client import Api, ApiError
from neam_operator.kubectl_plugin.errors import Exit, PluginError
from neam_operator.kubectl_plugin.resources import KNOWN
from neam_operator.kubectl_plugin.session import Session

Command = Callable[[Session, argparse.Namespace], Exit]
COMMANDS: dict[str, Command] = {
    "list": listing.run,
    "describe": describe.run,
    "logs": logs.run,
    "watch": watch.run,
    "stop": actions.stop,
    "rerun": actions.rerun,
    "outputs": outputs.run,
}
EXIT_CODES = """exit codes:
  0  success (watch: the run Succeeded)
  1  a request failed, or outputs could not read the workspace
  2  usage: bad arguments, or a kind the command does not take
  3  the resource does not exist (or was deleted while watched)
  4  no cluster access: no usable kubeconfig, server unreachable, unauthorized, forbidden
  5  watch: the run Failed
  6  watch: the run was Stopped
  7  watch --timeout passed, or the outputs pod did not finish within --timeout
  130 interrupted"""


def _connection_flags() -> argparse.ArgumentParser:
    """Flags accepted before and after the command, like kubectl's global flags (SUPPRESS:
    a subcommand's default must not overwrite a value given before it)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--kubeconfig", default=argparse.SUPPRESS, help="kubeconfig file")
    p.add_argument("--context", default=argparse.SUPPRESS, help="kubeconfig context")
    p.add_argument(
        "-n", "--namespace", default=argparse.SUPPRESS, help="namespace (default: the context's)"
    )
    return p


def parser() -> argparse.ArgumentParser:
    common = _connection_flags()
    p = argparse.ArgumentParser(
        prog="kubectl neam",
        description="Inspect and drive neam ForgeRuns (and AgentDAGs, ClawAgents).",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=text, description=text)

    ls = command("list", "runs with phase, iterations, cost and duration, by start time")
    ls.add_argument("kind", nargs="?", help=f"default forgerun; also {KNOWN}")
    ls.add_argument("--agent", help="only those running this agent")
    ls.add_argument(
        "--phase", action="append", default=[], help="only these phases (repeatable, or a,b)"
    )
    ls.add_argument("-l", "--selector", help="label selector, as kubectl get -l")
    ls.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")

    ds = command("describe", "spec, status, progress, conditions, children and events")
    ds.add_argument(
        "resource", metavar="[KIND/]NAME", help="fr/NAME (default), dag/NAME, claw/NAME"
    )

    lg = command("logs", "the logs of the run's pods, oldest first (every retry)")
    lg.add_argument("run", metavar="RUN")
    lg.add_argument("-f", "--follow", action="store_true", help="follow until the run ends")
    lg.add_argument("--timestamps", action="store_true", help="prefix each line with its time")

    wt = command("watch", "a live progress line until the run ends; exit 0 only if Succeeded")
    wt.add_argument("run", metavar="RUN")
    wt.add_argument("--timeout", help="give up after this long (e.g. 90s, 10m): exit 7")

    st = command("stop", "stop a run (spec.stop: true); it ends Stopped")
    st.add_argument("resource", metavar="[KIND/]NAME", help="fr/NAME (default) or dag/NAME")

    rr = command("rerun", "a new run from the same spec: NAME-rerun-N")
    rr.add_argument("resource", metavar="[KIND/]NAME", help="fr/NAME (default) or dag/NAME")
    rr.add_argument("--name", help="the new run's name")

    out = command("outputs", "the run's outcome and the files in its workspace")
    out.add_argument("run", metavar="RUN")
    what = out.add_mutually_exclusive_group()
    what.add_argument("--no-files", action="store_true", help="the outcome only (no pod)")
    what.add_argument(
        "--cat", action="append", default=[], metavar="PATH", help="print this file (repeatable)"
    )
    out.add_argument("--git", action="store_true", help="list .git too")
    out.add_argument("--image", help="image of the workspace pod (default: the run's)")
    out.add_argument(
        "--timeout", default="120s", help="how long the workspace pod may take (default 120s)"
    )
    return p


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    # SIGTERM unwinds like Ctrl-C, so cleanup (the outputs pod) runs.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        api = Api.connect(getattr(args, "kubeconfig", None), getattr(args, "context", None))
        try:
            namespace = getattr(args, "namespace", None) or api.namespace or "default"
            return int(COMMANDS[args.command](Session(api, namespace), args))
        finally:
            api.close()
    except ApiError as e:
        return _fail(e.to_plugin_error())
    except PluginError as e:
        return _fail(e)
    except KeyboardInterrupt:
        return int(Exit.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, without a second error at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(Exit.OK)


def _fail(error: PluginError) -> int:
    print(f"error: {error}", file=sys.stderr)
    return int(error.code)


if __name__ == "__main__":
    sys.exit(main())
