"""Dynamic: an analyzer names the expertise needed; specialists are created at run time."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph._internal._runnable import RunnableCallable
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send
from pydantic import BaseModel, Field

from agentpatterns.errors import PatternError, RunError
from agentpatterns.graphs._common import fresh_turn, output_of, public_update, request_of
from agentpatterns.graphs._nested import pattern_node
from agentpatterns.graphs._nodes import agent_node, stopped
from agentpatterns.graphs._tools import inner_tools_meta, participant_tools
from agentpatterns.graphs.pattern import (
    END_ID,
    START_ID,
    Edge,
    Node,
    Participant,
    Pattern,
    register,
)
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.runtime import TurnResult
from agentpatterns.state import PatternState

__all__ = ["Domains", "dynamic"]

SPECIALISTS = "specialists"
JOIN = "combine"


class Domains(BaseModel):
    """The analyzer's structured answer: the domains of expertise the request needs."""

    domains: list[str] = Field(description="Domains of expertise needed, most important first")


def dynamic(
    analyzer: Agent,
    make_specialist: Callable[[str], Any],
    *,
    max_specialists: int = 5,
    name: str = "",
    description: str = "",
) -> Pattern:
    """Dynamic agent creation: specialists are made at run time from the analyzer's domains.

    The analyzer answers with ``Domains`` (structured output; its ``output_type`` is set
    to it when it has none). ``make_specialist(domain)`` creates one agent per domain (at
    most ``max_specialists``; the rest are dropped and the cap recorded in the events).
    The request is **fanned out** to every created specialist, concurrently, and their
    answers are combined: the analyzer already chose only the domains that are needed, so
    routing to one of them would drop expertise it asked for and cost another model call.
    The specialists' specs are stored in the checkpoint, so a resumed or forked run
    rebuilds the same agents without asking the analyzer again. ``make_specialist`` may
    return a whole pattern: it runs as a subgraph of its branch.

    Raises:
        PatternError: ``max_specialists < 1``, ``make_specialist`` not callable, or an
            analyzer ``output_type`` without a ``domains`` list.

    Example:
        >>> from agentpatterns import Runner
        >>> analyzer = Agent(name="Analyzer", instructions="Determine required expertise")
        >>> make = lambda d: Agent(name=f"{d.title()} Specialist",
        ...                        instructions=f"You are an expert in {d}")
        >>> Runner.run_sync(dynamic(analyzer, make), "I need advice on tax law and accounting").path
        ['Analyzer', 'Tax Law Specialist', 'Accounting Specialist']
    """
    if not isinstance(max_specialists, int) or max_specialists < 1:
        raise PatternError(f"dynamic max_specialists={max_specialists!r}; it must be an int >= 1")
    if not callable(make_specialist):
        raise PatternError("dynamic make_specialist must be a function domain -> Agent")
    if analyzer.output_type is None:
        analyzer = analyzer.clone(output_type=Domains)
    elif "domains" not in analyzer.output_type.model_fields:
        raise PatternError(
            f"analyzer {analyzer.name!r} has output_type "
            f"{analyzer.output_type.__name__} without a 'domains' list; "
            "drop the output_type or add domains: list[str]"
        )
    edges = (
        Edge(source=START_ID, target=analyzer.name, kind="route", label="entry"),
        Edge(
            source=analyzer.name,
            target=SPECIALISTS,
            kind="fanout",
            label=f"≤ {max_specialists} created",
        ),
        Edge(source=analyzer.name, target=END_ID, kind="route", label="no domains"),
        Edge(source=SPECIALISTS, target=JOIN, kind="join"),
        Edge(source=JOIN, target=END_ID, kind="route", label="combined"),
    )
    tool_nodes, tool_edges = participant_tools([analyzer])
    return Pattern(
        kind="dynamic",
        agents=(analyzer,),
        entry=analyzer.name,
        edges=(*edges, *tool_edges),
        nodes=(
            Node(
                id=SPECIALISTS,
                kind="dynamic",
                label="specialists",
                description="agents created at run time, one per domain",
            ),
            Node(id=JOIN, kind="join", label="combine"),
            *tool_nodes,
        ),
        options={"make_specialist": make_specialist, "max_specialists": max_specialists},
        name=name or "dynamic",
        description=description,
    )


def spec_of(agent: Participant, domain: str) -> dict[str, Any]:
    """A JSON-able spec of a created agent (what the checkpoint stores)."""
    if isinstance(agent, Pattern):  # a whole pattern: re-made by the factory on resume
        return {"domain": domain, "name": agent.name, "instructions": None,
                "handoff_description": agent.description, "model": None,
                "rebuild": "make_specialist", "pattern": agent.kind}
    simple = (
        not agent.tools
        and not agent.handoffs
        and agent.output_type is None
        and (agent.model is None or isinstance(agent.model, str))
        and not callable(agent.instructions)
    )
    return {
        "domain": domain,
        "name": agent.name,
        "instructions": agent.instructions,
        "handoff_description": agent.handoff_description,
        "model": agent.model if simple else None,
        "rebuild": "spec" if simple else "make_specialist",
    }


def rebuild(spec: Mapping[str, Any], make_specialist: Callable[[str], Any]) -> Participant:
    """The agent a stored spec describes (re-made by ``make_specialist`` if it has tools)."""
    if spec.get("rebuild") == "spec":
        return Agent(
            name=spec["name"],
            instructions=spec.get("instructions"),
            handoff_description=spec.get("handoff_description"),
            model=spec.get("model"),
        )
    agent: Participant = make_specialist(spec["domain"])
    if agent.name != spec["name"]:
        raise RunError(
            f"make_specialist({spec['domain']!r}) now returns {agent.name!r}, but the "
            f"checkpoint was made with {spec['name']!r}; keep make_specialist stable"
        )
    return agent


def create_specialists(
    domains: list[str], make_specialist: Callable[[str], Any], cap: int, taken: set[str],
    within: str = "",
) -> tuple[list[dict[str, Any]], list[str]]:
    """Call ``make_specialist`` per domain (capped); specs and the dropped domains."""
    kept, dropped = domains[:cap], domains[cap:]
    specs: list[dict[str, Any]] = []
    names = set(taken)
    for domain in kept:
        try:
            agent = make_specialist(domain)
        except Exception as exc:
            raise RunError(
                f"make_specialist({domain!r}) raised {type(exc).__name__}: {exc}; fix the factory"
            ) from exc
        if not isinstance(agent, Agent | Pattern):
            raise RunError(
                f"make_specialist({domain!r}) returned {type(agent).__name__}, not an Agent "
                "or a Pattern"
            )
        if isinstance(agent, Pattern) and within in [p.name for p in agent.all_patterns()]:
            raise PatternError(
                f"make_specialist({domain!r}) returned a pattern containing {within!r} "
                "itself; a pattern cannot nest itself")
        if agent.name in names:
            raise RunError(
                f"make_specialist({domain!r}) returned an agent named "
                f"{agent.name!r}, a name already taken in this run; make names "
                "unique per domain (e.g. f'{domain} Specialist')"
            )
        names.add(agent.name)
        specs.append(spec_of(agent, domain))
    return specs, dropped


def _made(specs: list[dict[str, Any]], make_specialist: Callable[[str], Any]
          ) -> dict[str, list[str]]:
    """The agents created at run time -> their pattern path below the dynamic pattern (a
    created pattern's agents are in it)."""
    out: dict[str, list[str]] = {}
    for spec in specs:
        made = rebuild(spec, make_specialist) if spec.get("pattern") else None
        if isinstance(made, Pattern):
            out.update({a: list(path) for a, path in made.scopes().items()})
        else:
            out[spec["name"]] = []
    return out


def _build(pattern: Pattern) -> StateGraph[Any]:
    analyzer = pattern.agents[0]
    make_specialist = pattern.options["make_specialist"]
    cap = int(pattern.options["max_specialists"])
    graph = StateGraph(PatternState)

    def analyze_turn(state: Mapping[str, Any]) -> Any:
        return fresh_turn(analyzer, f"What expertise is needed: {request_of(state)}", state)

    def analyze_finish(state: Mapping[str, Any], res: TurnResult) -> Any:
        update = public_update(res)
        raw = output_of(res)
        domains = [
            str(d).strip()
            for d in ((raw.get("domains") or []) if isinstance(raw, dict) else [])
            if str(d).strip()
        ]
        domains = list(dict.fromkeys(domains))
        if not domains:
            update["events"] = [
                *update.get("events", []),
                {"type": "no_domains", "agent": analyzer.name},
            ]
            update["final_output"] = output_of(res)
            update["last_agent"] = analyzer.name
            return Command(goto=END, update=update)
        specs, dropped = create_specialists(domains, make_specialist, cap, {analyzer.name},
                                            within=pattern.name)
        if dropped:
            update["events"] = [
                *update.get("events", []),
                {
                    "type": "capped",
                    "agent": analyzer.name,
                    "max_specialists": cap,
                    "dropped": dropped,
                },
            ]
        update["domains"] = [s["domain"] for s in specs]
        update["specialists"] = specs
        update["made"] = _made(specs, make_specialist)
        request = request_of(state)
        return Command(
            goto=[Send(SPECIALISTS, {"spec": s, "input": request}) for s in specs], update=update
        )

    def specialist_turn(payload: Mapping[str, Any]) -> Any:
        agent = rebuild(payload["spec"], make_specialist)
        return fresh_turn(agent, payload["input"], {})

    def specialist_finish_as(name: str) -> Any:
        def finish(payload: Mapping[str, Any], res: TurnResult) -> Any:
            update = specialist_finish(payload, res)
            update["branches"] = {name: update["branches"][res.agent]}
            return update
        return finish

    def specialist_finish(payload: Mapping[str, Any], res: TurnResult) -> Any:
        update = public_update(res)
        update["branches"] = {
            res.agent: {
                "status": "ok",
                "output": output_of(res),
                "domain": payload["spec"]["domain"],
            }
        }
        return update

    def combine(state: PatternState) -> dict[str, Any]:
        if stopped(state):  # a specialist's guardrail tripped: no combined answer
            return {}
        specs = state.get("specialists") or []
        branches = state.get("branches") or {}
        parts = [str((branches.get(s["name"]) or {}).get("output", "")) for s in specs]
        return {
            "final_output": "\n\n".join(p for p in parts if p),
            "last_agent": specs[-1]["name"] if specs else analyzer.name,
        }

    graph.add_node(
        analyzer.name,
        agent_node(analyzer.name, analyze_turn, analyze_finish),
        destinations=(SPECIALISTS, END),
        metadata={"agentpatterns": inner_tools_meta(analyzer)},
    )
    agents_node = agent_node(SPECIALISTS, specialist_turn, specialist_finish)

    def run_specialist(payload: Mapping[str, Any], config: RunnableConfig) -> Any:
        made = rebuild(payload["spec"], make_specialist)
        if isinstance(made, Pattern):  # a created pattern runs as a subgraph of this task
            return pattern_node(made, specialist_turn,
                                specialist_finish_as(made.name)).invoke(payload, config)
        return agents_node.invoke(payload, config)

    async def arun_specialist(payload: Mapping[str, Any], config: RunnableConfig) -> Any:
        made = rebuild(payload["spec"], make_specialist)
        if isinstance(made, Pattern):
            return await pattern_node(made, specialist_turn,
                                      specialist_finish_as(made.name)).ainvoke(payload, config)
        return await agents_node.ainvoke(payload, config)

    graph.add_node(
        SPECIALISTS,
        RunnableCallable(run_specialist, arun_specialist, name=SPECIALISTS),
        metadata={"agentpatterns": {"kind": "dynamic"}},
    )
    graph.add_node(JOIN, combine, metadata={"agentpatterns": {"kind": "join"}})
    graph.add_edge(START, analyzer.name)
    graph.add_edge(SPECIALISTS, JOIN)
    graph.add_edge(JOIN, END)
    return graph


register("dynamic")(_build)
