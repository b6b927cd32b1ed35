"""Whether the program's LLM providers can be used: the ``llm_providers`` of ``/ready``.

Checked once when the program loads (the environment does not change while the
process runs) and without network traffic, so probes never spend tokens: a
provider is usable when the runtime can build it: configuration, key and
scripted file all resolve.
"""

from __future__ import annotations

from typing import Any

from neam.providers import MissingAPIKeyError, ProviderError


def check_providers(runtime: Any) -> dict[str, str]:
    """Maps each provider kind the program uses to ``"healthy"`` or the reason it is not."""
    result: dict[str, str] = {}
    program = runtime.program
    declared = [
        *program.claw_agents.values(),
        *program.forge_agents.values(),
        *program.agents.values(),
    ]
    for decl in declared:
        kind = str(decl.config.get("provider") or "unknown")
        try:
            runtime.provider(decl)
        except MissingAPIKeyError as exc:
            result[kind] = f"missing API key: set {exc.env_var}"
        except ProviderError as exc:
            result[kind] = f"misconfigured: {exc}"
        else:
            result.setdefault(kind, "healthy")
    return result
