"""The benchmark scenarios, twice: as agentpatterns patterns and as hand-written LangGraph.

The hand-written graphs are what a LangGraph user would write for the same topology, with
the same model object and the same prompts, so the model makes the same calls on both
sides: ``model.bind_tools(...)`` once, ``invoke``/``ainvoke`` in the node, handoffs as
``Command(goto=...)`` with the destinations declared, ``messages`` reduced by
``add_messages``, ``Send`` for fan-out and ``interrupt()`` for approval. Each shape has a
``check`` (the path both sides must take) so a benchmark never compares different work.
"""

from __future__ import annotations

import itertools
import json
import operator
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, Send, interrupt

from agentpatterns import (
    Agent,
    hierarchical,
    human_approval,
    parallel,
    reflection,
    sequential,
    supervisor,
    triage,
)
from agentpatterns.nodes._text import snake

# --------------------------------------------------------------------------- helpers


def system(name: str, instructions: str) -> SystemMessage:
    # the same system prompt agentpatterns gives an agent ("You are <name>. <instructions>")
    return SystemMessage(f"You are {name}. {instructions}".strip())


def fn_tool(name: str, description: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": params or {"type": "object", "properties": {},
                                 "additionalProperties": False}}}


_TASK = {"type": "object", "properties": {"task": {"type": "string", "description": "What to do"}},
         "required": ["task"], "additionalProperties": False}
_INPUT = {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"],
          "additionalProperties": False}


class Msgs(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]


def text_of(reply: AIMessage) -> str:
    return reply.content if isinstance(reply.content, str) else json.dumps(reply.content)


# --------------------------------------------------------------------------- triage

TRIAGE_REQUEST = "I need to book a table for two tonight"
_SPECIALISTS = [
    ("Booking Agent", "Handles all booking and reservation requests",
     "Help users book appointments and reservations"),
    ("Support Agent", "Handles customer support and troubleshooting",
     "Help users with technical issues and questions"),
    ("Billing Agent", "Handles invoices, payments and refunds",
     "Help users with invoices, payments and refunds"),
]
_ROUTER = ("Triage Agent", "Route users to the appropriate specialist based on their needs")


def triage_pattern() -> Any:
    specs = [Agent(name=n, handoff_description=d, instructions=i) for n, d, i in _SPECIALISTS]
    return triage(Agent(name=_ROUTER[0], instructions=_ROUTER[1], handoffs=specs))


def triage_graph(model: Any, aio: bool = False) -> StateGraph:
    names = [n for n, _, _ in _SPECIALISTS]
    tools = [fn_tool(f"transfer_to_{snake(n)}", d) for n, d, _ in _SPECIALISTS]
    by_tool = {f"transfer_to_{snake(n)}": n for n in names}
    router_llm = model.bind_tools(tools)
    router_sys = system(*_ROUTER)

    def route(reply: AIMessage) -> Command:
        if reply.tool_calls:
            call = reply.tool_calls[0]
            target = by_tool[call["name"]]
            return Command(goto=target, update={"messages": [reply, ToolMessage(
                json.dumps({"assistant": target}), tool_call_id=call["id"])]})
        return Command(goto=END, update={"messages": [reply]})

    graph = StateGraph(Msgs)
    if aio:
        async def router(state: Msgs) -> Command:
            return route(await router_llm.ainvoke([router_sys, *state["messages"]]))
    else:
        def router(state: Msgs) -> Command:
            return route(router_llm.invoke([router_sys, *state["messages"]]))
    graph.add_node("router", router, destinations=(*names, END))
    for name, _, instructions in _SPECIALISTS:
        graph.add_node(name, _answer(model, system(name, instructions), aio))
        graph.add_edge(name, END)
    graph.add_edge(START, "router")
    return graph


def _answer(model: Any, sys: SystemMessage, aio: bool) -> Callable[..., Any]:
    """A node that answers the conversation so far."""
    if aio:
        async def node(state: Msgs) -> dict[str, Any]:
            return {"messages": [await model.ainvoke([sys, *state["messages"]])]}
    else:
        def node(state: Msgs) -> dict[str, Any]:
            return {"messages": [model.invoke([sys, *state["messages"]])]}
    return node


# --------------------------------------------------------------------------- sequential

SEQUENTIAL_REQUEST = "The history of the printing press"
_STEP_JOBS = ["Research the topic thoroughly", "Write based on research",
              "Edit and polish the content", "Analyze the draft", "Summarize the analysis",
              "Plan the next edition", "Generate a title", "Process the feedback",
              "Synthesize everything", "Polish the final text"]


def _steps(n: int) -> list[tuple[str, str]]:
    return [(f"Step {i + 1}", _STEP_JOBS[i % len(_STEP_JOBS)]) for i in range(n)]


def sequential_pattern(n: int) -> Any:
    return sequential([Agent(name=name, instructions=job) for name, job in _steps(n)])


def sequential_graph(model: Any, n: int, aio: bool = False) -> StateGraph:
    graph = StateGraph(Msgs)
    steps = _steps(n)
    for name, job in steps:
        graph.add_node(name, _answer(model, system(name, job), aio))
    graph.add_edge(START, steps[0][0])
    for (a, _), (b, _) in itertools.pairwise(steps):
        graph.add_edge(a, b)
    graph.add_edge(steps[-1][0], END)
    return graph


# --------------------------------------------------------------------------- supervisor

SUPERVISOR_REQUEST = "Process the sales data, analyze the results and write a report"
_WORKERS = [("Worker 1", "Process data"), ("Worker 2", "Analyze results"),
            ("Worker 3", "Write the report")]
_BOSS = ("Supervisor", "You manage worker agents.\n- Assign tasks to workers\n"
                       "- Monitor progress\n- Aggregate results")


def supervisor_pattern(rounds: int = 3) -> Any:
    workers = [Agent(name=n, instructions=i) for n, i in _WORKERS]
    return supervisor(Agent(name=_BOSS[0], instructions=_BOSS[1]), workers, max_rounds=rounds)


class SupState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    task: str
    call_id: str
    rounds: int


def supervisor_graph(model: Any, rounds: int = 3, aio: bool = False) -> StateGraph:
    tools = [fn_tool(f"assign_to_{snake(n)}", f"Assign a task to {n}: {i}", _TASK)
             for n, i in _WORKERS]
    by_tool = {f"assign_to_{snake(n)}": n for n, _ in _WORKERS}
    boss_llm = model.bind_tools(tools)
    boss_sys = system(*_BOSS)

    def after_boss(state: SupState, reply: AIMessage) -> Command:
        if reply.tool_calls:
            call = reply.tool_calls[0]
            return Command(goto=by_tool[call["name"]], update={
                "messages": [reply], "task": call["args"]["task"], "call_id": call["id"],
                "rounds": state.get("rounds", 0) + 1})
        return Command(goto=END, update={"messages": [reply]})

    def boss_llm_for(state: SupState) -> Any:
        return boss_llm if state.get("rounds", 0) < rounds else model

    graph = StateGraph(SupState)
    if aio:
        async def boss(state: SupState) -> Command:
            llm = boss_llm_for(state)
            return after_boss(state, await llm.ainvoke([boss_sys, *state["messages"]]))
    else:
        def boss(state: SupState) -> Command:
            llm = boss_llm_for(state)
            return after_boss(state, llm.invoke([boss_sys, *state["messages"]]))
    graph.add_node("boss", boss, destinations=(*by_tool.values(), END))
    for name, job in _WORKERS:
        sys = system(name, job)
        if aio:
            async def worker(state: SupState, sys: SystemMessage = sys) -> dict[str, Any]:
                reply = await model.ainvoke([sys, HumanMessage(state["task"])])
                return {"messages": [ToolMessage(text_of(reply), tool_call_id=state["call_id"])]}
        else:
            def worker(state: SupState, sys: SystemMessage = sys) -> dict[str, Any]:
                reply = model.invoke([sys, HumanMessage(state["task"])])
                return {"messages": [ToolMessage(text_of(reply), tool_call_id=state["call_id"])]}
        graph.add_node(name, worker)
        graph.add_edge(name, "boss")
    graph.add_edge(START, "boss")
    return graph


# --------------------------------------------------------------------------- reflection

REFLECTION_REQUEST = "A short poem about the sea"
_GEN = ("Generator", "Generate content")
_CRITIC = ("Critic", "Review content and provide feedback")


def reflection_pattern(iterations: int) -> Any:
    return reflection(Agent(name=_GEN[0], instructions=_GEN[1]),
                      Agent(name=_CRITIC[0], instructions=_CRITIC[1]), iterations=iterations)


class RefState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    drafts: Annotated[list[str], operator.add]
    critiques: Annotated[list[str], operator.add]
    iteration: int


def reflection_graph(model: Any, iterations: int, aio: bool = False) -> StateGraph:
    gen_sys, critic_sys = system(*_GEN), system(*_CRITIC)

    def gen_input(state: RefState) -> list[Any]:
        if state.get("drafts") and state.get("critiques"):
            text = (f"Previous: {state['drafts'][-1]}\nFeedback: {state['critiques'][-1]}\n"
                    "Improve it.")
        else:
            text = state["messages"][0].content
        return [gen_sys, HumanMessage(text)]

    def gen_out(state: RefState, reply: AIMessage) -> dict[str, Any]:
        return {"messages": [reply], "drafts": [text_of(reply)],
                "iteration": state.get("iteration", 0) + 1}

    def critic_input(state: RefState) -> list[Any]:
        return [critic_sys, HumanMessage(
            f"Review this: {state['drafts'][-1]}. Provide specific improvements.")]

    def critic_out(state: RefState, reply: AIMessage) -> Command:
        goto = END if state.get("iteration", 0) >= iterations else "generator"
        return Command(goto=goto, update={"messages": [reply], "critiques": [text_of(reply)]})

    graph = StateGraph(RefState)
    if aio:
        async def generator(state: RefState) -> dict[str, Any]:
            return gen_out(state, await model.ainvoke(gen_input(state)))

        async def critic(state: RefState) -> Command:
            return critic_out(state, await model.ainvoke(critic_input(state)))
    else:
        def generator(state: RefState) -> dict[str, Any]:
            return gen_out(state, model.invoke(gen_input(state)))

        def critic(state: RefState) -> Command:
            return critic_out(state, model.invoke(critic_input(state)))
    graph.add_node("generator", generator)
    graph.add_node("critic", critic, destinations=("generator", END))
    graph.add_edge(START, "generator")
    graph.add_edge("generator", "critic")
    return graph


# --------------------------------------------------------------------------- hierarchical

HIERARCHICAL_REQUEST = "Write SQL queries to count orders per customer"
_EXPERTS = [("SQL Expert", "Write SQL queries", "sql_expert", "Use for database queries"),
            ("Python Expert", "Write Python code", "python_expert",
             "Use for Python coding tasks")]
_ORCH = ("Orchestrator", "Coordinate specialists to solve complex tasks")


def hierarchical_pattern() -> Any:
    tools = [Agent(name=n, instructions=i).as_tool(tool_name=t, tool_description=d)
             for n, i, t, d in _EXPERTS]
    return hierarchical(Agent(name=_ORCH[0], instructions=_ORCH[1], tools=tools))


def hierarchical_graph(model: Any, aio: bool = False) -> StateGraph:
    """The orchestrator's node runs its tool loop; each expert is one model call in it."""
    tools = [fn_tool(t, d, _INPUT) for _, _, t, d in _EXPERTS]
    experts = {t: system(n, i) for n, i, t, _ in _EXPERTS}
    llm = model.bind_tools(tools)
    orch_sys = system(*_ORCH)
    graph = StateGraph(Msgs)
    if aio:
        async def orchestrator(state: Msgs) -> dict[str, Any]:
            new: list[Any] = []
            while True:
                reply = await llm.ainvoke([orch_sys, *state["messages"], *new])
                new.append(reply)
                if not reply.tool_calls:
                    return {"messages": new}
                for call in reply.tool_calls:
                    sub = await model.ainvoke([experts[call["name"]],
                                               HumanMessage(call["args"]["input"])])
                    new.append(ToolMessage(text_of(sub), tool_call_id=call["id"]))
    else:
        def orchestrator(state: Msgs) -> dict[str, Any]:
            new: list[Any] = []
            while True:
                reply = llm.invoke([orch_sys, *state["messages"], *new])
                new.append(reply)
                if not reply.tool_calls:
                    return {"messages": new}
                for call in reply.tool_calls:
                    sub = model.invoke([experts[call["name"]], HumanMessage(call["args"]["input"])])
                    new.append(ToolMessage(text_of(sub), tool_call_id=call["id"]))
    graph.add_node("orchestrator", orchestrator)
    graph.add_edge(START, "orchestrator")
    graph.add_edge("orchestrator", END)
    return graph


# --------------------------------------------------------------------------- parallel

PARALLEL_REQUEST = "Renewable energy storage"
_SYN = ("Synthesizer", "Combine research")


def parallel_pattern(k: int) -> Any:
    branches = [Agent(name=f"Researcher {i + 1}", instructions=f"Research topic {i + 1}")
                for i in range(k)]
    return parallel(branches, Agent(name=_SYN[0], instructions=_SYN[1]))


class FanState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    results: Annotated[list[tuple[int, str]], operator.add]


class BranchInput(TypedDict):
    i: int
    request: str


def parallel_graph(model: Any, k: int, aio: bool = True) -> StateGraph:
    """``Send`` fan-out to one branch node K times, a join by the reducer, a synthesizer."""
    branch_sys = [system(f"Researcher {i + 1}", f"Research topic {i + 1}") for i in range(k)]
    syn_sys = system(*_SYN)

    def fan_out(state: FanState) -> list[Send]:
        request = state["messages"][0].content
        return [Send("branch", {"i": i, "request": request}) for i in range(k)]

    def syn_input(state: FanState) -> list[Any]:
        parts = [text for _, text in sorted(state["results"])]
        return [syn_sys, HumanMessage("Synthesize: " + "\n\n".join(parts))]

    graph = StateGraph(FanState)
    if aio:
        async def branch(arg: BranchInput) -> dict[str, Any]:
            reply = await model.ainvoke([branch_sys[arg["i"]], HumanMessage(arg["request"])])
            return {"results": [(arg["i"], text_of(reply))]}

        async def synthesizer(state: FanState) -> dict[str, Any]:
            return {"messages": [await model.ainvoke(syn_input(state))]}
    else:
        def branch(arg: BranchInput) -> dict[str, Any]:
            reply = model.invoke([branch_sys[arg["i"]], HumanMessage(arg["request"])])
            return {"results": [(arg["i"], text_of(reply))]}

        def synthesizer(state: FanState) -> dict[str, Any]:
            return {"messages": [model.invoke(syn_input(state))]}
    graph.add_node("branch", branch)
    graph.add_node("synthesizer", synthesizer)
    graph.add_conditional_edges(START, fan_out, ["branch"])
    graph.add_edge("branch", "synthesizer")
    graph.add_edge("synthesizer", END)
    return graph


# --------------------------------------------------------------------------- human approval

APPROVAL_REQUEST = "Migrate the customer database to PostgreSQL"
_PLANNER = ("Planner", "Create detailed plan")
_EXECUTOR = ("Executor", "Execute plan precisely")


def approval_pattern() -> Any:
    return human_approval(Agent(name=_PLANNER[0], instructions=_PLANNER[1]),
                          Agent(name=_EXECUTOR[0], instructions=_EXECUTOR[1]))


class PlanState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    plan: str


def approval_graph(model: Any) -> StateGraph:
    planner_sys, executor_sys = system(*_PLANNER), system(*_EXECUTOR)

    def planner(state: PlanState) -> dict[str, Any]:
        reply = model.invoke([planner_sys, HumanMessage(state["messages"][0].content)])
        return {"messages": [reply], "plan": text_of(reply)}

    def approval(state: PlanState) -> Command:
        decision = interrupt({"plan": state["plan"], "question": "Approve this plan?"})
        return Command(goto="executor" if decision else END)

    def executor(state: PlanState) -> dict[str, Any]:
        return {"messages": [model.invoke([executor_sys, HumanMessage(state["plan"])])]}

    graph = StateGraph(PlanState)
    graph.add_node("planner", planner)
    graph.add_node("approval", approval, destinations=("executor", END))
    graph.add_node("executor", executor)
    graph.add_edge(START, "planner")
    graph.add_edge("planner", "approval")
    graph.add_edge("executor", END)
    return graph


# --------------------------------------------------------------------------- the 0 ms rows

#: name -> (pattern builder, hand-written graph builder(model, aio), request, model calls)
SHAPES: dict[str, tuple[Callable[[], Any], Callable[..., StateGraph], str, int]] = {
    "triage": (triage_pattern, triage_graph, TRIAGE_REQUEST, 2),
    "sequential3": (lambda: sequential_pattern(3), lambda m, aio=False: sequential_graph(m, 3, aio),
                    SEQUENTIAL_REQUEST, 3),
    "sequential10": (lambda: sequential_pattern(10),
                     lambda m, aio=False: sequential_graph(m, 10, aio), SEQUENTIAL_REQUEST, 10),
    "supervisor": (supervisor_pattern, supervisor_graph, SUPERVISOR_REQUEST, 7),
    "reflection5": (lambda: reflection_pattern(5),
                    lambda m, aio=False: reflection_graph(m, 5, aio), REFLECTION_REQUEST, 10),
    "hierarchical": (hierarchical_pattern, hierarchical_graph, HIERARCHICAL_REQUEST, 3),
}


# --------------------------------------------------------------------------- checking


def counting_model(**kwargs: Any) -> Any:
    """An ``OfflineModel`` that counts its calls (used to check both sides do the same work)."""
    from agentpatterns import OfflineModel

    class Counting(OfflineModel):
        calls: int = 0

        def _generate(self, *args: Any, **kw: Any) -> Any:
            self.calls += 1
            return super()._generate(*args, **kw)

        async def _agenerate(self, *args: Any, **kw: Any) -> Any:
            self.calls += 1
            return await super()._agenerate(*args, **kw)

    return Counting(**kwargs)
