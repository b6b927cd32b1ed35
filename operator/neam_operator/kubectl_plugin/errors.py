"""Exit codes of ``kubectl-neam`` and the error that carries one."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    ERROR = 1  # a request failed, or outputs could not read the workspace
    USAGE = 2  # bad arguments, or a kind the command does not work on
    NOT_FOUND = 3  # no such resource (or it was deleted while being watched)
    NO_ACCESS = 4  # no usable kubeconfig, server unreachable, unauthorized or forbidden
    RUN_FAILED = 5  # watch: the run ended Failed
    RUN_STOPPED = 6  # watch: the run ended Stopped
    TIMEOUT = 7  # watch --timeout, or the outputs pod did not finish in time
    INTERRUPTED = 130  # Ctrl-C or SIGTERM


class PluginError(Exception):
    """A failure reported as one line on stderr, ending the command with ``code``."""

    def __init__(self, message: str, code: Exit = Exit.ERROR) -> None:
        super().__init__(message)
        self.code = code
