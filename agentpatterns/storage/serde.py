"""The pickle-free serializer every saver opened by :mod:`agentpatterns.storage` uses."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from agentpatterns.redaction import redact

if TYPE_CHECKING:
    from langgraph.checkpoint.serde.base import SerializerProtocol

__all__ = ["make_serde"]


def make_serde(*, allowed_types: Iterable[type | tuple[str, str]] = ()) -> SerializerProtocol:
    """The serializer every saver opened here uses: msgpack with an allow-list, never pickle.

    LangGraph's ``JsonPlusSerializer`` writes state as msgpack. Objects that are not plain
    data (a message, a pydantic model, a dataclass) are written as "construct
    ``module.Class`` with these arguments", so reading a checkpoint imports and calls
    whatever class the stored bytes name. In this LangGraph version two constructor options
    close that door:

    * ``pickle_fallback=False``: values msgpack cannot encode raise ``TypeError`` on write
      instead of being pickled, and rows tagged ``"pickle"`` raise ``NotImplementedError``
      on read instead of being unpickled.
    * ``allowed_msgpack_modules=[...]``: only the listed ``(module, class)`` pairs, plus
      LangGraph's built-in ``SAFE_MSGPACK_TYPES`` (datetime, UUID, ``Send``,
      ``Interrupt``, ``Command``, the langchain_core message classes, ...), are rebuilt
      on read; any other class comes back as its plain data (the pydantic/dataclass
      fields as a ``dict``) with a logged warning, and its code never runs. Without this
      argument the default is permissive: any class is imported (with a warning) unless
      ``LANGGRAPH_STRICT_MSGPACK`` is set.

    Our state holds langchain_core messages, plain dicts/lists/str/int/float and dumped
    ``output_type`` models, so the list below is the langchain_core message classes.
    LangGraph can widen it later: ``saver.with_allowlist({(module, name), ...})``
    returns a clone whose serializer also rebuilds those classes (``StateGraph.compile``
    does this itself for the schema's types when ``LANGGRAPH_STRICT_MSGPACK`` is set).

    Args:
        allowed_types: Extra classes (or ``(module, name)`` pairs) to rebuild on read, e.g.
            the pydantic ``output_type`` models a graph keeps in its state.

    Returns:
        A ``JsonPlusSerializer`` with pickle off and the allow-list on.
    """
    from langchain_core import messages

    allowed: set[tuple[str, str]] = set()
    for name in messages.__all__:
        cls = getattr(messages, name, None)
        if isinstance(cls, type) and issubclass(cls, messages.BaseMessage):
            allowed.add((cls.__module__, cls.__name__))
    for item in allowed_types:
        if isinstance(item, type):
            allowed.add((item.__module__, item.__qualname__))
        else:
            module, name = item
            allowed.add((module, name))
    serde: SerializerProtocol = _redacting_class()(
        pickle_fallback=False, allowed_msgpack_modules=sorted(allowed))
    return serde


@functools.cache
def _redacting_class() -> type:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    class RedactingSerializer(JsonPlusSerializer):
        """Stores an exception (a task's ``__error__`` write) as its redacted ``repr``.

        LangGraph stores a failed task's exception as ``repr(exc)``; a model server that
        echoes the API key in its 401 body would otherwise put the key in the database.
        """

        def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
            if isinstance(obj, BaseException):
                obj = redact(repr(obj))
            return super().dumps_typed(obj)

    return RedactingSerializer
