"""Whether the program's LLM providers can be used: the ``llm_providers`` of ``/ready``.

Checked once when the program loads (the environment does not change while the
process runs) and without network traffic, so probes never spend tokens: a
provider is usable when its configuration resolves, including its API key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from neam.providers import MissingAPIKeyError, ProviderError, get_provider


def check_providers(program: Any, env: Mapping[str, str]) -> dict[str, str]:
    """Maps each provider kind the program uses to ``"healthy"`` or the reason it is not."""
    result: dict[str, str] = {}
    declared = [
        *program.claw_agents.values(),
        *program.forge_agents.values(),
        *program.agents.values(),
    ]
    for decl in declared:
        config = {**decl.config, "name": decl.name}
        kind = str(config.get("provider") or "unknown")
        try:
            get_provider(config, env=env)
        except MissingAPIKeyError as exc:
            result[kind] = f"missing API key: set {exc.env_var}"
        except ProviderError as exc:
            result[kind] = f"misconfigured: {exc}"
        else:
            result.setdefault(kind, "healthy")
    return result
