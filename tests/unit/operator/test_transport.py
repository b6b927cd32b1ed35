"""lightkube's requests over aiohttp (neam_operator.transport), against a stand-in API
server on 127.0.0.1: what goes out, what comes back, and failures as httpx2's."""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from aiohttp import web
from lightkube import AsyncClient, KubeConfig
from lightkube.config.models import Cluster, User
from neam_operator.kube import METADATA_ONLY, Kube, resource
from neam_operator.transport import AiohttpTransport

from tests.support.kubeconfigs import token_kubeconfig
from tests.support.operator_harness import free_port

RUN = "/apis/neam.dev/v1alpha1/namespaces/ns/forgeruns/r"


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """Answers GETs of the run gzip-encoded, echoes PATCHes, and stalls on ``slow``."""
    seen: list[dict[str, Any]] = []

    async def run(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append(
            {
                "method": request.method,
                "authorization": request.headers.get("Authorization"),
                "accept": request.headers.get("Accept"),
                "content_type": request.headers.get("Content-Type"),
                "body": json.loads(body) if body else None,
            }
        )
        if request.method == "PATCH":
            return web.json_response(json.loads(body))
        data = gzip.compress(json.dumps({"kind": "ForgeRun", "spec": {"x": 1}}).encode())
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return web.Response(body=data, headers=headers)

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", RUN, run)
    app.router.add_route("*", RUN + "/status", run)
    app.router.add_get("/api/v1/namespaces/ns/configmaps/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


@pytest.fixture
async def kube(server: tuple[str, list[dict[str, Any]]], tmp_path: Path) -> AsyncIterator[Kube]:
    """The operator's client as it connects with a kubeconfig holding a token."""
    url, _ = server
    client = await Kube.connect(str(token_kubeconfig(tmp_path / "config", url, "s3cret")))
    yield client
    await client.close()


async def test_requests_carry_credentials_and_bodies_and_answers_are_decoded(
    server: tuple[str, list[dict[str, Any]]], kube: Kube
) -> None:
    _, seen = server
    assert await kube.get(RUN) == {"kind": "ForgeRun", "spec": {"x": 1}}
    assert await kube.merge_patch(RUN + "/status", {"status": {"phase": "Running"}}) == {
        "status": {"phase": "Running"}
    }
    get, patch = seen
    assert get["authorization"] == patch["authorization"] == "Bearer s3cret"
    assert patch["content_type"] == "application/merge-patch+json"
    assert patch["body"] == {"status": {"phase": "Running"}}


async def test_metadata_is_asked_for_as_partial_object_metadata(
    server: tuple[str, list[dict[str, Any]]], kube: Kube
) -> None:
    _, seen = server
    assert await kube.metadata(RUN) == {}  # the stand-in answers with no metadata
    assert [r["accept"] for r in seen] == [METADATA_ONLY]


async def test_a_read_timeout_is_httpx2s(server: tuple[str, list[dict[str, Any]]]) -> None:
    url, _ = server
    transport = AiohttpTransport(ssl.create_default_context(), limit=2)
    config = KubeConfig.from_one(cluster=Cluster(server=url), user=User(token="t"))
    client = AsyncClient(config, timeout=httpx2.Timeout(0.2), transport=transport)
    try:
        with pytest.raises(httpx2.ReadTimeout):
            await client.get(resource("v1", "ConfigMap"), "slow", namespace="ns")
    finally:
        await client.close()
