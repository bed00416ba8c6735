"""The schema of the store, as SQLAlchemy Core tables; migrations/ must create exactly this.

Instances are the big table (100,000 per task, millions in all): a narrow row keyed by
(task_pk, idx) holding the latest attempt's facts, so DescribeTask is one indexed range scan.
Tasks keep one counter per state, written in the same transaction as the instance moves, so
metrics and roll-ups never count rows.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from batchyard.domain.states import State

metadata = MetaData()

# Counter column per state, e.g. State.RUNNABLE -> "n_runnable".
COUNTER: dict[State, str] = {state: f"n_{state.value.lower()}" for state in State}

jobs = Table(
    "jobs",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(32), nullable=False, unique=True),
    Column("account", String(64), nullable=False),
    Column("region", String(32), nullable=False),
    Column("zone", String(32), nullable=False),
    Column("name", String(60), nullable=False),
    Column("description", Text, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("state", String(20), nullable=False),
    Column("state_reason", Text, nullable=False),
    Column("depend_on", String(40), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("submit_info", JSON, nullable=False),
    Column("client_token", String(64)),
    Column("create_time", Float, nullable=False),
    Column("end_time", Float),
    UniqueConstraint("account", "client_token", name="uq_jobs_client_token"),
    Index("ix_jobs_scope", "account", "region", "pk"),
    Index("ix_jobs_scope_state", "account", "region", "state"),
)

# Per account and region, the jobs not yet SUCCEED or FAILED (the job quota counts them). Kept in the
# transaction that submits a job or changes its state, so SubmitJob reads one row instead of
# counting every unfinished job.
job_counts = Table(
    "job_counts",
    metadata,
    Column("account", String(64), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("unfinished", Integer, nullable=False),
)

# Tags again, one row each, so the tag filters of DescribeJobs are indexed lookups.
job_tags = Table(
    "job_tags",
    metadata,
    Column("job_pk", Integer, ForeignKey("jobs.pk", ondelete="CASCADE"), nullable=False),
    Column("key", String(128), nullable=False),
    Column("value", String(256), nullable=False),
    Index("ix_job_tags_key_value", "key", "value"),
    Index("ix_job_tags_job", "job_pk"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("job_pk", Integer, ForeignKey("jobs.pk", ondelete="CASCADE"), nullable=False),
    Column("name", String(60), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("state", String(20), nullable=False),
    Column("instance_num", Integer, nullable=False),
    Column("spec", JSON, nullable=False),
    Column("create_time", Float, nullable=False),
    Column("end_time", Float),
    *(Column(name, Integer, nullable=False, server_default="0") for name in COUNTER.values()),
    UniqueConstraint("job_pk", "name", name="uq_tasks_job_name"),
    Index(
        "ix_tasks_runnable",
        "job_pk",
        sqlite_where=Column("n_runnable") > 0,
        postgresql_where=Column("n_runnable") > 0,
    ),
)

dependences = Table(
    "dependences",
    metadata,
    Column("job_pk", Integer, ForeignKey("jobs.pk", ondelete="CASCADE"), nullable=False),
    Column("start_task_pk", Integer, nullable=False),
    Column("end_task_pk", Integer, nullable=False),
    Index("ix_dependences_job", "job_pk"),
)

instances = Table(
    "instances",
    metadata,
    Column("task_pk", Integer, ForeignKey("tasks.pk", ondelete="CASCADE"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("exit_code", Integer),
    Column("reason", Text, nullable=False, server_default=""),
    Column("node_instance_id", String(32)),
    Column("launch_time", Float),
    Column("running_time", Float),
    Column("end_time", Float),
    Index("ix_instances_task_state", "task_pk", "state", "idx"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("task_pk", Integer, ForeignKey("tasks.pk", ondelete="CASCADE"), nullable=False),
    Column("idx", Integer, nullable=False),
    Column("number", Integer, nullable=False),
    Column("node_instance_id", String(32), nullable=False),
    Column("state", String(20), nullable=False),
    Column("exit_code", Integer),
    Column("reason", Text, nullable=False, server_default=""),
    Column("launch_time", Float, nullable=False),
    Column("running_time", Float),
    Column("end_time", Float),
    Column("cancel_reason", Text),  # set when the scheduler decided to kill it (termination)
    Index("ix_attempts_instance", "task_pk", "idx", "number"),
    Index(
        "ix_attempts_active",
        "state",
        sqlite_where=Column("end_time").is_(None),
        postgresql_where=Column("end_time").is_(None),
    ),
)

# Intents recorded by the API for the scheduler to carry out (terminate, retry), consumed in order.
requests = Table(
    "requests",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("job_pk", Integer, ForeignKey("jobs.pk", ondelete="CASCADE"), nullable=False),
    Column("task_pk", Integer),
    Column("idx", Integer),
    Column("create_time", Float, nullable=False),
)
