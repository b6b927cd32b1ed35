"""kopf's credentials, from the same kubeconfig (or in-cluster account) as the operator's
own client: kopf reads and watches with these, so both act as the same identity."""

from __future__ import annotations

import httpx2
import kopf
from lightkube import ConfigError, SingleConfig
from lightkube.config.client_adapter import user_auth


async def authorization(config: SingleConfig) -> str | None:
    """The ``Authorization`` header lightkube would send now: a token, a token file's
    current content, or a fresh token from the ``exec`` credential plugin (run again on
    every call, so kopf's re-login after a 401 gets a new one)."""
    auth = user_auth(config.user)
    if auth is None:
        return None
    flow = auth.async_auth_flow(httpx2.Request("GET", config.cluster.server))
    request = await flow.__anext__()
    await flow.aclose()
    return request.headers.get("Authorization")


async def connection_info(config: SingleConfig) -> kopf.ConnectionInfo:
    """A kopf ``ConnectionInfo`` equivalent to ``config``."""
    cluster, user = config.cluster, config.user
    scheme, token = None, None
    header = await authorization(config)
    if header:
        scheme, _, token = header.partition(" ")
        if not token:
            raise ConfigError("the kubeconfig user yields an Authorization header without a scheme")

    def file(name: str | None) -> str | None:
        return str(config.abs_file(name)) if name else None

    return kopf.ConnectionInfo(
        server=cluster.server,
        ca_path=file(cluster.certificate_auth),
        ca_data=cluster.certificate_auth_data,
        insecure=cluster.insecure,
        scheme=scheme,
        token=token,
        certificate_path=file(user.client_cert) if user else None,
        certificate_data=user.client_cert_data if user else None,
        private_key_path=file(user.client_key) if user else None,
        private_key_data=user.client_key_data if user else None,
        default_namespace=config.context.namespace,
    )
