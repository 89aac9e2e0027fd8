"""``Agent``: what an agent is, independent of the runtime that executes it."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentpatterns.nodes.tools import DEFAULT_FAILURE, AgentTool, FunctionTool, HostedTool, Tool

if TYPE_CHECKING:
    from agentpatterns.nodes.guardrails import InputGuardrail, OutputGuardrail
    from agentpatterns.nodes.handoff import Handoff
    from agentpatterns.nodes.settings import ModelSettings

__all__ = ["Agent", "Instructions"]

#: Instructions are text, or a function returning text: of the run's state, or - as the SDK's
#: dynamic instructions - of ``(ctx, agent)``.
Instructions = str | Callable[[Mapping[str, Any]], str] | Callable[[Any, Any], str]


def _takes_two(fn: Callable[..., Any]) -> bool:
    """True for an SDK-style ``(ctx, agent)`` instructions function."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    required = [p for p in params if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(required) >= 2


@dataclass(frozen=True, kw_only=True, eq=False)
class Agent:
    """An agent: a name, instructions, and what it may hand off to or call.

    The keyword arguments are the OpenAI Agents SDK's, so code written against the SDK
    reads the same. Agents compare by identity; ``clone`` makes a changed copy.

    Attributes:
        name: Unique within a pattern; the graph node is named after it.
        instructions: System prompt, or a function returning it: of the run state, or of
            ``(ctx, agent)`` like the SDK's dynamic instructions (``ctx.context`` is the run's
            ``context=``). Functions are asked again before every model call, as in the SDK.
        handoff_description: What the agent handles; routers match requests against it.
        handoffs: Agents (or whole patterns) this one may hand the conversation to, or
            ``handoff(agent, ...)`` objects (:mod:`agentpatterns.nodes.handoff`); kept as the
            targets, their options in ``handoff_options``.
        tools: Function tools and agents used as tools (``other.as_tool(...)``).
        model: A model name (``"openai:gpt-4.1-mini"``, ``"offline"``) or a LangChain chat
            model; ``None`` uses the run's model or the environment's.
        output_type: What the final output is validated into, as in the SDK: ``None`` or
            ``str`` (text), a pydantic model, dataclass, ``TypedDict``, ``list[...]`` or any
            type pydantic validates (non-object types are asked for as ``{"response": ...}``),
            or an SDK ``AgentOutputSchemaBase`` object (see :mod:`agentpatterns.nodes.output`).
        input_guardrails: Checks on the input the agent starts on, before its first model
            call (``@input_guardrail`` objects, SDK guardrails or plain functions; see
            :mod:`agentpatterns.nodes.guardrails` for when they run).
        output_guardrails: Checks on the agent's final output.
        model_settings: Model tuning (:class:`~agentpatterns.nodes.settings.ModelSettings`,
            a dict, or the SDK's ``ModelSettings``): ``tool_choice``, ``temperature``...
        tool_use_behavior: Whether tool results end the turn, as in the SDK
            (:mod:`agentpatterns.nodes.tool_use`): ``"run_llm_again"`` (default),
            ``"stop_on_first_tool"``, ``{"stop_at_tool_names": [...]}`` or a function.
        handoff_options: The ``handoff(...)`` options per target agent name (filled from
            ``handoffs``).
        reset_tool_choice: Drop ``model_settings.tool_choice`` once the agent has used a
            tool in its turn (default, as in the SDK), so a forced tool call cannot loop.
        hooks: An ``AgentHooks`` object (ours or the SDK's): ``on_start``, ``on_end``,
            ``on_llm_start``... called for this agent on both runtimes, as the SDK calls them
            (:mod:`agentpatterns.nodes.hooks`).

    Example:
        >>> booking = Agent(name="Booking Agent",
        ...                 handoff_description="Handles all booking and reservation requests",
        ...                 instructions="Help users book appointments and reservations")
        >>> router = Agent(name="Triage Agent", instructions="Route users",
        ...                handoffs=[booking])
        >>> [a.name for a in router.handoffs]
        ['Booking Agent']
    """

    name: str
    instructions: Instructions | None = None
    handoff_description: str | None = None
    #: Agent | Pattern (the pattern layer is above this one) | handoff(agent, ...)
    handoffs: Sequence[Any] = ()
    tools: Sequence[Tool] = ()
    #: SDK MCP servers (and the SDK's ``mcp_config``): passed through to the SDK runtime;
    #: LangGraph refuses them by name
    mcp_servers: Sequence[Any] = ()
    mcp_config: Mapping[str, Any] = field(default_factory=dict)
    model: Any = None
    output_type: Any = None
    input_guardrails: Sequence[InputGuardrail | Callable[..., Any]] = ()
    output_guardrails: Sequence[OutputGuardrail | Callable[..., Any]] = ()
    model_settings: ModelSettings | None = None
    tool_use_behavior: Any = "run_llm_again"
    reset_tool_choice: bool = True
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: the SDK's ``AgentHooks`` (:mod:`agentpatterns.nodes.hooks`): this agent's events
    hooks: Any = None
    handoff_options: Mapping[str, Handoff] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise TypeError("Agent(name=...) must be a non-empty string")
        # freeze the sequences so a pattern built from this agent cannot change under it
        for attr in ("handoffs", "tools", "input_guardrails", "output_guardrails"):
            value = getattr(self, attr)
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence | tuple | list):
                raise TypeError(f"Agent {self.name!r}: {attr}= must be a list")
            object.__setattr__(self, attr, tuple(value))
        from agentpatterns.nodes.guardrails import to_input_guardrail, to_output_guardrail

        object.__setattr__(self, "input_guardrails", tuple(
            to_input_guardrail(g, agent=self.name) for g in self.input_guardrails))
        object.__setattr__(self, "output_guardrails", tuple(
            to_output_guardrail(g, agent=self.name) for g in self.output_guardrails))
        from agentpatterns.nodes.handoff import Handoff

        # handoff(agent, ...) objects: the agent goes in handoffs, the options aside by name
        options = dict(self.handoff_options)
        targets: list[Any] = []
        for target in self.handoffs:
            if isinstance(target, Handoff):
                options[target.agent.name] = target
                target = target.agent
            if not isinstance(target, Agent) and not getattr(target, "is_pattern", False):
                raise TypeError(
                    f"Agent {self.name!r}: handoffs= holds {target!r}, which is neither an "
                    "Agent, a Pattern nor a handoff(agent, ...)"
                )
            targets.append(target)
        object.__setattr__(self, "handoffs", tuple(targets))
        object.__setattr__(self, "handoff_options", {
            n: h for n, h in options.items() if any(t is h.agent for t in targets)})
        object.__setattr__(self, "mcp_servers", tuple(self.mcp_servers))
        for tool in self.tools:
            if not isinstance(tool, FunctionTool | AgentTool | HostedTool):
                raise TypeError(
                    f"Agent {self.name!r}: tools= holds {tool!r}; wrap functions with "
                    "@function_tool and agents with agent.as_tool(...)"
                )
        from agentpatterns.nodes.output import check_output_type
        from agentpatterns.nodes.settings import to_model_settings
        from agentpatterns.nodes.tool_use import check_tool_use_behavior

        check_output_type(self.name, self.output_type)
        object.__setattr__(self, "model_settings",
                           to_model_settings(self.model_settings, agent=self.name))
        object.__setattr__(self, "tool_use_behavior",
                           check_tool_use_behavior(self.name, self.tool_use_behavior))

    def as_tool(
        self, *, tool_name: str | None = None, tool_description: str | None = None,
        needs_approval: Any = False, is_enabled: Any = True, max_turns: int | None = None,
        failure_error_function: Any = DEFAULT_FAILURE,
        custom_output_extractor: Any = None,
    ) -> AgentTool:
        """This agent as a tool another agent can call (agents-as-tools / hierarchical).

        Args:
            tool_name: Name the calling model sees (default: the agent's name in snake case).
            tool_description: When to use it (default: the handoff description).
            needs_approval: ``True`` or ``(ctx, params, call_id) -> bool``: a person approves
                each call before the agent runs (see ``function_tool``).
            is_enabled: ``False`` or ``(ctx, agent) -> bool``: hide the tool from the model.
            max_turns: Bound on the wrapped agent's model calls per call.
            failure_error_function: When the agent's run fails (``MaxTurnsExceeded``, a
                model error...), as in the SDK: left out, the model gets ``"An error
                occurred while running the tool. Please try again."``; a function
                ``(ctx, error) -> str`` gives the message (it also gets a guardrail's trip
                inside the agent, which otherwise stops the run); ``None`` stops the run.
            custom_output_extractor: ``(run) -> str`` (sync or async): the tool's output
                made from the nested run (an :class:`~agentpatterns.nodes.tools.AgentToolRun`:
                ``final_output``, ``new_items``, ``last_agent``...), as in the SDK.
        """
        from agentpatterns.nodes._text import snake

        return AgentTool(
            agent=self,
            name=tool_name or snake(self.name),
            description=tool_description or self.handoff_description or self.name,
            needs_approval=needs_approval, is_enabled=is_enabled, max_turns=max_turns,
            failure_error_function=failure_error_function,
            custom_output_extractor=custom_output_extractor,
        )

    def clone(self, **changes: Any) -> Agent:
        """A copy with some fields changed (``agent.clone(instructions="...")``)."""
        return dataclasses.replace(self, **changes)

    def render_instructions(self, state: Mapping[str, Any]) -> str:
        """The instructions for this model call: the text, or the function's answer.

        A function of one argument gets the run state; one of two gets ``(ctx, agent)`` as
        the SDK's dynamic instructions do (``ctx.context`` is the run's ``context=``).
        """
        fn: Any = self.instructions
        if callable(fn):
            if _takes_two(fn):
                from agentpatterns.nodes.context import RunContextWrapper, current_context

                return str(fn(RunContextWrapper(context=current_context()), self))
            return str(fn(state))
        return str(fn or "")

    def __repr__(self) -> str:
        return f"Agent(name={self.name!r})"
