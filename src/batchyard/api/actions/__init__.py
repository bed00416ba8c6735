"""Every action the server answers, by wire name."""

from batchyard.api.actions import jobs, tasks
from batchyard.api.actions.registry import Action, Services

ACTIONS: dict[str, Action] = {**jobs.ACTIONS, **tasks.ACTIONS}

__all__ = ["ACTIONS", "Action", "Services"]
