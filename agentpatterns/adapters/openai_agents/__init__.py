"""The OpenAI Agents SDK runtime: the same agents and patterns, executed by ``agents.Runner``.

An adapter: may import run, graphs, nodes, storage, state, events and errors; never render.

Both directions:

* :func:`to_sdk_agent` - our ``Agent`` network (or a handoff pattern) as real
  ``agents.Agent`` objects: instructions as written (callable instructions as SDK dynamic
  instructions), handoffs as SDK
  ``handoff()`` s offered exactly as on LangGraph (``transfer_to_<name>``, the target's
  ``handoff_description``), agents-as-tools as ``Agent.as_tool``, function tools as SDK
  ``FunctionTool`` s with the same name, description and JSON schema, ``output_type`` kept.
* :func:`from_sdk_agent` - an ``agents.Agent`` network as a ``Pattern`` (handoffs,
  agents-as-tools and function tools become an explicit graph).

and a runner, :func:`run_sdk` / :func:`run_sdk_sync` / :func:`resume_sdk`, returning the same
:class:`~agentpatterns.run.result.RunResult` as the LangGraph ``Runner`` with
``runtime="openai-agents"``. Handoff networks and agents-as-tools are one ``Runner.run`` on
SDK primitives; reflection, parallel, supervisor, dynamic and human approval are small
plain-async drivers around ``Runner.run`` in the seed's spirit; memory uses an SDK
``Session`` stored in the LangGraph checkpointer (:class:`CheckpointSession`), so a
conversation can move between the runtimes.

Models: a LangChain chat model (the offline model by default) runs through
:class:`LangChainModel`; langchain-openai's ``ChatOpenAI`` becomes the SDK's own
``OpenAIChatCompletionsModel`` (or ``OpenAIResponsesModel`` with ``use_responses_api``) on
an ``AsyncOpenAI`` client with the same base URL and key; an ``agents.Model`` is used as is.
SDK tracing is disabled for every run (nothing leaves the machine but model calls).

This is the only public module that imports ``agents``; ``import agentpatterns`` does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import agents

from agentpatterns._sync import block_on
from agentpatterns.adapters.openai_agents.bridge import LangChainModel
from agentpatterns.adapters.openai_agents.build import agent_from_sdk, build_network, sdk_model
from agentpatterns.adapters.openai_agents.drivers import MISSING, NETWORK_KINDS
from agentpatterns.adapters.openai_agents.durable import drive_run, durable_spec
from agentpatterns.adapters.openai_agents.events import printing, run_sdk_streamed
from agentpatterns.adapters.openai_agents.prepare import (
    DEFAULT_MAX_TURNS,
    _guarded,
    _prepare,
    refuse_nested,
    run_state,
)
from agentpatterns.adapters.openai_agents.resuming import resume
from agentpatterns.adapters.openai_agents.run import Run, RunLog
from agentpatterns.adapters.openai_agents.session import CheckpointSession
from agentpatterns.errors import InputError, UnsupportedError
from agentpatterns.graphs.handoffs import as_pattern
from agentpatterns.graphs.pattern import Pattern
from agentpatterns.nodes.agent import Agent
from agentpatterns.run.result import RunResult

__all__ = [
    "CheckpointSession",
    "LangChainModel",
    "from_sdk_agent",
    "resume_sdk",
    "resume_sdk_sync",
    "run_sdk",
    "run_sdk_streamed",
    "run_sdk_sync",
    "sdk_model",
    "to_sdk_agent",
    "to_sdk_agents",
]



# ------------------------------------------------------------------ conversion


def to_sdk_agents(target: Pattern | Agent, *, model: Any = None) -> dict[str, agents.Agent[Any]]:
    """Fresh SDK agents for every agent of a pattern (or agent network), by name.

    Args:
        target: A ``Pattern`` or an ``Agent`` (its handoffs and agents-as-tools followed).
        model: Model for every agent (a name, a LangChain chat model or an ``agents.Model``);
            by default each agent's own, else the environment's, else the offline model.

    Raises:
        InputError: ``target`` is neither a ``Pattern`` nor an ``Agent``.
        UnsupportedError: An agent hands off to, or uses as a tool, a nested pattern (no
            SDK agent), naming it.
    """
    roots = target.all_agents() if isinstance(target, Pattern) else [target]
    if not all(isinstance(a, Agent) for a in roots):
        raise InputError(f"expected a Pattern or an Agent, got {type(target).__name__}")
    for agent in roots:
        door = next((t for t in agent.handoffs if isinstance(t, Pattern)), None)
        if door is not None:
            raise UnsupportedError(
                f"agent {agent.name!r} hands off to pattern {door.name!r}, which is no SDK "
                "agent; run the composition with run_sdk(...), which runs the pattern when "
                "the handoff happens")
    return build_network(roots, run_model=model).by_name


def to_sdk_agent(target: Pattern | Agent, *, model: Any = None) -> agents.Agent[Any]:
    """Our agent network as a real ``agents.Agent`` (the entry agent, others reachable).

    Args:
        target: An ``Agent``, or a handoff-network pattern (``from_agent``, ``triage``,
            ``sequential`` chained by handoffs, ``hierarchical``, ``memory``).
        model: As for :func:`to_sdk_agents`.

    Raises:
        UnsupportedError: A pattern whose topology is not a single SDK agent network
            (reflection, parallel, supervisor, dynamic, human approval, or a ``sequence``
            edge without a handoff) - use :func:`run_sdk` for those; a composition (a
            nested pattern, named in the message).

    Example:
        >>> from agentpatterns import Agent
        >>> booking = Agent(name="Booking Agent", instructions="Help users book",
        ...                 handoff_description="Handles bookings")
        >>> router = Agent(name="Triage Agent", instructions="Route users", handoffs=[booking])
        >>> sdk = to_sdk_agent(router)
        >>> sdk.instructions, [h.tool_name for h in sdk.handoffs]
        ('Route users', ['transfer_to_booking_agent'])
    """
    if isinstance(target, Pattern):
        refuse_nested(target)
        if target.kind not in NETWORK_KINDS:
            raise UnsupportedError(
                f"pattern {target.name!r} ({target.kind}) is not a single SDK agent network: "
                "its loop/fan-out is driven by run_sdk(); use to_sdk_agents(pattern) for its "
                "agents")
        steps = [e for e in target.edges if e.kind == "sequence"]
        if steps:
            e = steps[0]
            raise UnsupportedError(
                f"pattern {target.name!r}: the sequence edge {e.source!r} -> {e.target!r} has "
                "no SDK handoff; give the agent handoffs=[next] or run it with run_sdk()")
        return to_sdk_agents(target, model=model)[target.entry]
    return to_sdk_agents(target, model=model)[target.name]


def from_sdk_agent(sdk_agent: agents.Agent[Any], *, name: str = "") -> Pattern:
    """An OpenAI Agents SDK agent network as an explicit ``Pattern`` (via ``from_agent``).

    Handoffs (agents or ``handoff()`` objects), agents-as-tools (``Agent.as_tool`` keeps its
    agent) and function tools become agents, ``handoff`` edges and ``tool`` edges. SDK model
    names become ``"openai:<name>"``; ``LangChainModel`` gives its chat model back; the SDK's
    OpenAI models become ``ChatOpenAI`` on the same URL and key; SDK input/output
    guardrails are kept (``Agent`` takes SDK guardrail objects). Function tools keep the
    SDK's own invoker (argument validation, defaults, errors, tool guardrails) and
    ``needs_approval`` / ``is_enabled``; agent tools keep ``needs_approval``, ``is_enabled``,
    ``max_turns`` and structured ``parameters``. Hosted tools and MCP servers pass through to
    the SDK runtime untouched; the LangGraph runtime refuses them by name when the pattern is
    compiled. Agents made by
    :func:`to_sdk_agent` convert back to the very same ``Agent`` objects.

    Raises:
        UnsupportedError: Prompt templates, ``as_tool`` options it cannot honour
            (``hooks``, ``input_builder``, ``session``, a ``run_config`` field other than
            tracing, ...), tool fields the SDK's runner applies (``timeout_seconds``...), and the
            constructs listed in the construct table as refused - naming the agent and the
            construct.

    Example:
        >>> import agents
        >>> billing = agents.Agent(name="Billing", instructions="Answer billing questions")
        >>> front = agents.Agent(name="Front Desk", instructions="Route", handoffs=[billing])
        >>> p = from_sdk_agent(front)
        >>> [(e.source, e.target, e.kind) for e in p.edges if e.kind == "handoff"]
        [('Front Desk', 'Billing', 'handoff')]
    """
    from agentpatterns.graphs.handoffs import from_agent

    if not isinstance(sdk_agent, agents.Agent):
        raise InputError(f"from_sdk_agent expects an agents.Agent, got {type(sdk_agent).__name__}")
    return from_agent(agent_from_sdk(sdk_agent), name=name)


# ------------------------------------------------------------------ running


async def run_sdk(target: Pattern | Agent, input: str | list[Any], *, model: Any = None,
                  thread_id: str | None = None, session: Any = None, checkpointer: Any = None,
                  store: Any = None, max_turns: int = DEFAULT_MAX_TURNS,
                  context: Any = None,
                  configurable: Mapping[str, Any] | None = None,
                  max_model_calls: int | None = None,
                  max_tokens: int | None = None, hooks: Any = None,
                  progress: bool | None = None) -> RunResult:
    """Run a pattern (or agent) with ``agents.Runner``; the same ``RunResult`` as LangGraph.

    A misbehaving model is handled as on LangGraph (see
    :mod:`agentpatterns.adapters.openai_agents.guard`): a failing model call is retried once, an
    unknown tool or handoff name is corrected once, and either then goes to the pattern's
    ``fallback`` agent (an unknown name at once) or fails; each incident is in ``events``.

    Fresh SDK agents are made for every run (cheap copies of cached templates), so any
    number of concurrent runs never share an ``agents.Agent``.

    Args:
        target: The pattern or agent.
        input: The user's request, or a list of SDK input items (``result.to_input_list()``
            plus a new user message), as ``agents.Runner.run`` takes them. Handoff networks
            run on the items; the other patterns work from the last user message.
        model: Model for every agent: a name, a LangChain chat model or an ``agents.Model``.
        thread_id: The thread. For handoff networks and memory it is also the conversation:
            the run reads and extends the thread's messages in ``checkpointer`` (a
            :class:`CheckpointSession`), as a LangGraph run on that thread would. A run that
            stops for approval is saved under it in ``store``.
        session: ``agentpatterns.SQLiteSession`` (the same conversation the LangGraph
            ``Runner`` uses) or any OpenAI Agents SDK ``Session``.
        checkpointer: Where thread conversations live (``memory`` default, a URL, a saver).
        store: Where interrupted runs (and memory facts) are kept; defaults to the
            checkpointer URL, else the process-wide in-memory store. A database store
            (``sqlite:///...``, ``postgresql://...``) makes the run crash-durable: it holds
            the thread's lock, is listed ``cut off`` if its process dies, journals every
            completed model and tool call, and :func:`resume_sdk` finishes it (see
            docs/durability.md).
        max_turns: The SDK's bound on model calls per ``Runner.run``.
        context: Any object: the SDK run context itself (``RunContextWrapper.context`` of
            tools, dynamic instructions, guardrails and hooks), as with ``agents.Runner``.
            Not saved with an interrupted run (the SDK does not restore a custom context
            either): pass it again to :func:`resume_sdk`.
        configurable: ``{"user_id": ...}`` for the memory pattern's long-term facts.
        max_model_calls: Most model calls the run may make (all agents, resumes included).
        max_tokens: Most tokens the run may use (checked before each model call).
        hooks: ``RunHooks`` (the SDK's or :class:`agentpatterns.RunHooks`): the run's
            lifecycle events, as ``agents.Runner.run(hooks=)`` reports them (not those of
            the nested runs of agents used as tools; see :mod:`agentpatterns.nodes.hooks`).
        progress: Show each agent turn, handoff and tool call as it happens, as
            ``Runner.run(progress=)`` does (every ``Runner.run`` streams then). ``None``
            (default) shows it in a Jupyter notebook only, ``False`` never, ``True``
            everywhere.

    Raises:
        InputError: An empty request, conflicting options, a bad budget or ``progress``.
        UnsupportedError: Something with no SDK form, naming it.
        BudgetExceeded: The next model call would exceed the budget; ``exc.result`` is the
            run so far. A crash-durable run (a database ``checkpointer``) and a handoff
            network saved in ``store`` are continued by :func:`resume_sdk` with a larger
            budget (the error says so); other runs cannot be continued.
        ModelBehaviorError: An unknown tool or handoff name twice, and no fallback.
        ModelCallError: The model call failed twice, and no fallback.
        InputGuardrailTripwireTriggered: An input guardrail tripped (``exc.result`` set).
        OutputGuardrailTripwireTriggered: An output guardrail tripped (``exc.result`` set).
        ThreadBusyError: A durable run: another process runs the thread.
    """
    from agentpatterns.run.plan import input_messages
    from agentpatterns.run.progress import shown

    _, request = input_messages(input)  # a string, or SDK input items (checked here)
    show = shown(progress)
    run = _prepare(target, model=model, thread_id=thread_id, session=session,
                   checkpointer=checkpointer, store=store, max_turns=max_turns, context=context,
                   configurable=configurable, request=request, max_model_calls=max_model_calls,
                   max_tokens=max_tokens, hooks=hooks)
    if not isinstance(input, str):
        run.items = list(input)
    run = printing(run, show)
    try:
        return await drive_run(run)  # type: ignore[no-any-return]
    except Exception as exc:  # the SDK's tripwires and budget stops become ours
        ours = run.our_error(exc)
        if ours is None:
            raise
        raise ours from exc


def run_sdk_sync(target: Pattern | Agent, input: str | list[Any], **kwargs: Any) -> RunResult:
    """Blocking :func:`run_sdk`; works inside a running event loop too (a notebook, an
    async app), like every ``*_sync`` entry point (see ``agentpatterns._sync.block_on``).
    ``progress=`` as for :func:`run_sdk`: in a notebook each step is shown as it happens."""
    return block_on(run_sdk(target, input, **kwargs))


async def resume_sdk(target: Pattern | Agent, *, thread_id: str, decision: Any = MISSING,
                     model: Any = None, store: Any = None, checkpointer: Any = None,
                     max_turns: int = DEFAULT_MAX_TURNS,
                     context: Any = None,
                     max_model_calls: int | None = None,
                     max_tokens: int | None = None, hooks: Any = None,
                     progress: bool | None = None) -> RunResult:
    """Answer the pending approval of an SDK run (``RunState.from_json`` + approve/reject),
    or - without a decision - continue a handoff-network run that its budget cut off, or
    finish a crash-durable run whose process was killed (listed ``cut off``): it is made
    again from its start with every model and tool call it completed answered from the
    turn journal, so only the calls that never completed are made.

    Works from another process when ``store`` is a file or server URL (the saved
    ``RunState`` JSON, or the conversation of a cut-off run, is read from it). A run cut
    off by its budget raised in a ``Runner.run``, which leaves no ``RunState``: it continues
    from the conversation at its last completed model turn, with the agent whose call was
    refused, so no model call is made twice.

    Args:
        target: The same pattern (or agent) the run was started with.
        thread_id: The interrupted run's thread.
        decision: ``True`` (approve), ``False`` (reject), or a dict with ``approved``,
            ``feedback`` (human approval: revise the plan) and ``plan`` (run an edited plan).
        model, store, checkpointer, max_turns, context, hooks: As for :func:`run_sdk`.
        max_model_calls, max_tokens: The budget of the whole run (what it spent before this
            resume included), as for :func:`run_sdk`.
        progress: As for :func:`run_sdk`.

    Raises:
        ResumeError: The thread has no waiting SDK run in this store, it finished, or a
            decision where none is awaited (or none where one is: a killed run awaits none).
        ThreadBusyError: Another process runs (or resumes) the thread.
        InputError: A decision in a form that is not understood, or a bad budget.
        BudgetExceeded: Still no room in the budget.
    """
    from agentpatterns.run.progress import shown

    show = shown(progress)
    pattern = as_pattern(target)
    if store is None and isinstance(checkpointer, str):
        store = checkpointer
    session = (CheckpointSession(thread_id, checkpointer)
               if pattern.kind in NETWORK_KINDS else None)
    log = RunLog()
    durable = durable_spec(checkpointer, store)
    guard, config = _guarded(pattern, thread_id, max_model_calls, max_tokens, log,
                             durable=durable is not None)
    run = Run(pattern=pattern, request="", thread_id=thread_id, run_model=model,
              max_turns=max_turns, context=context, state=run_state(context, ""), log=log,
              session=session, store=store, config=config, guard=guard, hooks=hooks,
              durable=durable)
    run = printing(run, show)
    try:
        return await resume(run, decision)
    except Exception as exc:
        ours = run.our_error(exc)
        if ours is None:
            raise
        raise ours from exc


def resume_sdk_sync(target: Pattern | Agent, **kwargs: Any) -> RunResult:
    """Blocking :func:`resume_sdk` (``progress=`` as for :func:`run_sdk`)."""
    return block_on(resume_sdk(target, **kwargs))
