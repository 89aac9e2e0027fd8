"""Integrations: the OpenAI Agents SDK, networkx, rendering. Import the submodules directly."""
