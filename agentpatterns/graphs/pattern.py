"""``Pattern``: a small, immutable, validated description of a multi-agent topology."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from agentpatterns.errors import PatternError, UnsupportedError
from agentpatterns.nodes.agent import Agent
from agentpatterns.nodes.tools import AgentTool, HostedTool

if TYPE_CHECKING:
    from langgraph.graph import StateGraph
    from langgraph.graph.state import CompiledStateGraph

__all__ = ["END_ID", "START_ID", "Edge", "EdgeKind", "Node", "NodeKind", "Participant", "Pattern",
           "register"]

NodeKind = Literal["start", "end", "agent", "tool", "interrupt", "join", "dynamic", "pattern"]
EdgeKind = Literal["handoff", "route", "sequence", "tool", "loop", "fanout", "join", "interrupt"]
START_ID = "__start__"
END_ID = "__end__"
NODE_KINDS = frozenset(NodeKind.__args__)  # type: ignore[attr-defined]
EDGE_KINDS = frozenset(EdgeKind.__args__)  # type: ignore[attr-defined]

#: pattern kind -> function building the (uncompiled) LangGraph ``StateGraph``
_BUILDERS: dict[str, Callable[[Pattern], StateGraph[Any]]] = {}
#: the turn of a pattern used as a tool (registered by ``graphs._nested``)
_TOOL_TURN: list[Callable[[Pattern, str], Any]] = []


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
            ``tool``); start, end, one node per agent and one per nested pattern are added
            automatically.
        edges: Typed edges between node ids (``__start__``/``__end__`` for start and end).
        options: Builder options (bounds, stop rules, fallback, ...).
        patterns: Nested patterns that take part as one node each (a step, a branch, a
            generator, a worker, a handoff target); each compiles to a LangGraph subgraph.
            The patterns its agents use as tools (``pattern.as_tool()``, also through
            agents used as tools) are added: they run inside their caller's node.
        description: What the pattern handles (its ``handoff_description``: how a router
            or the offline model picks it when it is a handoff target or a tool).
    """

    is_pattern: ClassVar[bool] = True

    kind: str
    agents: tuple[Agent, ...]
    entry: str
    edges: tuple[Edge, ...]
    nodes: tuple[Node, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""
    patterns: tuple[Pattern, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "agents", tuple(self.agents))
        object.__setattr__(self, "patterns", _with_tool_patterns(self.agents, self.patterns))
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
        all_nodes += [Node(id=p.name, kind="pattern", label=p.name, description=p.description)
                      for p in self.patterns]
        all_nodes += list(self.nodes)
        object.__setattr__(self, "nodes", tuple(all_nodes))
        self._validate()

    # -- lookups ---------------------------------------------------------------------------
    @property
    def handoff_description(self) -> str:
        """What the pattern handles, as an agent's ``handoff_description`` says it."""
        return self.description

    @property
    def agent_map(self) -> dict[str, Agent]:
        """Agents by name."""
        return {a.name: a for a in self.agents}

    @property
    def pattern_map(self) -> dict[str, Pattern]:
        """The directly nested patterns by name."""
        return {p.name: p for p in self.patterns}

    def participant(self, name: str) -> Participant:
        """The agent or nested pattern called ``name``."""
        nested = self.pattern_map.get(name)
        return nested if nested is not None else self.agent(name)

    def all_agents(self) -> list[Agent]:
        """Every agent of the composition, nested patterns' agents included (depth first)."""
        out = list(self.agents)
        for p in self.patterns:
            out += p.all_agents()
        return out

    def all_patterns(self) -> list[Pattern]:
        """This pattern and every pattern nested in it, at any depth (depth first)."""
        out: list[Pattern] = [self]
        for p in self.patterns:
            out += p.all_patterns()
        return out

    def scopes(self) -> dict[str, tuple[str, ...]]:
        """Each agent's pattern path: ``{"Researcher 1": ("Pipeline", "Research")}``."""
        out: dict[str, tuple[str, ...]] = {a.name: (self.name,) for a in self.agents}
        for p in self.patterns:
            out.update({a: (self.name, *path) for a, path in p.scopes().items()})
        return out

    def steps(self, path: Sequence[str], made: Mapping[str, tuple[str, ...]] | None = None
              ) -> list[tuple[str, tuple[str, ...]]]:
        """Each turn of a run's ``path`` with its pattern path.

        Args:
            path: The run's path.
            made: Agents made at run time (by a ``dynamic`` pattern) -> their pattern path,
                as the run recorded it; one not listed gets the path of the first
                ``dynamic`` pattern of the tree.
        """
        scopes = {**self.scopes(), **(made or {})}
        default = next((self.pattern_path(p.name) for p in self.all_patterns()
                        if p.kind == "dynamic"), (self.name,))
        return [(a, scopes.get(a, default)) for a in path]

    def pattern_path(self, name: str) -> tuple[str, ...]:
        """The names from this pattern down to the nested pattern ``name`` (``()`` if absent)."""
        if name == self.name:
            return (self.name,)
        for p in self.patterns:
            inner = p.pattern_path(name)
            if inner:
                return (self.name, *inner)
        return ()

    def as_tool(self, *, tool_name: str | None = None,
                tool_description: str | None = None) -> AgentTool:
        """This pattern as a tool an agent can call (hierarchical), like ``Agent.as_tool``.

        The whole pattern runs on the tool's input, inside the calling agent's node, as a
        LangGraph subgraph; its agents' turns count in the run's path, calls and budget.

        Args:
            tool_name: Name the calling model sees (default: the pattern's name in snake case).
            tool_description: When to use it (default: the pattern's ``description``).
        """
        from agentpatterns.nodes._text import snake

        return AgentTool(agent=self, name=tool_name or snake(self.name),  # type: ignore[arg-type]
                         description=tool_description or self.description or self.name)

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

    def tool_turn(self, text: str) -> Any:
        """The turn of this pattern used as a tool, on ``text`` (see :meth:`as_tool`)."""
        import agentpatterns.graphs  # noqa: F401  (registers the nested-pattern runner)

        return _TOOL_TURN[0](self, text)

    # -- validation ------------------------------------------------------------------------
    def _validate(self) -> None:
        if not self.agents and not self.patterns:
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
        self._validate_nesting()
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
                if isinstance(target, Pattern):
                    if self.pattern_map.get(target.name) is not target:
                        raise PatternError(
                            f"handoff target pattern {target.name!r} of {a.name!r} is not "
                            f"nested in pattern {self.name!r}; build it with from_agent/triage")
                    continue
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

    def _validate_nesting(self) -> None:
        """Nested patterns: distinct names, no pattern inside itself, agent names unique
        across the whole composition (a run's path names agents)."""
        for child in self.patterns:
            if not isinstance(child, Pattern):
                raise PatternError(f"pattern {self.name!r} nests {child!r}, not a Pattern")
            inner = [p.name for p in child.all_patterns()]
            if self.name in inner:
                raise PatternError(
                    f"pattern {self.name!r} contains itself (a pattern named {self.name!r} "
                    f"is nested in it, through {child.name!r}); a pattern cannot nest itself "
                    "- if they are different patterns, give each its own name (name=...)"
                    f"{_default_name_hint(self.name)}")
        # names identify nested patterns (steps, interruptions, drawings): unique tree-wide
        where: dict[str, str] = {}
        todo = [(self.name, c) for c in self.patterns]
        while todo:
            parent, p = todo.pop(0)
            todo += [(p.name, c) for c in p.patterns]
            if p.name in where:
                raise PatternError(
                    f"two nested patterns are named {p.name!r} in pattern {self.name!r} "
                    f"(in {where[p.name]!r} and in {parent!r}); pattern paths and drawings "
                    "name patterns, so give each its own name (name=...)"
                    f"{_default_name_hint(p.name)}")
            where[p.name] = parent
        owner: dict[str, str] = {a.name: self.name for a in self.agents}
        for child in self.patterns:
            for a in child.all_agents():
                if a.name in owner:
                    raise PatternError(
                        f"agent {a.name!r} appears in both {owner[a.name]!r} and nested "
                        f"pattern {child.name!r} of {self.name!r}; agent names must be unique "
                        "across a composition (clone it: agent.clone(name=...))")
                owner[a.name] = child.name

    def _is_tool_target(self, node: str) -> bool:
        return any(e.target == node and e.kind == "tool" for e in self.edges)

    def _reachable(self, origin: str, *, forward: bool, via_guardrails: bool = True) -> set[str]:
        adjacency: dict[str, list[str]] = {}
        for e in self.edges:
            if not via_guardrails and e.label in _STOPS and e.target == END_ID:
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
            _refuse_sdk_only(self.agents)
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
        result: Any = None,
    ) -> Any:
        """Draw the topology offline (SVG, PNG or Mermaid), optionally with a run on it.

        Returns the bytes, or with ``path`` the ``pathlib.Path`` written; ``thread_id=`` or
        ``result=`` overlays a run (see :func:`agentpatterns.adapters.networkx.draw`).
        """
        from agentpatterns.adapters.networkx import draw

        return draw(
            self,
            format=format,
            path=path,
            thread_id=thread_id,
            checkpointer=checkpointer,
            engine=engine,
            result=result,
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
        nested = f", patterns={[p.name for p in self.patterns]}" if self.patterns else ""
        return (
            f"Pattern(kind={self.kind!r}, name={self.name!r}, "
            f"agents={[a.name for a in self.agents]}{nested}, entry={self.entry!r})"
        )


#: What takes part in a pattern: an agent, or a whole pattern (one node, a subgraph).
Participant = Agent | Pattern


def _guardrail_edges(pattern: Pattern) -> tuple[Edge, ...]:
    """A ``route`` edge labelled ``guardrail`` to the end from every agent with guardrails:
    a tripped wire stops the run there (see :mod:`agentpatterns.nodes.guardrails`)."""
    have = {e.source for e in pattern.edges if e.target == END_ID and e.label in _STOPS}
    out = [Edge(source=a.name, target=END_ID, kind="route", label="guardrail")
           for a in pattern.agents
           if (a.input_guardrails or a.output_guardrails) and a.name not in have]
    # a nested pattern that can stop (a guardrail, a rejected plan) stops its parent too
    out += [Edge(source=p.name, target=END_ID, kind="route", label="stopped")
            for p in pattern.patterns if may_stop(p) and p.name not in have]
    return tuple(out)


#: labels of the edges a stopped run takes to the end (no way to *finish*: see _validate)
_STOPS = ("guardrail", "stopped")


def may_stop(participant: Agent | Pattern) -> bool:
    """True when a turn of ``participant`` may stop the run (a guardrail, a rejection)."""
    from agentpatterns.nodes.guardrails import can_trip

    if isinstance(participant, Agent):
        return can_trip(participant)
    return any(p.kind == "human_approval" for p in participant.all_patterns()) or any(
        can_trip(a) for a in participant.all_agents())


def _with_tool_patterns(agents: Sequence[Agent], patterns: Iterable[Pattern]
                        ) -> tuple[Pattern, ...]:
    """``patterns`` plus the patterns ``agents`` use as tools (through their agents used as
    tools too), each once: they are nested in the pattern as much as a step is."""
    out = list(patterns)
    seen: set[int] = set()
    todo = list(agents)
    while todo:
        agent = todo.pop(0)
        if id(agent) in seen:
            continue
        seen.add(id(agent))
        for t in agent.tools:
            inner = t.agent if isinstance(t, AgentTool) else None
            if isinstance(inner, Pattern):
                if all(p is not inner for p in out):
                    out.append(inner)
            elif isinstance(inner, Agent):
                todo.append(inner)
    return tuple(out)


def _default_name_hint(name: str) -> str:
    """Say so when a clashing name is a builder's default (its kind)."""
    if name in _BUILDERS:
        return f" ({name!r} is the default name of a {name} pattern)"
    return ""


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
        # a nested pattern is one participant: its agents are its own
        todo.extend(t for t in agent.handoffs if isinstance(t, Agent))
        todo.extend(t.agent for t in agent.tools
                    if isinstance(t, AgentTool) and isinstance(t.agent, Agent))
    return out


def _refuse_sdk_only(agents: Sequence[Agent]) -> None:
    """Hosted tools and MCP servers run only on the OpenAI Agents SDK runtime.

    Raises:
        UnsupportedError: Naming the agent and the tool or server.
    """
    for a in agents:
        for t in a.tools:
            if isinstance(t, HostedTool):
                raise UnsupportedError(
                    f"agent {a.name!r}: the hosted tool {t.name!r} ({t.kind}) runs on the "
                    "model provider's side, which the LangGraph runtime cannot call; run the "
                    "pattern with run_sdk(...), or replace it with a function tool")
        if a.mcp_servers:
            names = ", ".join(repr(getattr(s, "name", type(s).__name__)) for s in a.mcp_servers)
            raise UnsupportedError(
                f"agent {a.name!r}: MCP servers ({names}) run only on the OpenAI Agents SDK "
                "runtime; run the pattern with run_sdk(...), or expose their tools as "
                "function tools")
