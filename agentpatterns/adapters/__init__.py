"""Integrations with the outside world: the OpenAI Agents SDK, networkx, rendering.

May import run, graphs, nodes, storage, state, events and errors; the SDK adapter and the
renderers never import each other. Import the submodules directly.
"""
