"""The seed's examples as built-in patterns (CLI, notebooks, parity tests, benchmarks).

Each builder function makes fresh agents, exactly as written in the seed document, and
returns the pattern. ``EXAMPLES`` maps the built-in name to ``(builder, sample request)``;
``COMPOSITIONS`` does the same for the built-in compositions (patterns nested in patterns).
"""

from __future__ import annotations

from collections.abc import Callable

from agentpatterns.graphs import (
    Pattern,
    dynamic,
    hierarchical,
    human_approval,
    memory,
    parallel,
    reflection,
    sequential,
    supervisor,
    triage,
)
from agentpatterns.nodes.agent import Agent

__all__ = ["COMPOSITIONS", "EXAMPLES", "example", "example_names"]


def triage_example() -> Pattern:
    """Triage: a central agent routes to the booking or the support specialist."""
    specialist1 = Agent(
        name="Booking Agent",
        handoff_description="Handles all booking and reservation requests",
        instructions="Help users book appointments and reservations",
    )
    specialist2 = Agent(
        name="Support Agent",
        handoff_description="Handles customer support and troubleshooting",
        instructions="Help users with technical issues and questions",
    )
    router = Agent(
        name="Triage Agent",
        instructions="Route users to the appropriate specialist based on their needs",
        handoffs=[specialist1, specialist2],
    )
    return triage(router)


def sequential_example() -> Pattern:
    """Sequential: researcher -> writer -> editor, each handing off to the next."""
    editor = Agent(name="Editor", instructions="Edit and polish the content")
    writer = Agent(name="Writer", instructions="Write based on research, then hand off to editor",
                   handoffs=[editor])
    researcher = Agent(name="Researcher",
                       instructions="Research the topic thoroughly, then hand off to writer",
                       handoffs=[writer])
    return sequential([researcher, writer, editor])


def hierarchical_example() -> Pattern:
    """Hierarchical: an orchestrator uses the SQL and Python experts as tools."""
    specialist1 = Agent(name="SQL Expert", instructions="Write SQL queries")
    specialist2 = Agent(name="Python Expert", instructions="Write Python code")
    orchestrator = Agent(
        name="Orchestrator",
        instructions="Coordinate specialists to solve complex tasks",
        tools=[
            specialist1.as_tool(tool_name="sql_expert",
                                tool_description="Use for database queries"),
            specialist2.as_tool(tool_name="python_expert",
                                tool_description="Use for Python coding tasks"),
        ],
    )
    return hierarchical(orchestrator)


def supervisor_example() -> Pattern:
    """Supervisor: assigns tasks to two workers, collects their reports, aggregates."""
    worker1 = Agent(name="Worker 1", instructions="Process data")
    worker2 = Agent(name="Worker 2", instructions="Analyze results")
    boss = Agent(
        name="Supervisor",
        instructions="You manage worker agents.\n- Assign tasks to workers\n"
                     "- Monitor progress\n- Aggregate results",
    )
    return supervisor(boss, [worker1, worker2], max_rounds=4)


def reflection_example() -> Pattern:
    """Reflection: generator and critic, three rounds, stopping early on approval."""
    generator = Agent(name="Generator", instructions="Generate content")
    critic = Agent(name="Critic", instructions="Review content and provide feedback")
    return reflection(generator, critic, iterations=3, stop_when=_approved)


def _approved(feedback: str) -> bool:
    return "APPROVED" in feedback


def parallel_example() -> Pattern:
    """Parallel: three researchers at once, then a synthesizer."""
    agents = [
        Agent(name="Researcher 1", instructions="Research topic A"),
        Agent(name="Researcher 2", instructions="Research topic B"),
        Agent(name="Researcher 3", instructions="Research topic C"),
    ]
    synthesizer = Agent(name="Synthesizer", instructions="Combine research")
    return parallel(agents, synthesizer)


def create_specialist(domain: str) -> Agent:
    """The seed's specialist factory."""
    return Agent(name=f"{domain.title()} Specialist", instructions=f"You are an expert in {domain}")


def dynamic_example() -> Pattern:
    """Dynamic: the analyzer names domains; one specialist is created per domain."""
    analyzer = Agent(name="Analyzer", instructions="Determine required expertise")
    return dynamic(analyzer, create_specialist, max_specialists=5)


def memory_example() -> Pattern:
    """Memory: an expert that learns from past conversations."""
    expert = Agent(name="Expert",
                   instructions="You are an expert that learns from past conversations")
    return memory(expert)


def human_approval_example() -> Pattern:
    """Human approval: a plan is shown to a person before the executor acts."""
    planner = Agent(name="Planner", instructions="Create detailed plan")
    executor = Agent(name="Executor", instructions="Execute plan precisely")
    return human_approval(planner, executor)


EXAMPLES: dict[str, tuple[Callable[[], Pattern], str]] = {
    "triage": (triage_example, "I need to book a table for two tonight"),
    "sequential": (sequential_example, "The history of the printing press"),
    "hierarchical": (hierarchical_example, "Write SQL queries to count orders per customer"),
    "supervisor": (supervisor_example, "Process the sales data and analyze the results"),
    "reflection": (reflection_example, "A short poem about the sea"),
    "parallel": (parallel_example, "Renewable energy storage"),
    "dynamic": (dynamic_example, "I need advice on tax law and accounting"),
    "memory": (memory_example, "My favourite colour is teal."),
    "human_approval": (human_approval_example, "Migrate the customer database to PostgreSQL"),
}


def research_pipeline_example() -> Pattern:
    """A composition: parallel research -> a writer/critic reflection loop -> an editor.

    At most 3 branches + synthesizer + 2 iterations x (writer + critic) + editor = 9 model
    calls (``check().max_model_calls``).
    """
    researchers = [Agent(name=f"Researcher {i}", instructions=f"Research topic {t}")
                   for i, t in ((1, "A"), (2, "B"), (3, "C"))]
    research = parallel(researchers, Agent(name="Synthesizer", instructions="Combine research"),
                        name="Research",
                        description="Research a topic from several angles at once")
    polish = reflection(Agent(name="Writer", instructions="Write the article"),
                        Agent(name="Critic", instructions="Review content and provide feedback"),
                        iterations=2, name="Polish", description="Draft and improve an article")
    editor = Agent(name="Editor", instructions="Edit and polish the content")
    return sequential([research, polish, editor], name="research_pipeline",
                      description="Research, write, review and edit an article")


def release_gate_example() -> Pattern:
    """A composition: research -> a nested human approval (plan, approve, execute) -> report.

    The run stops inside the nested ``Approval`` pattern; resuming the thread (from any
    process) continues it there.
    """
    researcher = Agent(name="Release Researcher",
                       instructions="Research the release: changes, risks and checks")
    gate = human_approval(Agent(name="Release Planner", instructions="Create detailed plan"),
                          Agent(name="Release Executor", instructions="Execute plan precisely"),
                          name="Approval", description="A person approves the release plan")
    reporter = Agent(name="Reporter", instructions="Write the release report")
    return sequential([researcher, gate, reporter], name="release_gate",
                      description="Research a release, get it approved, report on it")


COMPOSITIONS: dict[str, tuple[Callable[[], Pattern], str]] = {
    "research_pipeline": (research_pipeline_example, "Renewable energy storage"),
    "release_gate": (release_gate_example, "Release version 2.0 of the billing service"),
}


def example_names() -> list[str]:
    """The built-in example names, in the seed's order."""
    return list(EXAMPLES)


def example(name: str) -> Pattern:
    """A fresh built-in example pattern by name.

    Raises:
        KeyError: Unknown name (the message lists the known ones).
    """
    try:
        builder, _ = EXAMPLES[name] if name in EXAMPLES else COMPOSITIONS[name]
    except KeyError:
        raise KeyError(f"no built-in example {name!r}; choose one of: "
                       f"{', '.join([*EXAMPLES, *COMPOSITIONS])}") from None
    return builder()
