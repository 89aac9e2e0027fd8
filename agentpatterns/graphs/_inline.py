"""A one-step child graph run inside its parent's task, without a Pregel loop of its own.

A nested pattern is one node of its parent whose runnable is the child's compiled graph.
Invoking that graph starts a second Pregel loop for every parent step: fresh channels for
the whole state schema, an input checkpoint and a step checkpoint under the task's
namespace, the stream and callback machinery - a few milliseconds, most of what nesting
cost at 0 ms models (bench/README.md, "The cost of nesting").

Those checkpoints protect nothing when the child is **one step that cannot interrupt** (a
``sequential([agent])``, a ``from_agent(agent)`` without handoffs): there is no point
inside it to resume from. A crash during its step re-runs the step, exactly as a flat
graph re-runs an agent's node, and the turn journal replays the step's completed model and
tool calls. So such a child runs here: its one node (the same ``PregelNode``, its writers
included) is invoked in the parent's task on channels made from the child's own specs, and
its writes are applied with the child's reducers - what the child's loop would have
returned, with no checkpoint of its own. The node runs as part of the **parent's** task (its
config keeps the parent task's id and checkpoint namespace), so its turn journals under the
task whose checkpoint a re-run starts from - the durability of a flat graph's agent node -
and an ``interrupt()`` a tool makes in it is that task's interrupt (resumed like one). Only
what it streams names the child (:class:`_Writer`), so progress events still say which
nested pattern they come from.

Which children qualify (:func:`inline_child`): the compiled graph has exactly one node, it
is entered from ``START`` and leads only to ``END``, the schema has no managed values, the
node is an agent or a nested pattern that qualifies too, and no part of the child can pause
the run (a ``human_approval`` inside, a tool with ``needs_approval``): a child that can be
resumed inside keeps its own loop and checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import var_child_runnable_config
from langgraph._internal._constants import (
    CONF,
    CONFIG_KEY_CHECKPOINT_NS,
    CONFIG_KEY_READ,
    CONFIG_KEY_RUNTIME,
    CONFIG_KEY_SCRATCHPAD,
    CONFIG_KEY_SEND,
    CONFIG_KEY_TASK_ID,
    NS_END,
    NS_SEP,
    RESUME,
)
from langgraph._internal._typing import MISSING
from langgraph.channels.base import BaseChannel
from langgraph.constants import END, START
from langgraph.pregel._algo import PregelTaskWrites, local_read
from langgraph.pregel._io import read_channels

from agentpatterns.errors import PatternError
from agentpatterns.graphs.pattern import Pattern

__all__ = ["STREAM_NS", "InlineChild", "can_pause", "inline_child", "inline_node"]

#: configurable key: the namespace an inline child's stream chunks are reported under
STREAM_NS = "__agentpatterns_stream_ns__"

Channel = BaseChannel[Any, Any, Any]


def can_pause(pattern: Pattern) -> bool:
    """True if something inside ``pattern`` can stop the run to be resumed later."""
    if any(p.kind == "human_approval" for p in pattern.all_patterns()):
        return True
    return any(getattr(tool, "needs_approval", False) is not False
               for agent in pattern.all_agents() for tool in agent.tools)


def inline_node(graph: Any) -> str | None:
    """The name of ``graph``'s only node if the graph always runs in one step, else None."""
    builder = getattr(graph, "builder", None)
    nodes = [n for n in getattr(graph, "nodes", {}) if n != START]
    if builder is None or len(nodes) != 1 or getattr(builder, "managed", None):
        return None
    node = nodes[0]
    if not set(builder.edges) <= {(START, node), (node, END)} or builder.waiting_edges:
        return None
    if (START, node) not in builder.edges:
        return None
    for source, branches in builder.branches.items():
        for branch in branches.values():
            ends = set((branch.ends or {}).values()) if branch.ends is not None else None
            if source != node or ends is None or not ends <= {END}:
                return None
    spec = builder.nodes[node]
    if spec.ends and not set(spec.ends) <= {END}:
        return None
    return str(node)


class InlineChild:
    """Runs a one-step child graph's node in the calling task (see the module docstring)."""

    def __init__(self, graph: Any, node: str) -> None:
        self.graph = graph
        self.node = node
        self.proc = graph.nodes[node]
        self.specs: dict[str, Channel] = {
            k: v for k, v in graph.channels.items() if k in graph.builder.channels}
        self.output = list(graph.output_channels) if not isinstance(
            graph.output_channels, str) else [graph.output_channels]

    def _start(self, payload: Mapping[str, Any], config: RunnableConfig) -> tuple[
            dict[str, Channel], Any, list[tuple[str, Any]], RunnableConfig]:
        channels = {k: spec.from_checkpoint(MISSING) for k, spec in self.specs.items()}
        for key, value in payload.items():
            if key not in channels:
                raise PatternError(f"nested pattern {self.graph.name!r}: no state key {key!r}")
            channels[key].update([value])
        state = read_channels(channels, self.proc.channels)
        if self.proc.mapper is not None:
            state = self.proc.mapper(state)
        writes: list[tuple[str, Any]] = []
        conf = config.get(CONF) or {}
        parent_send = conf.get(CONFIG_KEY_SEND)

        def send(items: Any) -> None:
            for channel, value in items:
                if channel == RESUME and parent_send is not None:
                    parent_send([(channel, value)])  # an interrupt() answered: the task's
                else:
                    writes.append((channel, value))

        base = str(conf.get(STREAM_NS) or conf.get(CONFIG_KEY_CHECKPOINT_NS, ""))
        own = f"{self.node}{NS_END}{conf.get(CONFIG_KEY_TASK_ID, '')}"
        stream_ns = f"{base}{NS_SEP}{own}" if base else own
        task = PregelTaskWrites((), self.node, writes, ())
        scratchpad: Any = conf.get(CONFIG_KEY_SCRATCHPAD)
        patched: dict[str, Any] = {
            CONFIG_KEY_SEND: send, STREAM_NS: stream_ns,
            CONFIG_KEY_READ: lambda select, fresh=False: local_read(
                scratchpad, channels, {}, task, select, fresh)}
        runtime = conf.get(CONFIG_KEY_RUNTIME)
        if runtime is not None:
            patched[CONFIG_KEY_RUNTIME] = runtime.override(
                stream_writer=_Writer(runtime.stream_writer, stream_ns))
        metadata = {**(config.get("metadata") or {}), "langgraph_node": self.node,
                    "langgraph_checkpoint_ns": stream_ns}
        child: RunnableConfig = {**config, "metadata": metadata, CONF: {**conf, **patched}}
        return channels, state, writes, child

    def _finish(self, channels: dict[str, Channel],
                writes: list[tuple[str, Any]]) -> dict[str, Any]:
        grouped: dict[str, list[Any]] = {}
        for channel, value in writes:
            if channel not in channels:  # a route or a Send: not a one-step graph after all
                raise PatternError(
                    f"nested pattern {self.graph.name!r} wrote {channel!r} from its only "
                    "node; it cannot run as one step")
            grouped.setdefault(channel, []).append(value)
        for channel, values in grouped.items():
            channels[channel].update(values)
        return read_channels(channels, self.output)

    def invoke(self, payload: Mapping[str, Any], config: RunnableConfig) -> dict[str, Any]:
        """The child's final state after its one step, as ``graph.invoke`` returns it."""
        channels, state, writes, child = self._start(payload, config)
        self.proc.node.invoke(state, child)
        return self._finish(channels, writes)

    async def ainvoke(self, payload: Mapping[str, Any],
                      config: RunnableConfig) -> dict[str, Any]:
        """``invoke`` for async runs."""
        channels, state, writes, child = self._start(payload, config)
        await self.proc.node.ainvoke(state, child)
        return self._finish(channels, writes)


class _Writer:
    """A stream writer that reports chunks under the inline child's namespace: LangGraph's
    writers take the namespace from the running config's ``checkpoint_ns``, which stays the
    parent task's."""

    def __init__(self, writer: Any, namespace: str) -> None:
        self.writer: Any = writer.writer if isinstance(writer, _Writer) else writer
        self.namespace = namespace

    def __call__(self, chunk: Any) -> None:
        current = var_child_runnable_config.get() or {}
        token = var_child_runnable_config.set({**current, CONF: {
            **(current.get(CONF) or {}), CONFIG_KEY_CHECKPOINT_NS: self.namespace}})
        try:
            self.writer(chunk)
        finally:
            var_child_runnable_config.reset(token)


def inline_child(pattern: Pattern, graph: Any,
                 qualifies: Callable[[Pattern], bool]) -> InlineChild | None:
    """An :class:`InlineChild` for ``pattern``'s compiled ``graph`` if it qualifies
    (``qualifies(p)`` says whether a nested pattern ``p`` that is the only node does)."""
    node = inline_node(graph)
    if node is None or can_pause(pattern):
        return None
    inner = next((p for p in pattern.patterns if p.name == node), None)
    if inner is not None and not qualifies(inner):
        return None  # its node runs a child with a loop of its own: keep this one's too
    return InlineChild(graph, node)
