"""``Pattern``: a small, immutable, validated description of a multi-agent topology."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from agentpatterns.errors import PatternError
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.tools import AgentTool, FunctionTool

if TYPE_CHECKING:
    from langgraph.graph import StateGraph
    from langgraph.graph.state import CompiledStateGraph

__all__ = ["END_ID", "START_ID", "Edge", "EdgeKind", "Node", "NodeKind", "Pattern", "register"]

NodeKind = Literal["start", "end", "agent", "tool", "interrupt", "join", "dynamic"]
EdgeKind = Literal["handoff", "route", "sequence", "tool", "loop", "fanout", "join", "interrupt"]
START_ID = "__start__"
END_ID = "__end__"
NODE_KINDS = frozenset(NodeKind.__args__)  # type: ignore[attr-defined]
EDGE_KINDS = frozenset(EdgeKind.__args__)  # type: ignore[attr-defined]

#: pattern kind -> function building the (uncompiled) LangGraph ``StateGraph``
_BUILDERS: dict[str, Callable[[Pattern], StateGraph[Any]]] = {}


def register(
    kind: str,
) -> Callable[[Callable[[Pattern], StateGraph[Any]]], Callable[[Pattern], StateGraph[Any]]]:
    """Register the graph builder of a pattern kind (used by the pattern modules)."""

    def wrap(fn: Callable[[Pattern], StateGraph[Any]]) -> Callable[[Pattern], StateGraph[Any]]:
        _BUILDERS[kind] = fn
        return fn

    return wrap


@dataclass(frozen=True, kw_only=True)
class Node:
    """A node of the topology: the start, the end, an agent, or a structural node."""

    id: str
    kind: NodeKind
    label: str = ""
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class Edge:
    """A typed edge: how control may pass from ``source`` to ``target``.

    Attributes:
        label: The condition (``"approved"``, ``"no handoff"``) or bound text.
        bound: For ``loop`` edges, the most times the loop may be taken.
    """

    source: str
    target: str
    kind: EdgeKind
    label: str = ""
    bound: int | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class Pattern:
    """A validated topology: agents, the entry, structural nodes and typed edges.

    Build one with a pattern builder (``triage``, ``sequential``, ``reflection``, ...) or
    ``from_agent``. ``compile()`` turns it into an ordinary LangGraph graph.

    Attributes:
        kind: The builder that made it (``"triage"``, ``"reflection"``, ...).
        name: Display name (defaults to the kind).
        agents: Every agent of the pattern (names unique).
        entry: The node the run starts at.
        nodes: Structural nodes besides the agents (``join``, ``interrupt``, ``dynamic``,
            ``tool``); start, end and one node per agent are added automatically.
        edges: Typed edges between node ids (``__start__``/``__end__`` for start and end).
        options: Builder options (bounds, stop rules, fallback, ...).
    """

    kind: str
    agents: tuple[Agent, ...]
    entry: str
    edges: tuple[Edge, ...]
    nodes: tuple[Node, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "agents", tuple(self.agents))
        object.__setattr__(self, "edges", tuple(self.edges) + _guardrail_edges(self))
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))
        object.__setattr__(self, "name", self.name or self.kind)
        all_nodes = [
            Node(id=START_ID, kind="start", label="start"),
            Node(id=END_ID, kind="end", label="end"),
        ]
        all_nodes += [
            Node(
                id=a.name,
                kind="agent",
                label=a.name,
                description=a.handoff_description or _first_line(a),
            )
            for a in self.agents
        ]
        all_nodes += list(self.nodes)
        object.__setattr__(self, "nodes", tuple(all_nodes))
        self._validate()

    # -- lookups ---------------------------------------------------------------------------
    @property
    def agent_map(self) -> dict[str, Agent]:
        """Agents by name."""
        return {a.name: a for a in self.agents}

    def agent(self, name: str) -> Agent:
        """The agent called ``name`` (``KeyError`` naming the known agents otherwise)."""
        for a in self.agents:
            if a.name == name:
                return a
        raise KeyError(
            f"no agent {name!r} in pattern {self.name!r}; "
            f"agents: {', '.join(a.name for a in self.agents)}"
        )

    def out_edges(self, node: str, *kinds: str) -> list[Edge]:
        """Edges leaving ``node`` (optionally only of the given kinds)."""
        return [e for e in self.edges if e.source == node and (not kinds or e.kind in kinds)]

    # -- validation ------------------------------------------------------------------------
    def _validate(self) -> None:
        if not self.agents:
            raise PatternError(f"pattern {self.name!r} has no agents; give it at least one Agent")
        seen: dict[str, Agent] = {}
        for a in self.agents:
            if a.name in seen and seen[a.name] is not a:
                raise PatternError(
                    f"two different agents are named {a.name!r} in pattern {self.name!r}; "
                    "agent names must be unique (rename one)"
                )
            seen[a.name] = a
        if len(seen) != len(self.agents):
            raise PatternError(f"an agent appears twice in pattern {self.name!r}")
        ids = [n.id for n in self.nodes]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise PatternError(
                f"node id {sorted(dup)[0]!r} is used twice in pattern "
                f"{self.name!r}; rename the agent or the structural node"
            )
        known = set(ids)
        if self.entry not in known:
            raise PatternError(f"entry {self.entry!r} is not a node of pattern {self.name!r}")
        for a in self.agents:
            for target in a.handoffs:
                if target.name not in seen:
                    raise PatternError(
                        f"handoff target {target.name!r} of {a.name!r} is not an agent of this "
                        "pattern; add it or remove the handoff"
                    )
                if seen[target.name] is not target:
                    raise PatternError(
                        f"handoff target {target.name!r} of {a.name!r} is a different Agent "
                        f"object than the pattern's {target.name!r}; use one object per agent"
                    )
        for e in self.edges:
            for end in (e.source, e.target):
                if end not in known:
                    raise PatternError(
                        f"edge {e.source!r} -> {e.target!r} ({e.kind}) names {end!r}, which is "
                        f"not a node of pattern {self.name!r}; add the agent or fix the edge"
                    )
            if e.kind not in EDGE_KINDS:
                raise PatternError(f"edge {e.source!r} -> {e.target!r} has unknown kind {e.kind!r}")
            if e.kind == "loop" and (e.bound is None or e.bound < 1):
                raise PatternError(
                    f"loop {e.source!r} -> {e.target!r} has no bound; give it a positive bound "
                    "(e.g. iterations=3) so a run cannot cycle forever"
                )
        reach = self._reachable(START_ID, forward=True)
        for n in self.nodes:
            if n.id not in reach and n.kind != "end":
                raise PatternError(
                    f"{n.kind} {n.id!r} is unreachable from the entry {self.entry!r} in pattern "
                    f"{self.name!r}; hand off to it from a reachable agent or remove it"
                )
        # a guardrail's stop is no way to finish: it must not hide a real dead end
        back = self._reachable(END_ID, forward=False, via_guardrails=False)
        for n in self.nodes:
            if (
                n.id not in back
                and n.kind not in ("end", "tool")
                and not self._is_tool_target(n.id)
            ):
                raise PatternError(
                    f"{n.kind} {n.id!r} is a dead end in pattern {self.name!r}: no path from it "
                    "reaches the end; give it an edge onward or to the end"
                )

    def _is_tool_target(self, node: str) -> bool:
        return any(e.target == node and e.kind == "tool" for e in self.edges)

    def _reachable(self, origin: str, *, forward: bool, via_guardrails: bool = True) -> set[str]:
        adjacency: dict[str, list[str]] = {}
        for e in self.edges:
            if not via_guardrails and e.label == "guardrail" and e.target == END_ID:
                continue
            a, b = (e.source, e.target) if forward else (e.target, e.source)
            adjacency.setdefault(a, []).append(b)
        seen, todo = {origin}, [origin]
        while todo:
            for nxt in adjacency.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    # -- backends --------------------------------------------------------------------------
    def graph(self) -> StateGraph[Any]:
        """The uncompiled LangGraph ``StateGraph`` (built once per pattern)."""
        cached = self.__dict__.get("_graph")
        if cached is None:
            import agentpatterns.graphs  # noqa: F401  (registers every builder)

            try:
                builder = _BUILDERS[self.kind]
            except KeyError:
                raise PatternError(f"no graph builder for pattern kind {self.kind!r}") from None
            cached = builder(self)
            object.__setattr__(self, "_graph", cached)
        return cached

    def compile(
        self, *, checkpointer: Any = None, store: Any = None, **kwargs: Any
    ) -> CompiledStateGraph[Any, Any, Any, Any]:
        """Compile to a LangGraph ``CompiledStateGraph``.

        Args:
            checkpointer: A saver object, or a URL (``memory``, ``sqlite:///path``,
                ``postgresql://...``). A URL opens a saver that lives as long as the graph.
            store: A ``BaseStore`` or a URL (long-term memory).
            **kwargs: Passed to ``StateGraph.compile`` (``interrupt_before``, ``debug``...).
        """
        from agentpatterns.storage import checkpointer_for_graph, store_for_graph

        return self.graph().compile(
            checkpointer=checkpointer_for_graph(checkpointer),
            store=store_for_graph(store),
            name=self.name,
            **kwargs,
        )

    def check(self) -> Any:
        """Static analysis of the topology (reachability, cycles and bounds, max model calls)."""
        from agentpatterns.graphs.analysis import analyze

        return analyze(self)

    def to_networkx(self) -> Any:
        """The topology as an ``nx.DiGraph`` (every node and edge has a ``kind``)."""
        from agentpatterns.graphs.topology import to_networkx

        return to_networkx(self)

    def to_mermaid(self, **kwargs: Any) -> str:
        """Mermaid flowchart text of the topology."""
        from agentpatterns.adapters.render import to_mermaid

        return to_mermaid(self.to_networkx(), **kwargs)

    def draw(
        self,
        format: str | None = None,
        path: str | None = None,
        *,
        thread_id: str | None = None,
        checkpointer: Any = None,
        engine: str = "auto",
    ) -> bytes:
        """Draw the topology offline (SVG or PNG), optionally overlaying a run's path."""
        from agentpatterns.adapters.networkx import draw

        return draw(
            self,
            format=format,
            path=path,
            thread_id=thread_id,
            checkpointer=checkpointer,
            engine=engine,
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        try:
            svg = self.draw("svg").decode()
        except Exception:  # a display hook must never raise in a notebook
            svg = None
        bundle: dict[str, Any] = {"text/plain": repr(self)}
        if svg:
            bundle["image/svg+xml"] = svg
        return bundle

    def __repr__(self) -> str:
        return (
            f"Pattern(kind={self.kind!r}, agents={[a.name for a in self.agents]}, "
            f"entry={self.entry!r})"
        )


def _guardrail_edges(pattern: Pattern) -> tuple[Edge, ...]:
    """A ``route`` edge labelled ``guardrail`` to the end from every agent with guardrails:
    a tripped wire stops the run there (see :mod:`agentpatterns.nodes.guardrails`)."""
    have = {e.source for e in pattern.edges if e.target == END_ID and e.label == "guardrail"}
    return tuple(Edge(source=a.name, target=END_ID, kind="route", label="guardrail")
                 for a in pattern.agents
                 if (a.input_guardrails or a.output_guardrails) and a.name not in have)


def _first_line(agent: Agent) -> str:
    text = agent.instructions if isinstance(agent.instructions, str) else ""
    return text.strip().splitlines()[0] if text.strip() else ""


def collect_agents(roots: Iterable[Agent]) -> list[Agent]:
    """The agents reachable from ``roots`` through handoffs and agents used as tools."""
    out: list[Agent] = []
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        agent = todo.pop(0)
        if id(agent) in seen:
            continue
        seen.add(id(agent))
        out.append(agent)
        todo.extend(agent.handoffs)
        todo.extend(t.agent for t in agent.tools if isinstance(t, AgentTool))
    return out


def tool_nodes_and_edges(agents: Sequence[Agent]) -> tuple[list[Node], list[Edge]]:
    """``tool`` nodes for function tools and ``tool`` edges for tools and agents-as-tools."""
    nodes: list[Node] = []
    edges: list[Edge] = []
    for a in agents:
        for t in a.tools:
            if isinstance(t, AgentTool):
                edges.append(Edge(source=a.name, target=t.agent.name, kind="tool", label=t.name))
            elif isinstance(t, FunctionTool):
                node_id = f"{a.name}:{t.name}"
                nodes.append(Node(id=node_id, kind="tool", label=t.name, description=t.description))
                edges.append(Edge(source=a.name, target=node_id, kind="tool", label=t.name))
    return nodes, edges
