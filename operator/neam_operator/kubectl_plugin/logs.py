"""``kubectl neam logs [-f]``: the logs of a run's pods across retries, oldest pod first.

With ``-f`` the live pod's log is followed; when that pod ends and the Job starts a
replacement, the replacement is followed next, until the run ends."""

from __future__ import annotations

import argparse
import time
from typing import Any

from neam_operator.builders.forgerun import CONTAINER
from neam_operator.conditions import TERMINAL
from neam_operator.kubectl_plugin import pods
from neam_operator.kubectl_plugin.client import ApiError
from neam_operator.kubectl_plugin.errors import Exit, PluginError
from neam_operator.kubectl_plugin.resources import FORGERUN, POD, parse_ref
from neam_operator.kubectl_plugin.session import Session

POLL = 1.0


class LogCursor:
    """Where a followed log is, so a resumed stream (``sinceTime``) repeats no line.

    Lines carry the kubelet's RFC 3339 timestamp prefix (``timestamps=true``); a resumed
    stream starts at or before the last timestamp seen (the API may round it down to the
    second), so older lines and lines already printed at that timestamp are dropped."""

    def __init__(self) -> None:
        self.since: str | None = None
        self._key: tuple[str, int] | None = None
        self._at_key: set[str] = set()

    @staticmethod
    def _order(stamp: str) -> tuple[str, int]:
        """A sortable key: the whole seconds, then the fraction in nanoseconds."""
        whole, _, fraction = stamp.rstrip("Z").partition(".")
        return whole, int(fraction[:9].ljust(9, "0")) if fraction.isdigit() else 0

    def accept(self, raw: str) -> tuple[str, str] | None:
        """``(timestamp, text)`` of a new line; None for a line printed before."""
        stamp, _, text = raw.partition(" ")
        key = self._order(stamp)
        if self._key is not None and (
            key < self._key or (key == self._key and raw in self._at_key)
        ):
            return None
        if key != self._key:
            self._key, self._at_key = key, set()
        self._at_key.add(raw)
        self.since = stamp
        return stamp, text


class Logs:
    def __init__(self, session: Session, run: str, timestamps: bool) -> None:
        self.session = session
        self.api = session.api
        self.namespace = session.namespace
        self.run_name = run
        self.timestamps = timestamps

    # ---------------------------------------------------------------- shared

    def _run(self) -> dict[str, Any]:
        body = self.api.get(FORGERUN.url(self.namespace, self.run_name))
        if body is None:
            raise PluginError(f"{FORGERUN.ref(self.run_name)} was deleted", Exit.NOT_FOUND)
        return body

    def _pod_url(self, pod: pods.Pod, log: bool = False) -> str:
        url = POD.url(self.namespace, pod["metadata"]["name"])
        return f"{url}/log" if log else url

    def _header(self, pod: pods.Pod, attempt: int) -> None:
        name = pod["metadata"]["name"]
        self.session.say(f"==> pod/{name}, attempt {attempt}: {pods.state(pod)} <==")

    def _line(self, stamp: str, text: str) -> None:
        self.session.say(f"{stamp} {text}" if self.timestamps else text)

    # ---------------------------------------------------------------- all at once

    def show(self, job: str) -> None:
        for attempt, pod in enumerate(pods.of_job(self.api, self.namespace, job), 1):
            self._header(pod, attempt)
            if not pods.started(pod, CONTAINER):
                self.session.say(f"(no log: the pod has not started: {pods.why_waiting(pod)})")
                continue
            try:
                text = self.api.text(
                    self._pod_url(pod, log=True),
                    container=CONTAINER,
                    timestamps=str(self.timestamps).lower(),
                )
            except ApiError as e:
                self.session.say(f"(no log: {e.message})")
                continue
            if text:
                self.session.out.write(text if text.endswith("\n") else text + "\n")
                self.session.out.flush()

    # ---------------------------------------------------------------- following

    def follow(self) -> None:
        done: set[str] = set()  # uids of the pods whose log has been shown to the end
        while True:
            run = self._run()
            job = ((run.get("status") or {}).get("children") or {}).get("job")
            found = pods.of_job(self.api, self.namespace, job) if job else []
            todo = [p for p in found if p["metadata"]["uid"] not in done]
            if not todo:
                if (run.get("status") or {}).get("phase") in TERMINAL:
                    return
                time.sleep(POLL)
                continue
            pod = todo[0]
            self._header(pod, found.index(pod) + 1)
            ready = self._wait_started(pod)
            if ready is not None:
                self._stream(ready)
            done.add(pod["metadata"]["uid"])

    def _wait_started(self, pod: pods.Pod) -> pods.Pod | None:
        """The pod once its container started (or it ended); None, with a note, when it
        never will: deleted, replaced by a newer pod, or the run ended."""
        created = pod["metadata"].get("creationTimestamp", "")
        while True:
            fresh = self.api.get(self._pod_url(pod))
            if fresh is None:
                self.session.say("(no log: the pod was deleted before it started)")
                return None
            if pods.started(fresh, CONTAINER) or pods.phase(fresh) in pods.TERMINAL:
                return fresh
            job = fresh["metadata"].get("labels", {}).get("job-name", "")
            newer = [
                p
                for p in pods.of_job(self.api, self.namespace, job)
                if p["metadata"].get("creationTimestamp", "") > created
            ]
            ended = (self._run().get("status") or {}).get("phase") in TERMINAL
            if newer or ended or pods.gone(fresh):
                self.session.say(f"(no log: the pod never started: {pods.why_waiting(fresh)})")
                return None
            time.sleep(POLL)

    def _stream(self, pod: pods.Pod) -> None:
        """Follow the pod's log until the pod ends; a cut stream is resumed."""
        cursor = LogCursor()
        while True:
            params: dict[str, Any] = {
                "container": CONTAINER,
                "follow": "true",
                "timestamps": "true",
            }
            if cursor.since:
                params["sinceTime"] = cursor.since
            try:
                for raw in self.api.lines(self._pod_url(pod, log=True), **params):
                    line = cursor.accept(raw)
                    if line is not None:
                        self._line(*line)
            except ApiError as e:
                self.session.say(f"(no log: {e.message})")
                return
            fresh = self.api.get(self._pod_url(pod))
            if fresh is None or pods.gone(fresh) or pods.phase(fresh) in pods.TERMINAL:
                return
            time.sleep(POLL)


def run(session: Session, args: argparse.Namespace) -> Exit:
    _, name = parse_ref(args.run)
    body = session.fetch(FORGERUN, name)
    logs = Logs(session, name, args.timestamps)
    if args.follow:
        logs.follow()
        return Exit.OK
    status = body.get("status") or {}
    job = (status.get("children") or {}).get("job")
    if not job:
        phase = status.get("phase") or "Pending"
        detail = f": {status['message']}" if status.get("message") else ""
        session.note(f"{FORGERUN.ref(name)} has no pods ({phase}{detail})")
        return Exit.OK
    logs.show(job)
    return Exit.OK
