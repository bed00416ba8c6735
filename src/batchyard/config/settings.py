"""Server configuration: embedded defaults, optionally overridden by a TOML file and CLI flags."""

from __future__ import annotations

import os
import ssl
import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, FilePath, SecretStr, field_validator, model_validator

from batchyard.config.catalog import Catalog, default_instance_types, default_zones
from batchyard.domain.notifications import TOPIC_NAME, TOPIC_NAME_MAX


def _machine_memory_gib() -> int:
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return max(1, pages // 2**30)


class LocalCapacity(BaseModel):
    """What the local executor's one host (this machine) offers its nodes; defaults to all of it."""

    model_config = ConfigDict(extra="forbid")

    cpus: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    memory_gib: int = Field(default_factory=_machine_memory_gib, ge=1)
    gpus: int = Field(default=0, ge=0)


# Requests per second per account, region and action (Tencent's published values, API_NOTES §2.14).
DEFAULT_RATE_LIMITS: dict[str, float] = {
    "SubmitJob": 20,
    "DescribeJob": 50,
    "DescribeJobs": 10,
    "DescribeJobSubmitInfo": 20,
    "DescribeTask": 20,
    "DescribeJobMonitorData": 20,
    "DescribeTaskLogs": 20,
    "DeleteJob": 30,
    "TerminateJob": 10,
    "RetryJobs": 10,
    "TerminateTaskInstance": 2,
    "CreateComputeEnv": 2,
    "DescribeComputeEnv": 2,
    "DescribeComputeEnvs": 10,
    "DescribeComputeEnvCreateInfo": 2,
    "DescribeComputeEnvCreateInfos": 20,
    "DescribeComputeEnvActivities": 2,
    "ModifyComputeEnv": 2,
    "DeleteComputeEnv": 2,
    "TerminateComputeNode": 20,
    "TerminateComputeNodes": 20,
    "AttachInstances": 20,
    "DetachInstances": 20,
    "CreateTaskTemplate": 2,
    "DeleteTaskTemplates": 2,
    "DescribeTaskTemplates": 10,
    "ModifyTaskTemplate": 2,
    "DescribeAvailableCvmInstanceTypes": 2,
    "DescribeCvmZoneInstanceConfigInfos": 5,
    "DescribeInstanceCategories": 20,
}


class RateLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    per_second: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))


class Quotas(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unfinished_jobs: int = Field(default=1000, ge=1)  # per account and region
    compute_envs: int = Field(default=10, ge=1)  # per account and region, those being deleted included
    nodes_per_env: int = Field(default=2000, ge=1)  # DesiredComputeNodeCount plus attached nodes
    task_templates: int = Field(default=50, ge=1)  # per account and region, as Tencent documents


class Monitor(BaseModel):
    """DescribeJobMonitorData: how often what running attempts use is sampled (the answer's Period)."""

    model_config = ConfigDict(extra="forbid")

    period_s: int = Field(default=10, ge=1, le=3600)


class Tls(BaseModel):
    """A PEM certificate (chain) and its private key; one without the other cannot serve HTTPS."""

    model_config = ConfigDict(extra="forbid")

    cert: FilePath
    key: FilePath

    @model_validator(mode="after")
    def _loadable(self) -> Tls:
        """Tried here because uvicorn would find a bad pair only after start-up work, and with a
        traceback. The empty password refuses an encrypted key instead of prompting on the terminal."""
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(self.cert, self.key, password=b"")
        except ssl.SSLError as exc:
            raise ValueError(f"not a PEM certificate and its unencrypted private key ({exc})") from exc
        return self


class S3Endpoint(BaseModel):
    """An S3-compatible endpoint holding ``cos://`` objects (``object_store = "s3"``): AWS S3, COS's S3
    API, MinIO, Ceph. Left out, keys and region come from the usual AWS variables and files."""

    model_config = ConfigDict(extra="forbid")

    endpoint_url: str | None = None  # None: AWS S3 in `region`
    access_key_id: str | None = None  # both or neither; neither: AWS_ACCESS_KEY_ID, a profile, a role
    secret_access_key: SecretStr | None = None
    region: str | None = None  # None: AWS_REGION / AWS_DEFAULT_REGION
    # How `cos://<name>-<appid>/<key>` maps to S3: bucket `<bucket_prefix><name>-<appid>`, or, with
    # `bucket` set, key `<name>-<appid>/<key>` of that one bucket.
    bucket_prefix: str = ""
    bucket: str | None = None
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    connect_timeout_s: float = Field(default=10, gt=0)
    read_timeout_s: float = Field(default=60, gt=0)
    max_attempts: int = Field(default=3, ge=1)  # per request, connection errors and throttling included

    @model_validator(mode="after")
    def _consistent(self) -> S3Endpoint:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("give both access_key_id and secret_access_key, or neither")
        if self.bucket is not None and self.bucket_prefix:
            raise ValueError("bucket (one bucket for all) and bucket_prefix exclude each other")
        return self


class CfsMount(BaseModel):
    """Where ``cfs://<host>/<path>`` is found: ``<mount_root>/<host>/<path>``, on every node's host."""

    model_config = ConfigDict(extra="forbid")

    mount_root: Path | None = None  # None: <data-dir>/cfs, made on start-up


# Not /opt: Batch's examples mount data there (/opt/data), which a read-only /opt would refuse.
SYSTEM_FOLDERS = (
    *("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"),
    "/run/systemd/resolve",  # where /etc/resolv.conf points on hosts with systemd-resolved
)


class SandboxSettings(BaseModel):
    """How attempts are isolated from the server and from each other (docs/security.md).

    The sandbox needs bubblewrap, the task user and a server running as root; without any of them
    the server starts anyway, runs commands unsandboxed and says so at start-up.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    user: str = "batchyard-task"  # every attempt runs as this unprivileged user
    # What commands find on PATH; HOME is the working folder.
    path: str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    # The host's folders every sandbox sees read-only (a symlink is copied as one; a missing one skipped).
    system_folders: list[str] = Field(default_factory=lambda: list(SYSTEM_FOLDERS))
    # Host folders every attempt sees writable at the same path (a scratch area all tasks share).
    # The data dir stays hidden even inside one of these.
    shared: list[str] = Field(default_factory=list)
    # Node memory limits: cgroups named <mount>/<cgroup>/<node id>; "" sets no limits.
    cgroup: str = "batchyard"
    # A node keeps its sandbox for its attempts to enter in turn while they need the same mounts and
    # leave nothing in it (runner.node_sandbox); false makes a sandbox for every attempt.
    per_node: bool = True


class NotificationSinks(BaseModel):
    """Where the messages of each notification topic go: a webhook URL per topic name, POSTed one event
    at a time (docs/notifications.md). SubmitJob and CreateComputeEnv refuse a topic not named here."""

    model_config = ConfigDict(extra="forbid")

    topics: dict[str, str] = Field(default_factory=dict)  # topic name -> http:// or https:// URL
    timeout_s: float = Field(default=10.0, gt=0)  # connecting, and each read or write of a delivery
    retry_initial_s: float = Field(default=1.0, gt=0)  # the first retry's delay; it doubles each time
    retry_max_s: float = Field(default=300.0, gt=0)  # ... up to this
    retain_s: float = Field(default=7 * 86400.0, gt=0)  # undelivered this long after the event: dropped

    @field_validator("topics")
    @classmethod
    def _named_and_reachable(cls, topics: dict[str, str]) -> dict[str, str]:
        """Checked at start-up, so that a typo fails the start instead of every delivery."""
        for name, url in topics.items():
            if len(name) > TOPIC_NAME_MAX or not TOPIC_NAME.fullmatch(name):
                raise ValueError(
                    f"topic {name!r}: a name starts with a letter and holds at most {TOPIC_NAME_MAX} "
                    "letters, digits, '_' and '-'"
                )
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"topic {name!r}: {url!r} is not an http:// or https:// URL")
        return topics


class SlurmCluster(BaseModel):
    """``executor = "slurm"``: compute nodes are allocations on a Slurm cluster whose client tools work
    here (``SLURM_CONF`` honoured). The data dir must be on a filesystem the cluster's nodes share."""

    model_config = ConfigDict(extra="forbid")

    partition: str | None = None  # None: the cluster's default partition
    poll_s: float = Field(default=0.2, gt=0)  # how often pilots are looked at while any is pending
    idle_poll_s: float = Field(default=2.0, gt=0)  # otherwise, to notice lost ones
    hosts_poll_s: float = Field(default=30.0, gt=0)  # how often the partition's nodes are read again


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Path(".batchyard")
    host: str = "127.0.0.1"
    port: int = 9000
    database_url: str | None = None  # default: SQLite in data_dir
    sqlite_busy_timeout_s: float = Field(default=30.0, gt=0)
    executor: str = "local"
    object_store: str = "local"
    zones: dict[str, list[str]] = Field(default_factory=default_zones)
    instance_types: Catalog = Field(default_factory=default_instance_types)
    local: LocalCapacity = Field(default_factory=LocalCapacity)
    log_tail_bytes: int = 2048
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    quotas: Quotas = Field(default_factory=Quotas)
    monitor: Monitor = Field(default_factory=Monitor)
    kill_grace_seconds: float = Field(default=5.0, gt=0)  # SIGTERM, then SIGKILL after this
    # TerminateJob / TerminateTaskInstance on tasks of a named environment: allowed by default, refused
    # with UnsupportedOperation.TerminateOperationWithEnvId when set (as an older copy of the docs says).
    refuse_terminate_with_env_id: bool = False
    tls: Tls | None = None  # HTTPS when set; plain HTTP is for loopback only (README, Security)
    s3: S3Endpoint = Field(default_factory=S3Endpoint)  # for object_store = "s3"
    cfs: CfsMount = Field(default_factory=CfsMount)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    slurm: SlurmCluster = Field(default_factory=SlurmCluster)
    notifications: NotificationSinks = Field(default_factory=NotificationSinks)

    @property
    def url(self) -> str:
        """Where clients reach the API, for the start-up log line users copy their endpoint from."""
        scheme = "http" if self.tls is None else "https"
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
        return f"{scheme}://{host}:{self.port}"

    @property
    def sqlite_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'batchyard.db').resolve()}"

    @classmethod
    def load(cls, config_file: Path | None, **overrides: object) -> Settings:
        """Defaults, then the TOML file, then explicit overrides (CLI flags that were given); an override
        of a section (a dict) changes only the keys it names."""
        values: dict[str, object] = {}
        if config_file is not None:
            values.update(tomllib.loads(config_file.read_text()))
        for key, value in overrides.items():
            section = values.get(key)
            if isinstance(value, dict) and isinstance(section, dict):
                values[key] = {**section, **value}
            elif value is not None:
                values[key] = value
        return cls.model_validate(values)
