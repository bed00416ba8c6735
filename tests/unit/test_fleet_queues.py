"""How many attempts a named environment's node may be assigned at once (scheduler/fleet.py)."""

from __future__ import annotations

from batchyard.domain.nodes import NodeState, Origin
from batchyard.domain.resources import Resources
from batchyard.executors.base import Host
from batchyard.scheduler.fleet import Fleet, Node

SHORT, LONG = 1, 2  # task pks


def _one_node(stages_ahead: bool = False) -> tuple[Fleet, Node]:
    fleet = Fleet([Host("host-a", Resources(cpu=4, memory_gib=8))], stages_ahead)
    node = Node(
        1, "n1", "ins-1", 7, None, Origin.BATCH_CREATED, NodeState.CREATED, "S2.SMALL1", Resources(1, 1)
    )
    fleet.add(node)
    return fleet, node


def _env_with_one_node() -> tuple[Fleet, Node]:
    fleet, node = _one_node()
    fleet.observe(node.pool, SHORT, 0.0001)  # far shorter than the round trip: deep
    return fleet, node


def test_a_short_task_queues_several_attempts_on_a_node_running_its_own() -> None:
    fleet, node = _env_with_one_node()
    fleet.enqueue(node, 100, SHORT)

    assert len(fleet.places(node.pool, SHORT)) > 1


def test_a_busy_node_queues_no_attempt_of_another_task() -> None:
    """Behind another task's attempt, which may run for hours, it would wait for as long."""
    fleet, node = _env_with_one_node()
    fleet.enqueue(node, 100, LONG)

    assert fleet.places(node.pool, SHORT) == []
    fleet.dequeue(node, 100)
    assert fleet.places(node.pool, SHORT)[:1] == [node], "free again: any task's"


def test_a_busy_node_queues_one_attempt_of_a_short_task_whose_data_it_stages_ahead() -> None:
    """Its data is then fetched while the attempt before it runs; one that runs long, or an executor
    that stages nothing ahead (Slurm's runner stages on the node), gets no queue for it."""
    ahead, node = _one_node(stages_ahead=True)
    ahead.observe(node.pool, SHORT, 0.2, stages=True)
    ahead.observe(node.pool, LONG, 5.0, stages=True)
    elsewhere, other = _one_node(stages_ahead=False)
    elsewhere.observe(other.pool, SHORT, 0.2, stages=True)
    for fleet, busy in ((ahead, node), (elsewhere, other)):
        fleet.enqueue(busy, 100, SHORT)

    assert ahead.places(node.pool, SHORT) == [node]
    assert elsewhere.places(other.pool, SHORT) == []
    ahead.dequeue(node, 100)
    ahead.enqueue(node, 101, LONG)
    assert ahead.places(node.pool, LONG) == []
