"""LLM providers: OpenAI, Anthropic, Ollama, OpenAI-compatible servers and an offline
scripted provider, behind one interface (see ``docs/providers.md``)::

    provider = get_provider(agent_config)
    resp = provider.chat(messages, tools)
    resp.text, resp.tool_calls, resp.usage, resp.cost
"""

from .base import Provider
from .errors import (
    MissingAPIKeyError,
    ProviderAuthError,
    ProviderConfigError,
    ProviderError,
    ProviderNotFoundError,
    ProviderResponseError,
    ProviderUnavailableError,
)
from .factory import KINDS, get_provider
from .http import configure_pool, shared_client
from .scripted import reset_scripts
from .types import ChatResponse, ToolCall, ToolSpec, Usage

__all__ = [
    "KINDS",
    "ChatResponse",
    "MissingAPIKeyError",
    "Provider",
    "ProviderAuthError",
    "ProviderConfigError",
    "ProviderError",
    "ProviderNotFoundError",
    "ProviderResponseError",
    "ProviderUnavailableError",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "configure_pool",
    "get_provider",
    "reset_scripts",
    "shared_client",
]
