"""Every action the server answers, by wire name."""

from batchyard.api.actions import compute_envs, control, jobs, tasks
from batchyard.api.actions.registry import Action, Services

ACTIONS: dict[str, Action] = {**jobs.ACTIONS, **tasks.ACTIONS, **control.ACTIONS, **compute_envs.ACTIONS}

__all__ = ["ACTIONS", "Action", "Services"]
