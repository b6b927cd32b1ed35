"""Human approval for ``sensitive`` skills.

The runtime calls :meth:`ConfirmationBroker.request` from a worker thread just
before it runs a sensitive skill; the call blocks until an administrator
approves or denies it (``POST /api/v1/confirm``) or the timeout passes (which
counts as a denial). Pending requests are listed by
``GET /api/v1/admin/confirmations``.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PendingConfirmation:
    id: str
    agent: str
    skill: str
    arguments: dict[str, Any]
    session_key: str | None
    created_at: float
    deadline: float
    decision: bool | None = None
    _event: threading.Event = field(default_factory=threading.Event, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agent": self.agent,
            "skill": self.skill,
            "arguments": self.arguments,
            "session_key": self.session_key,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created_at)),
            "expires_in_seconds": max(0, round(self.deadline - time.monotonic(), 1)),
        }


class ConfirmationBroker:
    def __init__(self, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds
        self._lock = threading.Lock()
        self._pending: dict[str, PendingConfirmation] = {}

    def request(
        self,
        agent: str,
        skill: str,
        arguments: dict[str, Any],
        session_key: str | None = None,
    ) -> bool:
        """Blocks until a decision; True only for an explicit approval in time."""
        item = PendingConfirmation(
            id=uuid.uuid4().hex[:16],
            agent=agent,
            skill=skill,
            arguments=dict(arguments),
            session_key=session_key,
            created_at=time.time(),
            deadline=time.monotonic() + self.timeout_seconds,
        )
        with self._lock:
            self._pending[item.id] = item
        try:
            item._event.wait(self.timeout_seconds)
        finally:
            with self._lock:
                self._pending.pop(item.id, None)
        return item.decision is True

    def decide(self, confirmation_id: str, approve: bool) -> PendingConfirmation | None:
        """Records a decision; None when no such request is pending (unknown or expired)."""
        with self._lock:
            item = self._pending.pop(confirmation_id, None)
        if item is None:
            return None
        item.decision = approve
        item._event.set()
        return item

    def deny_all(self, agent: str | None = None) -> int:
        """Denies every pending request (of one agent, or all); returns how many."""
        with self._lock:
            items = [i for i in self._pending.values() if agent is None or i.agent == agent]
            for item in items:
                del self._pending[item.id]
        for item in items:
            item.decision = False
            item._event.set()
        return len(items)

    def pending(self) -> list[PendingConfirmation]:
        with self._lock:
            return sorted(self._pending.values(), key=lambda i: i.created_at)
