"""An ``exec`` credential plugin run once for all the requests that need a token.

lightkube's ``ExecAuth`` runs the plugin for every request that has no token yet, or
whose token was just refused (401). The operator sends up to ``MAX_CONNECTIONS``
requests at once, so at startup and whenever the token expires it would start that many
plugins (``aws eks get-token`` and the like take about a second of CPU each). Here the
requests wait for one run and share its token.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator

import httpx2
from lightkube.config.client_adapter import ExecAuth, async_check_output
from lightkube.config.models import UserExec


class SharedExecAuth(ExecAuth):
    """lightkube's exec plugin auth (the same plugin protocol and errors), with one plugin
    run at a time; a request that waited for a run uses the token it got."""

    def __init__(self, exec_: UserExec) -> None:
        super().__init__(exec_)
        self._running = asyncio.Lock()

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        sent = self._last_bearer
        if sent:
            request.headers["Authorization"] = sent
            response = yield request
            if response.status_code != 401:
                return
        async with self._running:
            if self._last_bearer == sent:  # no other request got a new token meanwhile
                command, env = self._prepare()
                output = await async_check_output(command, env=env)
                self._last_bearer = f"Bearer {json.loads(output)['status']['token']}"
        request.headers["Authorization"] = self._last_bearer
        yield request
