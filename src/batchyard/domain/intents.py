"""What the API can ask the scheduler to do to existing work; recorded in the store, carried out by a tick."""

from __future__ import annotations

from enum import StrEnum


class Intent(StrEnum):
    TERMINATE_JOB = "TERMINATE_JOB"
    TERMINATE_INSTANCE = "TERMINATE_INSTANCE"
    RETRY_JOB = "RETRY_JOB"


TERMINATED_BY_JOB = "Terminated by TerminateJob."
TERMINATED_BY_INSTANCE = "Terminated by TerminateTaskInstance."
