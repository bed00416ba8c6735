"""Names of the log objects an instance writes, with the three documented placeholders."""

from __future__ import annotations


def log_file_name(template: str | None, stream: str, job_id: str, task_name: str, index: int) -> str:
    """``stdout.<JobId>.<TaskName>.<Index>.log`` unless the user named the file."""
    if not template:
        return f"{stream}.{job_id}.{task_name}.{index}.log"
    return (
        template.replace("${BATCH_JOB_ID}", job_id)
        .replace("${BATCH_TASK_NAME}", task_name)
        .replace("${BATCH_TASK_INSTANCE_INDEX}", str(index))
    )
