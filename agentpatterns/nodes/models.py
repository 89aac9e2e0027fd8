"""Model resolution: the run's model, the agent's, the environment's, else offline."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel

from agentpatterns.errors import InputError, RunError

if TYPE_CHECKING:
    from agentpatterns.nodes.compat import ServerProfile

__all__ = ["check_models", "describe_model", "resolve_model", "server_profile"]

_CACHE: dict[tuple[str, ...], BaseChatModel] = {}


def _from_name(name: str, env: Mapping[str, str]) -> BaseChatModel:
    from agentpatterns.nodes.offline import OfflineModel

    spec = name.strip()
    if spec in ("offline", "offline:"):
        return OfflineModel()
    provider, _, model = spec.partition(":")
    if not model:
        provider, model = "openai", spec
    if provider != "openai":
        raise RunError(
            f"model {name!r}: unknown provider {provider!r}; use 'offline', 'openai:<model>' "
            "(any OpenAI-compatible server via OPENAI_BASE_URL) or pass a LangChain chat model"
        )
    base_url = env.get("OPENAI_BASE_URL") or None
    limits = _limits(env)
    key = (provider, model, base_url or "", env.get("OPENAI_COMPAT", ""), *map(str, limits))
    if key not in _CACHE:
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        from agentpatterns.nodes.compat import http_clients, profile_for

        # a local server (Ollama, vLLM, LM Studio) needs no key, but the client wants one
        api_key = env.get("OPENAI_API_KEY") or ("not-needed" if base_url else None)
        if api_key is None:
            raise RunError(
                f"model {name!r} needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local "
                "OpenAI-compatible server); set one, or use model='offline'"
            )
        profile = profile_for(base_url, env)
        sync_client, async_client = http_clients(profile)
        max_tokens, timeout, temperature = limits
        # per call: a reply's length and the wait are bounded (a runaway reply of a small
        # model otherwise fills the server's context); streams ask for usage
        limits_kwargs: dict[str, Any] = {"max_tokens": max_tokens or None, "timeout": timeout,
                                         "temperature": temperature}
        _CACHE[key] = ChatOpenAI(
            model=model, base_url=base_url, api_key=SecretStr(api_key), stream_usage=True,
            max_retries=profile.client_retries,
            http_client=sync_client, http_async_client=async_client, **limits_kwargs)
        _PROFILES[id(_CACHE[key])] = profile
    return _CACHE[key]


#: ``OPENAI_MAX_TOKENS`` default: the most tokens one reply may have (0: no limit)
DEFAULT_MAX_TOKENS = 1024
#: ``OPENAI_TIMEOUT`` default, seconds per model call
DEFAULT_TIMEOUT = 120.0
_PROFILES: dict[int, ServerProfile] = {}


def server_profile(model: Any) -> ServerProfile | None:
    """The server profile an environment-built model was made with (``None`` for others)."""
    return _PROFILES.get(id(model))


def _limits(env: Mapping[str, str]) -> tuple[int, float | None, float | None]:
    """(max tokens per reply, timeout per call, temperature) from the environment."""

    def number(var: str, default: float | None, kind: type) -> Any:
        raw = (env.get(var) or "").strip()
        if not raw:
            return default
        try:
            value = kind(raw)
        except ValueError:
            value = -1
        if value < 0:
            raise InputError(f"{var}={raw!r} is not a {'whole ' if kind is int else ''}number "
                             ">= 0; fix or unset it")
        return value

    return (int(number("OPENAI_MAX_TOKENS", DEFAULT_MAX_TOKENS, int)),
            number("OPENAI_TIMEOUT", DEFAULT_TIMEOUT, float) or None,
            number("OPENAI_TEMPERATURE", None, float))


def resolve_model(
    run_model: Any = None, agent_model: Any = None, env: Mapping[str, str] | None = None
) -> BaseChatModel:
    """The chat model an agent uses in a run.

    Order: the run's ``model=`` (it overrides every agent, like the SDK's
    ``RunConfig.model``), the agent's own ``model``, ``AGENTPATTERNS_MODEL``, then
    ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` (``openai:gpt-4.1-mini`` unless
    ``OPENAI_MODEL`` names another), then the offline model.
    """
    env = os.environ if env is None else env
    for candidate in (run_model, agent_model):
        if candidate is None:
            continue
        if isinstance(candidate, BaseChatModel):
            return candidate
        if isinstance(candidate, str):
            return _from_name(candidate, env)
        raise RunError(
            f"model {candidate!r} is neither a model name nor a LangChain chat model; "
            "pass e.g. 'openai:gpt-4.1-mini', 'offline' or a ChatOpenAI instance"
        )
    if env.get("AGENTPATTERNS_MODEL"):
        return _from_name(env["AGENTPATTERNS_MODEL"], env)
    if env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL"):
        return _from_name("openai:" + env.get("OPENAI_MODEL", "gpt-4.1-mini"), env)
    return _offline()


def check_models(agents: Iterable[Any], run_model: Any = None) -> None:
    """Resolve the model every agent will use now, so that a misconfigured one (a name with
    no key, an unknown provider) fails before a run starts - no thread is left cut off.

    Raises:
        RunError: The model that would fail at the first call, with the fix.
    """
    if run_model is not None:  # it overrides every agent's own
        resolve_model(run_model)
        return
    for agent in agents:
        resolve_model(None, getattr(agent, "model", None))


_OFFLINE: list[BaseChatModel] = []


def _offline() -> BaseChatModel:
    if not _OFFLINE:
        from agentpatterns.nodes.offline import OfflineModel

        _OFFLINE.append(OfflineModel())
    return _OFFLINE[0]


def describe_model(model: BaseChatModel) -> str:
    """A short label: ``offline (rule-based, not an LLM)`` or ``openai:gpt-4.1-mini @ URL``."""
    from agentpatterns.nodes.offline import OfflineModel

    if isinstance(model, OfflineModel):
        extra = f", latency {model.latency:g}s" if model.latency else ""
        return f"offline (deterministic rules, not an LLM{extra})"
    name = (
        getattr(model, "model_name", None) or getattr(model, "model", None) or type(model).__name__
    )
    base = getattr(model, "openai_api_base", None)
    provider = "openai:" if type(model).__name__ == "ChatOpenAI" else ""
    profile = _PROFILES.get(id(model))
    server = f" ({profile.name} server)" if profile and profile.name != "openai" else ""
    return f"{provider}{name}" + (f" @ {base}" if base else "") + server
