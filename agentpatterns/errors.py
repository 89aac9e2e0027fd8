"""The exception hierarchy: one root, split by phase (build vs run vs storage)."""

from __future__ import annotations

import sys
from typing import Any

__all__ = [
    "AgentPatternsError",
    "BranchError",
    "BudgetExceeded",
    "GuardrailTripwireTriggered",
    "InputError",
    "InputGuardrailTripwireTriggered",
    "LeaseLostError",
    "MaxTurnsExceeded",
    "ModelBehaviorError",
    "OutputGuardrailTripwireTriggered",
    "OutputValidationError",
    "PatternError",
    "ResumeError",
    "ThreadBusyError",
    "ToolRunError",
    "RunError",
    "StorageError",
    "UnsupportedError",
]


class AgentPatternsError(Exception):
    """Root of every error this package raises on purpose."""


class PatternError(AgentPatternsError, ValueError):
    """A topology problem found when a pattern is built (before any model call)."""


class RunError(AgentPatternsError, RuntimeError):
    """Something went wrong while a pattern was running."""


_COMPAT: dict[type, type] = {}


def _compatible(cls: type) -> type:
    """``cls``, or - once ``agents`` is imported - a subclass that also inherits the SDK's
    exception of the same name (made once per class)."""
    sdk_module = sys.modules.get("agents")
    name = getattr(cls, "_sdk_name", "")
    if sdk_module is None or not name:
        return cls
    sdk = getattr(sdk_module, name, None)
    if not isinstance(sdk, type) or issubclass(cls, sdk):
        return cls
    compat = _COMPAT.get(cls)
    if compat is None:
        compat = _COMPAT[cls] = type(cls.__name__, (cls, sdk), {
            "__module__": cls.__module__, "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__})
    return compat


class _SDKCompatible(Exception):
    """Raised as an instance of the OpenAI Agents SDK's exception of the same name too.

    When ``agents`` is imported (it never is by ``import agentpatterns``), the instance's
    class also inherits ``agents.<SameName>``, so ``except agents.ModelBehaviorError`` (and
    the others) catches ours on both runtimes. ``run_data`` is the SDK's attribute: the SDK
    runtime keeps the SDK's ``RunErrorDetails``; on LangGraph it is ``None``.
    """

    _sdk_name = ""
    run_data: Any = None

    def __new__(cls, *args: object, **kwargs: object) -> Any:
        return super().__new__(_compatible(cls), *args)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message  # the SDK's exceptions carry it


class ModelBehaviorError(_SDKCompatible, RunError):
    """The model asked for something that does not exist or sent malformed arguments, twice.

    Also an ``agents.ModelBehaviorError`` once the SDK is imported (``message`` as there).
    """

    _sdk_name = "ModelBehaviorError"


class MaxTurnsExceeded(_SDKCompatible, RunError):
    """``max_turns`` model calls were made without finishing: in one agent's turn, or in the
    whole run when ``Runner.run*(max_turns=)`` / ``run_sdk(max_turns=)`` is given.

    Also an ``agents.MaxTurnsExceeded`` once the SDK is imported (``message`` as there).
    """

    _sdk_name = "MaxTurnsExceeded"


class ToolRunError(_SDKCompatible, RunError):
    """A tool failed for good: its ``failure_error_function`` is ``None``, or an
    ``on_tool_start``/``on_tool_end`` hook raised. Worded as the SDK's ``UserError("Error
    running tool <name>: ...")`` (and also one once the SDK is imported); the original
    exception is ``__cause__``. Other hooks' exceptions propagate unchanged."""

    _sdk_name = "UserError"


class ModelCallError(RunError):
    """The model call of an agent raised, again after one retry, and no fallback could take over.

    The model's own exception is the ``__cause__``.
    """


class OutputValidationError(ModelBehaviorError):
    """An agent's final output did not validate into its ``output_type``, even after a retry.

    A ``ModelBehaviorError``, as the SDK raises for an answer that does not validate."""


class BranchError(RunError):
    """A parallel branch failed and the pattern was told to fail on branch errors."""


class ResumeError(RunError):
    """A resume was asked for a thread that cannot be resumed that way."""


class ThreadBusyError(RunError):
    """Another run (in this or another process) is running the thread; one at a time."""


class LeaseLostError(ThreadBusyError):
    """Another process took over the thread while this run was stalled past its lease.

    The run stopped before its next model or tool call, or at its next write, which was
    refused (SQLite fencing; PostgreSQL: the advisory lock's session was closed), so nothing
    it did after losing the lease is stored; the process that took the thread over continues.
    """


class StorageError(AgentPatternsError, OSError):
    """A checkpointer or store could not be opened or used (bad URL, corrupt file, server down)."""


class UnsupportedError(AgentPatternsError, TypeError):
    """A construct (e.g. an SDK hosted tool) that this package cannot map."""


class GuardrailTripwireTriggered(_SDKCompatible, RunError):
    """A guardrail's tripwire stopped the run.

    Attributes:
        agent: The agent whose input or output was checked.
        guardrail: The guardrail's name.
        info: The guardrail's ``output_info``.
        result: The ``RunResult`` of the stopped run (its state is saved), when raised by
            ``Runner``.
        guardrail_result: The SDK's attribute: ``.guardrail`` (the guardrail object) and
            ``.output`` (its ``GuardrailFunctionOutput``) - the SDK's own result object on
            the SDK runtime.
    """

    def __init__(self, message: str, *, agent: str = "", guardrail: str = "", info: object = None,
                 guardrail_result: object = None):
        super().__init__(message)
        self.agent = agent
        self.guardrail = guardrail
        self.info = info
        self.result: object = None
        self.guardrail_result = guardrail_result


class InputGuardrailTripwireTriggered(GuardrailTripwireTriggered):
    """An input guardrail tripped (also an ``agents.InputGuardrailTripwireTriggered``)."""

    _sdk_name = "InputGuardrailTripwireTriggered"


class OutputGuardrailTripwireTriggered(GuardrailTripwireTriggered):
    """An output guardrail tripped (also an ``agents.OutputGuardrailTripwireTriggered``)."""

    _sdk_name = "OutputGuardrailTripwireTriggered"


class BudgetExceeded(RunError):
    """A run hit its model-call or token budget; its state is saved and it can be resumed.

    Attributes:
        budget: ``"max_model_calls"`` or ``"max_tokens"``.
        limit: The budget.
        used: Model calls (or tokens) spent when the run stopped.
        agent: The agent whose model call was not made.
        thread_id: The thread to resume.
        result: The ``RunResult`` at the last completed step, when raised by ``Runner``.
    """

    def __init__(self, message: str, *, budget: str = "", limit: int = 0, used: int = 0,
                 agent: str = "", thread_id: str = ""):
        super().__init__(message)
        self.budget = budget
        self.limit = limit
        self.used = used
        self.agent = agent
        self.thread_id = thread_id
        self.result: object = None


class InputError(AgentPatternsError, ValueError):
    """A run was asked for with unusable input (empty request, bad decision, bad option)."""

