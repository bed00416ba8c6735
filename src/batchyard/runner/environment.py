"""The environment a command sees: the node's own, the documented BATCH_* variables, the task's EnvVars."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from batchyard.domain.attempts import AttemptSpec

# Never leak the server's own credentials into user commands.
_PRIVATE_PREFIXES = ("BATCHYARD_", "TENCENTCLOUD_")
# What the dynamic loader and libc act on in every program they start, root's included (glibc's
# list of variables it drops for setuid programs). The launcher and bwrap run as root outside the
# sandbox with the attempt's environment, so a task's LD_PRELOAD there would run its code as root.
_LOADER_PREFIXES = ("LD_", "MALLOC_")
_LOADER_NAMES = frozenset(
    {
        *("GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH"),
        *("NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS", "TMPDIR", "TZDIR"),
    }
)
_CARRIED = "__batchyard_env_"
_SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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


def sandboxed_attempt(spec: AttemptSpec, node_env: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The command and environment of an attempt whose command runs in the sandbox.

    The loader's variables cross the root part of the launch under other names, and the command's
    own shell, already the task user inside the sandbox, sets them back before the command runs.
    Costs nothing for the attempts (nearly all) that set none.
    """
    env = attempt_environment(spec, node_env)
    held = [name for name in env if _for_the_loader(name)]
    if not held:
        return spec.command, env
    prelude = []
    for name in sorted(held):
        env[_CARRIED + name] = env.pop(name)
        prelude.append(f'export {name}="${_CARRIED}{name}"; unset {_CARRIED}{name}; ')
    return "".join(prelude) + spec.command, env


def _for_the_loader(name: str) -> bool:
    """A name the loader reads, and one a shell can set back (the loader reads no other)."""
    loader = name.startswith(_LOADER_PREFIXES) or name in _LOADER_NAMES
    return loader and _SHELL_NAME.fullmatch(name) is not None
