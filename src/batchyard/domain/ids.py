"""Resource identifiers in the shape Tencent Cloud uses: a prefix and 8 lowercase alphanumerics."""

from __future__ import annotations

import re
import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits
_BYTE_TO_CHAR = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) for b in range(256))
_SUFFIX = r"[a-z0-9]{8}"

JOB_ID = re.compile(rf"job-{_SUFFIX}")
ENV_ID = re.compile(rf"env-{_SUFFIX}")
NODE_ID = re.compile(rf"node-{_SUFFIX}")
ACTIVITY_ID = re.compile(rf"act-{_SUFFIX}")
INSTANCE_ID = re.compile(rf"ins-{_SUFFIX}")  # a node's ComputeNodeInstanceId, or a machine to attach
TASK_TEMPLATE_ID = re.compile(rf"task-tmpl-{_SUFFIX}")


def new_id(prefix: str) -> str:
    """A fresh random id such as ``job-2bmv4p7o``; callers rely on a unique index for collisions.

    One read of the system's randomness per id and one table lookup in C for its eight characters:
    node ids are made for every attempt, so this is on the scheduler's hot path.
    """
    return prefix + "-" + secrets.token_bytes(8).translate(_BYTE_TO_CHAR).decode()


def is_job_id(value: str) -> bool:
    return JOB_ID.fullmatch(value) is not None
