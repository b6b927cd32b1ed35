"""Children left by an earlier resource of the same name.

Deleting a resource leaves its children to the garbage collector, which removes them
after the owner is gone. A resource created again under that name right away (as GitOps
tools do on a replace) would find them still there: created-or-got, they would vanish
under it. Until they are gone, the new resource waits.
"""

from __future__ import annotations

import asyncio
from typing import Any

from neam_operator.builders.common import Owner
from neam_operator.kube import Kube

# The garbage collector is usually done within seconds: check again this often.
STALE_RETRY_SECONDS = 2.0


async def stale_children(kube: Kube, owner: Owner, urls: dict[str, str]) -> list[str]:
    """The children (``{description: url}``) that exist but belong to another owner
    or are being deleted."""
    metas = await asyncio.gather(*(kube.metadata(url) for url in urls.values()))
    stale = []
    for what, meta in zip(urls, metas, strict=True):
        if meta is None:
            continue
        uids = {ref.get("uid") for ref in meta.get("ownerReferences") or []}
        if meta.get("deletionTimestamp") or owner.uid not in uids:
            stale.append(what)
    return stale


def left_by_predecessor(obj: dict[str, Any], owner: Owner) -> bool:
    """Whether ``obj`` is a child of an earlier resource of ``owner``'s kind and name
    (or being deleted): the garbage collector will remove it, so ``owner`` waits."""
    meta = obj["metadata"]
    return bool(meta.get("deletionTimestamp")) or any(
        (r.get("kind"), r.get("name")) == (owner.kind, owner.name) and r.get("uid") != owner.uid
        for r in meta.get("ownerReferences") or []
    )
