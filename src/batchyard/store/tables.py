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
    text,
)

from batchyard.domain.states import State

metadata = MetaData()

# Tasks whose waiting instances have no reason yet; the query and the partial index must say it alike.
UNEXPLAINED = "wait_reason IS NULL AND (n_pending > 0 OR n_runnable > 0)"

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
    # The named environment the task runs in; NULL for an anonymous one (nodes made per instance).
    Column("env_pk", Integer),
    # Why the task's waiting (PENDING, RUNNABLE) instances wait, said by the scheduler when it changes;
    # NULL until it has been said, "" when nothing waits.
    Column("wait_reason", Text),
    *(Column(name, Integer, nullable=False, server_default="0") for name in COUNTER.values()),
    UniqueConstraint("job_pk", "name", name="uq_tasks_job_name"),
    # Dispatch looks for runnable tasks one environment at a time (anonymous ones under NULL).
    Index(
        "ix_tasks_runnable_env",
        "env_pk",
        "job_pk",
        sqlite_where=Column("n_runnable") > 0,
        postgresql_where=Column("n_runnable") > 0,
    ),
    # An environment is in use while a task that runs in it has not ended.
    Index("ix_tasks_env", "env_pk", "state"),
    # Waiting tasks nobody has explained yet (new, released or retried): the scheduler's next tick does.
    Index(
        "ix_tasks_unexplained",
        "env_pk",
        sqlite_where=text(UNEXPLAINED),
        postgresql_where=text(UNEXPLAINED),
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
    # While RUNNABLE: since when (its wait in the queue, a metric, is measured from here).
    Column("runnable_time", Float),
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
    Column("handle", Text),  # the executor's durable handle (pid and start time, a Slurm step...)
    Index("ix_attempts_instance", "task_pk", "idx", "number"),
    Index(
        "ix_attempts_active",
        "state",
        sqlite_where=Column("end_time").is_(None),
        postgresql_where=Column("end_time").is_(None),
    ),
)

# Intents: what users asked of jobs (terminate, retry), recorded by the API for the scheduler to
# carry out, consumed in order.
intents = Table(
    "intents",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("job_pk", Integer, ForeignKey("jobs.pk", ondelete="CASCADE"), nullable=False),
    Column("task_pk", Integer),
    Column("idx", Integer),
    Column("create_time", Float, nullable=False),
)


compute_envs = Table(
    "compute_envs",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("env_id", String(32), nullable=False, unique=True),
    Column("account", String(64), nullable=False),
    Column("region", String(32), nullable=False),
    Column("zone", String(32), nullable=False),
    Column("name", String(60), nullable=False),
    Column("description", Text, nullable=False),
    Column("env_type", String(20), nullable=False),
    Column("instance_type", String(64), nullable=False),
    Column("desired", Integer, nullable=False),
    Column("action_if_inactive", String(20), nullable=False),
    Column("deleting", Integer, nullable=False, server_default="0"),  # DeleteComputeEnv under way
    Column("tags", JSON, nullable=False),
    Column("create_info", JSON, nullable=False),  # the request as given (DescribeComputeEnvCreateInfo)
    Column("client_token", String(64)),
    Column("create_time", Float, nullable=False),
    UniqueConstraint("account", "client_token", name="uq_compute_envs_client_token"),
    Index("ix_compute_envs_scope", "account", "region", "pk"),
)

# Compute nodes, of named environments (env_pk) and anonymous ones (task_pk: the task they were
# made for). Written only by the scheduler; a node's row goes when the node is gone. The attempts
# on a node are those whose node_instance_id is its instance_id and that have not ended.
nodes = Table(
    "nodes",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("node_id", String(32), nullable=False, unique=True),
    Column("instance_id", String(32), nullable=False, unique=True),
    Column("env_pk", Integer),
    Column("task_pk", Integer),
    Column("origin", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("instance_type", String(64), nullable=False),
    Column("cpu", Integer, nullable=False),
    Column("memory_gib", Integer, nullable=False),
    Column("gpu", Integer, nullable=False, server_default="0"),
    Column("host", String(255)),  # where the executor placed it; NULL while SUBMITTED
    Column("handle", Text),  # the executor's durable handle, used to re-attach after a restart
    Column("reason", Text, nullable=False, server_default=""),
    Column("create_time", Float, nullable=False),
    Column("ready_time", Float),
    Index("ix_nodes_env", "env_pk"),
)

# What happened to an environment's nodes and why (DescribeComputeEnvActivities).
env_activities = Table(
    "env_activities",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("activity_id", String(32), nullable=False, unique=True),
    Column("env_pk", Integer, ForeignKey("compute_envs.pk", ondelete="CASCADE"), nullable=False),
    Column("node_id", String(32), nullable=False),
    Column("instance_id", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("cause", Text, nullable=False),
    Column("state", String(20), nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("start_time", Float, nullable=False),
    Column("end_time", Float),
    Index("ix_env_activities_env", "env_pk", "pk"),
    Index("ix_env_activities_node", "node_id"),
)

# Changes the API asks of environments' nodes, for the scheduler to carry out in order.
env_intents = Table(
    "env_intents",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("env_pk", Integer, ForeignKey("compute_envs.pk", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("cause", Text, nullable=False),
    Column("ids", JSON, nullable=False),  # node ids or instance ids the change is about
    Column("create_time", Float, nullable=False),
)

# Task templates: one task as given (``info``, the parsed Task dumped back), kept for later use.
# Lists are per account and region, newest first, and filter by name or by tag.
task_templates = Table(
    "task_templates",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("template_id", String(32), nullable=False, unique=True),
    Column("account", String(64), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(60), nullable=False),
    Column("description", Text, nullable=False),
    Column("info", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("create_time", Float, nullable=False),
    Index("ix_task_templates_scope", "account", "region", "pk"),
    Index("ix_task_templates_name", "account", "region", "name"),
)

# A template's tags again, one row each, so the tag filters are indexed lookups (as for jobs).
task_template_tags = Table(
    "task_template_tags",
    metadata,
    Column("template_pk", Integer, ForeignKey("task_templates.pk", ondelete="CASCADE"), nullable=False),
    Column("key", String(128), nullable=False),
    Column("value", String(256), nullable=False),
    Index("ix_task_template_tags_key_value", "key", "value"),
    Index("ix_task_template_tags_template", "template_pk"),
)

# Numbers that must never be handed out twice, even once the rows that used them are deleted: the
# highest attempt number used (executors take an attempt number to mean one attempt, for ever).
high_water = Table(
    "high_water",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", Integer, nullable=False),
)

# What running attempts used, sampled every period (DescribeJobMonitorData), as percentages of their
# node's instance type; kept as long as the attempt, so as long as its job.
usage_samples = Table(
    "usage_samples",
    metadata,
    Column("attempt_pk", Integer, ForeignKey("attempts.pk", ondelete="CASCADE"), primary_key=True),
    Column("at", Float, primary_key=True),
    Column("cpu", Float),
    Column("memory", Float),
    Column("disk", Float),
)

# What jobs and environments asked to be told (their Notifications), one row per event and topic,
# written with the job or the environment. Numbered for ever (AUTOINCREMENT), so that the scheduler
# learns of new ones by reading the rows after the last it saw.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("job_pk", Integer, ForeignKey("jobs.pk", ondelete="CASCADE")),
    Column("env_pk", Integer, ForeignKey("compute_envs.pk", ondelete="CASCADE")),
    Column("topic", String(64), nullable=False),
    Column("event", String(40), nullable=False),
    Column("event_vars", Text, nullable=False),  # JSON [{"Name", "Value"}], echoed in each message
    Index("ix_subscriptions_job", "job_pk"),
    Index("ix_subscriptions_env", "env_pk"),
    sqlite_autoincrement=True,
)

# The transactional outbox: events waiting to be delivered, written in the transaction of the change
# they tell, deleted once their topic's sink took them. ``batch`` and ``event_vars`` are JSON text that
# the delivery parses row by row, so one damaged row cannot stop the others. An instance event keeps
# its index apart (``idx``), so the events of many instances are one INSERT … SELECT. The key, never
# reused, is the event's id for receivers that deduplicate.
outbox = Table(
    "outbox",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("topic", String(64), nullable=False),
    Column("event", String(40), nullable=False),
    Column("event_time", Float, nullable=False),
    Column("region", String(32), nullable=False),
    Column("batch", Text, nullable=False),  # the message's Batch object, TaskInstanceIndex aside
    Column("idx", Integer),  # TaskInstanceIndex of an instance event
    Column("event_vars", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),  # failed deliveries so far
    Column("due_time", Float, nullable=False),  # not tried again before this
    Column("last_error", Text, nullable=False, server_default=""),
    Index("ix_outbox_due", "topic", "due_time", "pk"),
    sqlite_autoincrement=True,
)
