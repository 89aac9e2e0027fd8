"""``Runner``: run, resume and inspect a pattern on LangGraph.

Every entry point takes the same options; each one is a :func:`~agentpatterns.run.plan.prepare`
of its arguments (checked before anything is stored) driven by one function of
:mod:`agentpatterns.run.invoke`: blocking, async, or as a stream of events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from agentpatterns.graphs.pattern import Pattern
from agentpatterns.nodes.agent import Agent
from agentpatterns.run.invoke import aevents, arun, run_blocking
from agentpatterns.run.plan import MISSING, prepare
from agentpatterns.run.result import RunResult
from agentpatterns.run.threads import api_fork, api_history, api_threads

if TYPE_CHECKING:
    from agentpatterns.events import Event
    from agentpatterns.run.session import SQLiteSession

__all__ = ["RunResult", "Runner"]

# Each method hands ``prepare`` its arguments as given (``**locals()`` on its first line,
# where the locals are exactly the parameters): one list of options, checked in one place.


class Runner:
    """Run patterns (or single agents) on LangGraph; keyword-only options, like the SDK.

    Every method accepts a ``Pattern`` or an ``Agent`` (which becomes ``from_agent(agent)``).

    How a run can stop early:

    * **a guardrail trips**: the graph goes to its end with ``stopped = {"reason":
      "guardrail", "kind", "agent", "guardrail", "info"}`` in the saved state, and the method
      raises ``InputGuardrailTripwireTriggered`` / ``OutputGuardrailTripwireTriggered`` (as
      the SDK's ``Runner`` does; a tripped wire is not an answer). ``exc.result`` is the
      ``RunResult`` of the stopped run.
    * **a budget is reached** (``max_model_calls=``, ``max_tokens=``): ``BudgetExceeded``
      is raised before the call that would go over; the thread stays at its last completed
      step (``exc.result``), and ``resume(..., max_model_calls=<larger>)`` continues it,
      re-running only the step that was cut off. Budgets count the whole run, resumes
      included.
    """

    @staticmethod
    async def run(target: Pattern | Agent, input: str | list[Any], *, thread_id: str | None = None,
                  checkpointer: Any = None, store: Any = None, model: Any = None,
                  session: SQLiteSession | None = None, recursion_limit: int | None = None,
                  configurable: Mapping[str, Any] | None = None,
                  context: Any = None,
                  hooks: Any = None,
                  max_turns: int | None = None,
                  max_model_calls: int | None = None,
                  max_tokens: int | None = None,
                  progress: bool | None = None) -> RunResult:
        """Run to the end (or to an interrupt) and return the result.

        Args:
            target: The pattern or agent.
            input: The user's request: a string, or a list of input items as
                ``agents.Runner.run`` takes them (``[{"role": "user", "content": ...}]``,
                ``result.to_input_list()`` of an earlier run plus a new user message). The
                run starts at the pattern's entry agent, as ``agents.Runner.run(agent, ...)``
                starts at the agent given; to continue with the agent that answered last
                (as the SDK's examples do with ``result.last_agent``), run
                ``pattern.agent(result.last_agent)``. On a thread the items are added to its
                conversation.
            thread_id: The thread to checkpoint under (new random id by default). Reusing a
                thread continues its conversation.
            checkpointer: Saver object or URL (``memory`` default, ``sqlite:///file``,
                ``postgresql://...``). The default in-memory saver is shared by the whole
                process and keeps every thread until it exits, so a later ``resume`` finds
                the run; a long-lived service should pass a SQLite or PostgreSQL URL.
            store: Long-term memory store (object or URL).
            model: Model for every agent (name or LangChain chat model); overrides theirs.
            session: A ``SQLiteSession``: thread and database for conversational memory.
            recursion_limit: LangGraph's bound on steps.
            configurable: Extra ``config["configurable"]`` entries (e.g. ``user_id``).
            context: Any object, as the SDK's ``Runner.run(context=)``: dynamic instructions,
                tools taking a ``RunContextWrapper``/``ToolContext``, guardrails and hooks get
                it as ``ctx.context`` and may change it. Not checkpointed (nor is it by the
                SDK): pass it again to ``resume``.
            max_model_calls: Most model calls the run may make (all agents, all resumes).
            max_tokens: Most tokens the run may use (checked before each model call).
            hooks: ``RunHooks`` (ours or the SDK's): the run's lifecycle events, called as
                ``agents.Runner.run(hooks=)`` calls them (:mod:`agentpatterns.nodes.hooks`).
                Not checkpointed: pass them again to ``resume``.
            max_turns: As ``agents.Runner.run(max_turns=)``: the most model calls the run's
                turns may make, all agents and resumes together (an agent used as a tool
                has its own bound); one more raises ``MaxTurnsExceeded``. Default: no run
                bound (each agent turn is bounded to 10 model calls).
            progress: Show each agent turn, handoff and tool call as it happens
                (:mod:`agentpatterns.run.progress`; the run streams then). ``None``
                (default) shows it in a Jupyter notebook only, ``False`` never, ``True``
                everywhere.

        Raises:
            MaxTurnsExceeded: ``max_turns`` model calls were made and the run goes on.
            ThreadBusyError: Another run, in this or another process, is running the thread
                (one run at a time per thread; see ``agentpatterns.run.locks``).
            InputGuardrailTripwireTriggered: An input guardrail stopped the run (state saved).
            OutputGuardrailTripwireTriggered: An output guardrail stopped the run.
            BudgetExceeded: The budget would be exceeded; resume with a larger one.
        """
        return await arun(prepare(**locals()))

    @staticmethod
    def run_sync(target: Pattern | Agent, input: str | list[Any], *, thread_id: str | None = None,
                 checkpointer: Any = None, store: Any = None, model: Any = None,
                 session: SQLiteSession | None = None, recursion_limit: int | None = None,
                 configurable: Mapping[str, Any] | None = None,
                 context: Any = None,
                 hooks: Any = None,
                 max_turns: int | None = None,
                 max_model_calls: int | None = None,
                 max_tokens: int | None = None,
                 progress: bool | None = None) -> RunResult:
        """Blocking ``run`` (uses LangGraph's ``invoke``; no event loop needed).

        The options are those of :meth:`run`, ``progress`` included.
        """
        return run_blocking(prepare(**locals()))

    @staticmethod
    async def resume(target: Pattern | Agent, *, thread_id: str, decision: Any = MISSING,
                     checkpointer: Any = None, store: Any = None, model: Any = None,
                     recursion_limit: int | None = None,
                     configurable: Mapping[str, Any] | None = None,
                     context: Any = None,
                     hooks: Any = None,
                     max_turns: int | None = None,
                     max_model_calls: int | None = None,
                     max_tokens: int | None = None,
                     progress: bool | None = None) -> RunResult:
        """Continue a thread: answer its pending decision, or finish a run that was cut off.

        ``max_model_calls`` / ``max_tokens`` bound the whole run, what it spent before this
        resume included: a run stopped by its budget continues with a larger one.
        ``progress`` as for :meth:`run`.

        Raises:
            ResumeError: Unknown thread, a finished thread, a decision where none is awaited
                (or none where one is). The thread's state is not touched.
            ThreadBusyError: Another process (or run) is running or resuming the thread.
            InputError: A decision in a form that is not understood.
        """
        return await arun(prepare(resume=True, **locals()))

    @staticmethod
    def resume_sync(target: Pattern | Agent, *, thread_id: str, decision: Any = MISSING,
                    checkpointer: Any = None, store: Any = None, model: Any = None,
                    recursion_limit: int | None = None,
                    configurable: Mapping[str, Any] | None = None,
                    context: Any = None,
                    hooks: Any = None,
                    max_turns: int | None = None,
                    max_model_calls: int | None = None,
                    max_tokens: int | None = None,
                    progress: bool | None = None) -> RunResult:
        """Blocking ``resume``; ``progress`` as for :meth:`run`."""
        return run_blocking(prepare(resume=True, **locals()))

    # durable threads, for notebooks: what `agentpatterns threads / history / fork` show
    threads = staticmethod(api_threads)
    history = staticmethod(api_history)
    fork = staticmethod(api_fork)

    @staticmethod
    async def run_streamed(target: Pattern | Agent, input: str | list[Any], *,
                           thread_id: str | None = None,
                           checkpointer: Any = None, store: Any = None, model: Any = None,
                           session: SQLiteSession | None = None,
                           recursion_limit: int | None = None,
                           configurable: Mapping[str, Any] | None = None,
                           context: Any = None,
                           hooks: Any = None,
                           max_turns: int | None = None,
                           max_model_calls: int | None = None,
                           max_tokens: int | None = None) -> AsyncIterator[Event]:
        """``run``, as an async iterator of typed events (:mod:`agentpatterns.events`).

        Built from LangGraph's ``updates``, ``messages`` and ``custom`` stream modes: agents
        starting, reply tokens, tool calls and results, handoffs, recorded incidents, a
        tripped guardrail, an interrupt; the last event is ``RunFinished(result)``. The
        options and the exceptions are those of :meth:`run` (a tripped guardrail yields
        ``GuardrailTripped`` and then raises).

        Example:
            >>> import asyncio
            >>> from agentpatterns.examples import example
            >>> async def kinds():
            ...     return [e.type for e in [e async for e in Runner.run_streamed(
            ...         example("triage"), "I need to book a table")] if e.type != "token_delta"]
            >>> asyncio.run(kinds())
            ['agent_started', 'handoff', 'agent_started', 'run_finished']
        """
        async for event in aevents(prepare(**locals())):
            yield event

    @staticmethod
    async def resume_streamed(target: Pattern | Agent, *, thread_id: str,
                              decision: Any = MISSING, checkpointer: Any = None,
                              store: Any = None, model: Any = None,
                              recursion_limit: int | None = None,
                              configurable: Mapping[str, Any] | None = None,
                              context: Any = None,
                              hooks: Any = None,
                              max_turns: int | None = None,
                              max_model_calls: int | None = None,
                              max_tokens: int | None = None) -> AsyncIterator[Event]:
        """``resume``, as an async iterator of typed events (see :meth:`run_streamed`)."""
        async for event in aevents(prepare(resume=True, **locals())):
            yield event

