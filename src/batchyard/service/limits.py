"""Value limits of jobs and compute environments, as data: the documented ones and those batchyard
chose where docs are silent."""

from __future__ import annotations

import re
from typing import Final

from batchyard.domain.nodes import RECREATE

JOB_NAME_MAX: Final = 60
JOB_DESCRIPTION_MAX: Final = 200
TASK_NAME_MAX: Final = 60  # undocumented; the same as job and template names
TASK_NAME: Final = re.compile(r"[A-Za-z0-9_-]+")  # task names become parts of log file names
TASKS_PER_JOB_MAX: Final = 1000
TASK_INSTANCE_NUM_MAX: Final = 100_000
JOB_INSTANCES_MAX: Final = 1_000_000  # one submit is one transaction; the store is sized for millions
PRIORITY_MAX: Final = 100
MAX_RETRY_COUNT_MAX: Final = 10  # undocumented upper bound
TIMEOUT_DEFAULT: Final = 86400
TIMEOUT_MAX: Final = 7 * 86400
CLIENT_TOKEN_MAX: Final = 64
TAGS_MAX: Final = 10
TAG_KEY_MAX: Final = 127  # Tencent Cloud's tag rules
TAG_VALUE_MAX: Final = 255
# A command and its variables reach the node through exec(), which takes one argument of at most
# 128 KiB; the limits leave room for the launch wrapper and the node's own environment.
COMMAND_MAX_BYTES: Final = 64 * 1024
ENV_VARS_MAX_BYTES: Final = 64 * 1024
STATES_IF_CREATE_CVM_FAILED: Final = ("FAILED", "RUNNABLE")  # the first is the default
NOTIFICATION_TARGETS: Final = ("CMQ", "TDMQ_CMQ")
IMAGE_ID: Final = re.compile(r"img-[a-z0-9]{8}")
DISK_TYPES: Final = frozenset(
    {
        "LOCAL_BASIC",
        "LOCAL_SSD",
        "LOCAL_NVME",
        "LOCAL_PRO",
        "CLOUD_BASIC",
        "CLOUD_PREMIUM",
        "CLOUD_SSD",
        "CLOUD_HSSD",
        "CLOUD_TSSD",
        "CLOUD_BSSD",
    }
)
ENV_VAR_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FAILED_ACTIONS: Final = ("TERMINATE", "INTERRUPT", "FAST_INTERRUPT")
DEPEND_ON_VALUES: Final = ("PRE_TASK_SUCCEED", "PRE_TASK_AT_LEAST_PARTLY_SUCCEED", "PRE_TASK_FINISHED")

# Named compute environments (API_NOTES §2.9, §2.13).
ENV_NAME_MAX: Final = 60  # undocumented; the same as job and template names
ENV_DESCRIPTION_MAX: Final = 200  # undocumented; the same as job and template descriptions
ACTIONS_IF_INACTIVE: Final = (RECREATE,)  # the only policy the docs name, and the default
RESOURCE_MAX_RETRY_COUNT_MAX: Final = 100
IDS_PER_CALL_MAX: Final = 100  # TerminateComputeNodes, AttachInstances, DetachInstances

# Task templates (API_NOTES §2.12, §2.13; the SDK's model documents both lengths).
TASK_TEMPLATE_NAME_MAX: Final = 60
TASK_TEMPLATE_DESCRIPTION_MAX: Final = 200
