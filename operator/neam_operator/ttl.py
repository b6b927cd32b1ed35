"""``ttlSecondsAfterFinished``: delete a finished resource (its children go with it)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from neam_operator.kube import Kube
from neam_operator.scheduler import Key, Scheduler

log = logging.getLogger("neam_operator.ttl")


def parse_time(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


async def expire(
    kube: Kube,
    scheduler: Scheduler,
    key: Key,
    url: str,
    ttl: int | None,
    completion_time: str | None,
) -> None:
    """Delete the resource at ``url`` ``ttl`` seconds after ``completion_time``, now if
    that has passed, or schedule a reconcile of ``key`` for then."""
    if ttl is None or not completion_time:
        return
    left = parse_time(completion_time).timestamp() + ttl - datetime.now(UTC).timestamp()
    if left > 0:
        scheduler.at(key, left)
        return
    log.info("deleting %s/%s: ttlSecondsAfterFinished expired", *key)
    await kube.delete(url)
