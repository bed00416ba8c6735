"""Every action the server answers, by wire name."""

from batchyard.api.actions import catalog, compute_envs, control, jobs, monitor, tasks, templates
from batchyard.api.actions.registry import Action, Services

ACTIONS: dict[str, Action] = {
    **jobs.ACTIONS,
    **tasks.ACTIONS,
    **control.ACTIONS,
    **compute_envs.ACTIONS,
    **templates.ACTIONS,
    **monitor.ACTIONS,
    **catalog.ACTIONS,
}

__all__ = ["ACTIONS", "Action", "Services"]
