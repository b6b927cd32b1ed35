"""``get_provider``: from an agent's config and the environment to a ready provider."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .anthropic import AnthropicProvider
from .base import Provider, ProviderSettings
from .credentials import APIKey, resolve_api_key
from .errors import ProviderConfigError
from .http import RequestPolicy
from .ollama import OllamaProvider, normalise_host
from .openai import OpenAIProvider
from .pricing import PriceTable
from .scripted import ScriptedProvider

OPENAI_URL = "https://api.openai.com/v1"
ANTHROPIC_URL = "https://api.anthropic.com"
OLLAMA_URL = "http://127.0.0.1:11434"

# OpenAI-compatible servers: (key env, base URL env, default base URL, self-hosted)
COMPATIBLE: dict[str, tuple[str, str, str | None, bool]] = {
    "openai-compatible": ("OPENAI_COMPATIBLE_API_KEY", "OPENAI_COMPATIBLE_BASE_URL", None, False),
    "vllm": ("VLLM_API_KEY", "VLLM_BASE_URL", "http://127.0.0.1:8000/v1", True),
    "litellm": ("LITELLM_API_KEY", "LITELLM_BASE_URL", "http://127.0.0.1:4000/v1", False),
    "localai": ("LOCALAI_API_KEY", "LOCALAI_BASE_URL", "http://127.0.0.1:8080/v1", True),
}
ALIASES = {"compatible": "openai-compatible", "claude": "anthropic"}
KINDS = ("openai", "anthropic", "ollama", "scripted", *COMPATIBLE)


def _kind(config: Mapping[str, Any]) -> str:
    raw = str(config.get("provider") or "").strip().lower().replace("_", "-")
    kind = ALIASES.get(raw, raw)
    if kind not in KINDS:
        raise ProviderConfigError(
            f"unknown provider {config.get('provider')!r}; known: {', '.join(KINDS)}"
        )
    return kind


def _key(
    config: Mapping[str, Any], env: Mapping[str, str], kind: str, default_var: str, required: bool
) -> APIKey | None:
    """The agent's own ``api_key_env`` (then required) or the provider's default variable."""
    if "api_key" in config:
        raise ProviderConfigError(
            f"{kind}: keys are not accepted in agent config; put the key in an environment "
            "variable and name it with api_key_env"
        )
    named = str(config.get("api_key_env") or "").strip()
    if named:
        return resolve_api_key(env, named, provider=kind, required=True)
    return resolve_api_key(env, default_var, provider=kind, required=required)


def _openai_env_url(env: Mapping[str, str]) -> str:
    """``OPENAI_BASE_URL``, or the older ``OPENAI_API_BASE``."""
    return (env.get("OPENAI_BASE_URL") or env.get("OPENAI_API_BASE") or "").strip()


def with_api_prefix(url: str) -> str:
    """A bare ``http://host:port`` means the server's ``/v1`` API, as every
    OpenAI-compatible server serves it there; a URL with a path is kept."""
    return f"{url.rstrip('/')}/v1" if urlsplit(url).path in ("", "/") else url


def _endpoint(
    config: Mapping[str, Any], env: Mapping[str, str], kind: str
) -> tuple[str, APIKey | None, bool]:
    """Base URL, API key and whether unknown models run locally (free)."""
    configured = str(config.get("base_url") or config.get("endpoint") or "").strip()
    if kind == "openai":
        if configured:  # an agent pointing at its own server: a compatible endpoint
            key = _key(config, env, kind, "OPENAI_API_KEY", False)
            return with_api_prefix(configured), key, False
        url = with_api_prefix(_openai_env_url(env) or OPENAI_URL)
        # Only OpenAI's own service insists on a key; a self-hosted server named by
        # OPENAI_BASE_URL (vLLM, LiteLLM, a local stub) may run without one.
        required = urlsplit(url).hostname == urlsplit(OPENAI_URL).hostname
        return url, _key(config, env, kind, "OPENAI_API_KEY", required), False
    if kind == "anthropic":
        url = configured or (env.get("ANTHROPIC_BASE_URL") or "").strip() or ANTHROPIC_URL
        return url, _key(config, env, kind, "ANTHROPIC_API_KEY", True), False
    if kind == "ollama":
        host = configured or (env.get("OLLAMA_HOST") or "").strip() or OLLAMA_URL
        return normalise_host(host), _key(config, env, kind, "OLLAMA_API_KEY", False), True
    key_var, url_var, default_url, local = COMPATIBLE[kind]
    url = configured or (env.get(url_var) or "").strip() or _openai_env_url(env) or default_url
    if not url:
        raise ProviderConfigError(
            f"{kind}: set base_url in the agent or {url_var} / OPENAI_BASE_URL"
        )
    key = _key(config, env, kind, key_var, False)
    if key is None and not config.get("api_key_env"):
        key = resolve_api_key(env, "OPENAI_API_KEY", provider=kind, required=False)
    return with_api_prefix(url), key, local


def _optional_number(config: Mapping[str, Any], field: str, kind: type) -> Any:
    value = config.get(field)
    if value is None:
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ProviderConfigError(f"{field} must be a number, got {value!r}") from None


def get_provider(config: Mapping[str, Any], *, env: Mapping[str, str] = os.environ) -> Provider:
    """A provider for one agent's config (``provider``, ``model``, ``api_key_env``,
    ``base_url`` (or ``endpoint``), ``temperature``, ``top_p``, ``max_tokens``,
    ``context_window``, ``timeout_seconds``,
    ``max_retries``, ``scripted_file``, ``name``)."""
    kind = _kind(config)
    model = str(config.get("model") or ("scripted" if kind == "scripted" else "")).strip()
    if not model:
        raise ProviderConfigError(f"{kind}: the agent has no model")
    if kind == "scripted":
        script = str(config.get("scripted_file") or env.get("NEAM_SCRIPTED_FILE") or "").strip()
        if not script:
            raise ProviderConfigError(
                "scripted: set scripted_file in the agent or NEAM_SCRIPTED_FILE"
            )
        url, key, local = f"file:{script}", None, False
    else:
        url, key, local = _endpoint(config, env, kind)
    info = PriceTable.load(env).lookup(model, local=local)
    window = _optional_number(config, "context_window", int)
    settings = ProviderSettings(
        kind=kind,
        model=model,
        agent=str(config.get("name") or "default"),
        base_url=url,
        api_key=key,
        temperature=_optional_number(config, "temperature", float),
        top_p=_optional_number(config, "top_p", float),
        max_tokens=_optional_number(config, "max_tokens", int),
        model_info=info,
        context_window=window or info.context_window,
        policy=RequestPolicy.from_sources(config, env),
    )
    if kind == "scripted":
        return ScriptedProvider(settings, script)
    if kind == "anthropic":
        return AnthropicProvider(settings)
    if kind == "ollama":
        return OllamaProvider(settings)
    return OpenAIProvider(settings)
