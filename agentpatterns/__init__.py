"""agentpatterns: multi-agent patterns as explicit, checkpointed LangGraph graphs.

The same ``Agent`` definitions also run on the OpenAI Agents SDK ``Runner``
(``agentpatterns.adapters.openai_agents``).
"""

from agentpatterns.errors import (
    AgentPatternsError,
    BranchError,
    BudgetExceeded,
    GuardrailTripwireTriggered,
    InputError,
    InputGuardrailTripwireTriggered,
    LeaseLostError,
    MaxTurnsExceeded,
    ModelBehaviorError,
    ModelCallError,
    OutputGuardrailTripwireTriggered,
    OutputValidationError,
    PatternError,
    ResumeError,
    RunError,
    StorageError,
    ThreadBusyError,
    UnsupportedError,
)
from agentpatterns.graphs import (
    Edge,
    Node,
    Pattern,
    dynamic,
    from_agent,
    hierarchical,
    human_approval,
    memory,
    parallel,
    reflection,
    sequential,
    supervisor,
    triage,
)
from agentpatterns.nodes import Agent, AgentTool, FunctionTool, OfflineModel, function_tool
from agentpatterns.nodes.context import RunContextWrapper, ToolContext
from agentpatterns.nodes.guardrails import (
    GuardrailContext,
    GuardrailFunctionOutput,
    InputGuardrail,
    OutputGuardrail,
    input_guardrail,
    output_guardrail,
)
from agentpatterns.nodes.handoff import Handoff, HandoffInputData, handoff
from agentpatterns.nodes.hooks import AgentHooks, RunHooks
from agentpatterns.nodes.journal import idempotency_key
from agentpatterns.nodes.settings import ModelSettings
from agentpatterns.nodes.tool_use import FunctionToolResult, ToolsToFinalOutputResult
from agentpatterns.run import Runner, RunResult, SQLiteSession

__version__ = "0.1.0"

__all__ = [
    # agents and tools
    "Agent",
    "AgentTool",
    "FunctionTool",
    "OfflineModel",
    "RunContextWrapper",
    "ToolContext",
    "function_tool",
    # the SDK's agent options (handoff(), model settings, tool use behaviour)
    "AgentHooks",
    "FunctionToolResult",
    "Handoff",
    "HandoffInputData",
    "ModelSettings",
    "RunHooks",
    "ToolsToFinalOutputResult",
    "handoff",
    # patterns
    "Edge",
    "Node",
    "Pattern",
    "dynamic",
    "from_agent",
    "hierarchical",
    "human_approval",
    "memory",
    "parallel",
    "reflection",
    "sequential",
    "supervisor",
    "triage",
    # guardrails
    "GuardrailContext",
    "GuardrailFunctionOutput",
    "InputGuardrail",
    "OutputGuardrail",
    "input_guardrail",
    "output_guardrail",
    # running
    "RunResult",
    "Runner",
    "SQLiteSession",
    "idempotency_key",
    # errors
    "AgentPatternsError",
    "BranchError",
    "BudgetExceeded",
    "GuardrailTripwireTriggered",
    "InputError",
    "InputGuardrailTripwireTriggered",
    "LeaseLostError",
    "MaxTurnsExceeded",
    "ModelBehaviorError",
    "ModelCallError",
    "OutputGuardrailTripwireTriggered",
    "OutputValidationError",
    "PatternError",
    "ResumeError",
    "RunError",
    "StorageError",
    "ThreadBusyError",
    "UnsupportedError",
    "__version__",
]
