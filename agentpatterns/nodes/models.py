"""Model resolution: the run's model, the agent's, the environment's, else offline."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel

from agentpatterns.errors import RunError

__all__ = ["check_models", "describe_model", "resolve_model"]

_CACHE: dict[tuple[str, str, str], BaseChatModel] = {}


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
    key = (provider, model, base_url or "")
    if key not in _CACHE:
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        # a local server (Ollama, vLLM, LM Studio) needs no key, but the client wants one
        api_key = env.get("OPENAI_API_KEY") or ("not-needed" if base_url else None)
        if api_key is None:
            raise RunError(
                f"model {name!r} needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local "
                "OpenAI-compatible server); set one, or use model='offline'"
            )
        _CACHE[key] = ChatOpenAI(model=model, base_url=base_url, api_key=SecretStr(api_key))
    return _CACHE[key]


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
    return f"{provider}{name}" + (f" @ {base}" if base else "")
