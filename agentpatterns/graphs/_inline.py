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
    CONFIG_KEY_STREAM,
    CONFIG_KEY_TASK_ID,
    NS_END,
    NS_SEP,
    RESUME,
)
from langgraph._internal._typing import MISSING
from langgraph.channels.base import BaseChannel
from langgraph.constants import END, START
from langgraph.pregel._algo import PregelTaskWrites, local_read
from langgraph.pregel._io import map_output_updates
from langgraph.pregel.debug import map_debug_task_results, map_debug_tasks

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


def _empty(value: Any) -> Callable[[], Any]:
    """A maker of ``value`` (a fresh one each time when it is a container)."""
    if isinstance(value, (list, dict, set)):
        return type(value)
    return lambda: value


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
        # what an unwritten channel reads as (a reducer's empty list/dict/0; absent for a
        # plain value): channels are made only for the keys a run writes
        self.empty: dict[str, Callable[[], Any]] = {}
        for key, spec in self.specs.items():
            fresh = spec.from_checkpoint(MISSING)
            if fresh.is_available():
                self.empty[key] = _empty(fresh.get())

    def read(self, channels: Mapping[str, Channel], keys: Any) -> dict[str, Any]:
        """``read_channels(all channels, keys)`` without making the unwritten ones."""
        out: dict[str, Any] = {}
        for key in keys:
            channel = channels.get(key)
            if channel is not None:
                if channel.is_available():
                    out[key] = channel.get()
            elif key in self.empty:
                out[key] = self.empty[key]()
        return out

    def channel(self, channels: dict[str, Channel], key: str) -> Channel:
        """The run's channel ``key`` (made on first write)."""
        channel = channels.get(key)
        if channel is None:
            channel = channels[key] = self.specs[key].from_checkpoint(MISSING)
        return channel

    def _start(self, payload: Mapping[str, Any], config: RunnableConfig) -> _Step:
        channels: dict[str, Channel] = {}
        for key, value in payload.items():
            if key not in self.specs:
                raise PatternError(f"nested pattern {self.graph.name!r}: no state key {key!r}")
            self.channel(channels, key).update([value])
        step = _Step(self, channels, config)
        if step.stream is not None:
            step.emit("values", self.read(channels, self.output))
            step.emit("tasks", next(map_debug_tasks([step.task_view]), None))
        return step

    def invoke(self, payload: Mapping[str, Any], config: RunnableConfig) -> dict[str, Any]:
        """The child's final state after its one step, as ``graph.invoke`` returns it."""
        step = self._start(payload, config)
        self.proc.node.invoke(step.task.input, step.task.config)
        return step.finish()

    async def ainvoke(self, payload: Mapping[str, Any],
                      config: RunnableConfig) -> dict[str, Any]:
        """``invoke`` for async runs."""
        step = self._start(payload, config)
        await self.proc.node.ainvoke(step.task.input, step.task.config)
        return step.finish()


class _Task:
    """What LangGraph's stream mappers read of a task."""

    __slots__ = ("config", "id", "input", "name", "triggers", "writes")

    def __init__(self, name: str, id: str, input: Any, config: RunnableConfig,
                 writes: list[tuple[str, Any]]) -> None:
        self.name, self.id, self.input, self.config = name, id, input, config
        self.triggers: tuple[str, ...] = (f"branch:to:{name}",)
        self.writes = writes


class _Step:
    """One run of an inline child's node: its channels, config, writes and stream.

    The node runs in the parent's task: its config keeps that task's id, checkpoint
    namespace and scratchpad; it gets its own ``send`` (its writes are the child's, an
    interrupt's resume record is the task's) and ``read``. When the run is streamed with
    ``subgraphs=True``, what the child's loop would stream under its namespace is streamed
    too (``values``, ``tasks``, ``updates``; there are no ``checkpoints``).
    """

    def __init__(self, child: InlineChild, channels: dict[str, Channel],
                 config: RunnableConfig) -> None:
        self.child, self.channels = child, channels
        proc = child.proc
        state = child.read(channels, proc.channels)
        if proc.mapper is not None:
            state = proc.mapper(state)
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
        task_id = str(conf.get(CONFIG_KEY_TASK_ID, ""))
        own = f"{child.node}{NS_END}{task_id}"
        stream_ns = f"{base}{NS_SEP}{own}" if base else own
        read_task = PregelTaskWrites((), child.node, writes, ())
        scratchpad: Any = conf.get(CONFIG_KEY_SCRATCHPAD)
        patched: dict[str, Any] = {
            CONFIG_KEY_SEND: send, STREAM_NS: stream_ns,
            CONFIG_KEY_READ: lambda select, fresh=False: local_read(
                scratchpad, self.all_channels(), {}, read_task, select, fresh)}
        runtime = conf.get(CONFIG_KEY_RUNTIME)
        if runtime is not None:
            patched[CONFIG_KEY_RUNTIME] = runtime.override(
                stream_writer=_Writer(runtime.stream_writer, stream_ns))
        metadata = {**(config.get("metadata") or {}), **(proc.metadata or {}),
                    "langgraph_node": child.node, "langgraph_checkpoint_ns": stream_ns}
        node_config: RunnableConfig = {**config, "metadata": metadata,
                                       CONF: {**conf, **patched}}
        if proc.tags:
            node_config["tags"] = [*(config.get("tags") or ()), *proc.tags]
        self.task = _Task(child.node, task_id, state, node_config, writes)
        #: the task as LangGraph's stream mappers take it (they read only these fields)
        self.task_view: Any = self.task
        self.stream: Any = conf.get(CONFIG_KEY_STREAM)
        self.namespace = tuple(base.split(NS_SEP)) if base else ()

    def all_channels(self) -> dict[str, Channel]:
        """Every channel of the child (for a conditional edge's read)."""
        for key in self.child.specs:
            self.child.channel(self.channels, key)
        return self.channels

    def emit(self, mode: str, chunk: Any) -> None:
        """Stream ``chunk`` as the child's loop would (only when the run streams subgraphs)."""
        if chunk is not None and self.stream is not None and mode in self.stream.modes:
            self.stream((self.namespace, mode, chunk))

    def finish(self) -> dict[str, Any]:
        """Apply the node's writes with the child's reducers; the child's final values."""
        channels, writes = self.channels, self.task.writes
        grouped: dict[str, list[Any]] = {}
        for channel, value in writes:
            if channel not in self.child.specs:  # a route or a Send: not one step after all
                raise PatternError(
                    f"nested pattern {self.child.graph.name!r} wrote {channel!r} from its "
                    "only node; it cannot run as one step")
            grouped.setdefault(channel, []).append(value)
        if self.stream is not None:
            for update in map_output_updates(self.child.output, [(self.task_view, writes)]):
                self.emit("updates", update)
            self.emit("tasks", next(map_debug_task_results(
                (self.task_view, writes), self.child.output), None))
        for channel, values in grouped.items():
            self.child.channel(channels, channel).update(values)
        final = self.child.read(channels, self.child.output)
        if self.stream is not None:
            self.emit("values", final)
        return final


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
