"""The environment a command sees: the node's own, the documented BATCH_* variables, the task's EnvVars."""

from __future__ import annotations

import os
from collections.abc import Mapping

from batchyard.domain.attempts import AttemptSpec

# Never leak the server's own credentials into user commands.
_PRIVATE_PREFIXES = ("BATCHYARD_", "TENCENTCLOUD_")


def node_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    source = os.environ if base is None else base
    return {k: v for k, v in source.items() if not k.startswith(_PRIVATE_PREFIXES)}


def attempt_environment(spec: AttemptSpec, node_env: Mapping[str, str]) -> dict[str, str]:
    env = dict(node_env)
    env.update(
        BATCH_JOB_ID=spec.job_id,
        BATCH_TASK_NAME=spec.task_name,
        BATCH_TASK_INSTANCE_NUM=str(spec.instance_num),
        BATCH_TASK_INSTANCE_INDEX=str(spec.index),
    )
    env.update(spec.env)
    return env
