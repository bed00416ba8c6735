"""From the command line's connection flags to the official SDK's ``BatchClient``, and the actions sent.

The client is the SDK's own, so whatever the SDK signs and sends, a batchyard server and Tencent Cloud
both accept: the CLI adds only the choice of endpoint. Each action the commands need is one method here
that builds the SDK's request model from plain arguments, so no command spells a request by hand.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from tencentcloud.batch.v20170312 import batch_client, models
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from batchyard.cli.errors import CliError, ExitStatus
from batchyard.cli.profiles import Flags, Settings, resolve

REQUEST_TIMEOUT_S = 30
THROTTLED = "RequestLimitExceeded"  # and its sub-codes: the request was refused before anything was done
THROTTLE_ATTEMPTS = 5
THROTTLE_PAUSE_S = 0.5  # then 1, 2 and 4 s

Listing = tuple[list[Any], int]  # one page of a Describe*s action, and its TotalCount


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str  # host[:port]: where the SDK connects and the Host it signs


def parse_endpoint(text: str) -> Endpoint:
    """``host[:port]`` means HTTPS, as for the SDK and tccli; a URL names its scheme (``http://`` for a
    local server). The Python SDK signs for the service its client is made for, so unlike the Node.js
    SDK it needs no ``batch.`` first label."""
    if "://" not in text:
        return Endpoint("https", text.rstrip("/"))
    url = urlsplit(text)
    if url.scheme not in ("http", "https") or not url.netloc or url.path not in ("", "/") or url.query:
        raise CliError(f"endpoint `{text}`: give host[:port] or http(s)://host[:port]")
    return Endpoint(url.scheme, url.netloc)


def connect(flags: Flags) -> Api:
    """An ``Api`` for the user's credentials, region and endpoint, read as tccli reads them."""
    return Api(sdk_client(resolve(flags, os.environ, Path.home())))


def sdk_client(settings: Settings) -> batch_client.BatchClient:
    http = HttpProfile(reqTimeout=REQUEST_TIMEOUT_S)
    if settings.endpoint is not None:
        endpoint = parse_endpoint(settings.endpoint)
        http = HttpProfile(protocol=endpoint.scheme, endpoint=endpoint.host, reqTimeout=REQUEST_TIMEOUT_S)
    keys = credential.Credential(settings.secret_id, settings.secret_key, settings.token)
    profile = ClientProfile(httpProfile=http, retryer=ThrottleRetryer(THROTTLE_ATTEMPTS, _backoff))
    return batch_client.BatchClient(keys, settings.region, profile)


class ThrottleRetryer:
    """Sends a throttled request again, after a pause: ``submit --wait`` on a job of many tasks asks
    DescribeTask for each, and may go past the action's rate. Nothing else is sent again: a network
    error may hide a SubmitJob that was done, and a second would submit the job twice.

    The SDK's own ``StandardRetryer`` (3.1.195) keeps the first error across attempts, so a request that
    passes on its second attempt is sent again and then fails with that first error."""

    def __init__(self, attempts: int, pause: Callable[[int], float]) -> None:
        self._attempts = attempts
        self._pause = pause

    def send_request(self, send: Callable[[], Any]) -> Any:
        for attempt in range(self._attempts - 1):
            try:
                return send()
            except TencentCloudSDKException as exc:
                if not throttled(exc):
                    raise
            time.sleep(self._pause(attempt))
        return send()


def throttled(exc: Any) -> bool:
    """The request was refused for its rate, before anything was done."""
    return str(exc.get_code()).startswith(THROTTLED)


def _backoff(attempt: int) -> float:
    return float(THROTTLE_PAUSE_S * 2**attempt)


class Filter(NamedTuple):
    """One entry of a Describe action's ``Filters``: the values are alternatives."""

    name: str
    values: list[str]


class Api:
    """The Batch actions the commands use. Errors are the SDK's ``TencentCloudSDKException``."""

    def __init__(self, sdk: batch_client.BatchClient) -> None:
        self._sdk = sdk

    def submit_job(self, request: models.SubmitJobRequest) -> Any:
        return self._sdk.SubmitJob(request)

    def describe_job(self, job_id: str) -> Any:
        return self._sdk.DescribeJob(_request(models.DescribeJobRequest, JobId=job_id))

    def describe_jobs(self, filters: Sequence[Filter], offset: int, limit: int) -> Listing:
        wire = [{"Name": f.name, "Values": f.values} for f in filters] or None
        request = _request(models.DescribeJobsRequest, Filters=wire, Offset=offset, Limit=limit)
        response = self._sdk.DescribeJobs(request)
        return list(response.JobSet or []), int(response.TotalCount or 0)

    def describe_task(
        self,
        job_id: str,
        task_name: str,
        states: Sequence[str] | None = None,
        offset: int = 0,
        limit: int = 1,
    ) -> Any:
        """A task's counters, and its instances from ``offset`` (only those in ``states`` if given)."""
        filters = None if states is None else [{"Name": "task-instance-state", "Values": list(states)}]
        request = _request(
            models.DescribeTaskRequest,
            JobId=job_id,
            TaskName=task_name,
            Filters=filters,
            Offset=offset,
            Limit=limit,
        )
        return self._sdk.DescribeTask(request)

    def task_log(self, job_id: str, task_name: str, index: int) -> Any:
        """The ``TaskInstanceLog`` of one instance."""
        request = _request(
            models.DescribeTaskLogsRequest, JobId=job_id, TaskName=task_name, TaskInstanceIndexes=[index]
        )
        logs = self._sdk.DescribeTaskLogs(request).TaskInstanceLogSet or []
        if not logs:
            raise CliError(f"task `{task_name}` of {job_id} has no instance {index}", status=ExitStatus.API)
        return logs[0]

    def terminate_job(self, job_id: str) -> Any:
        return self._sdk.TerminateJob(_request(models.TerminateJobRequest, JobId=job_id))

    def retry_jobs(self, job_ids: Sequence[str]) -> Any:
        return self._sdk.RetryJobs(_request(models.RetryJobsRequest, JobIds=list(job_ids)))

    def delete_job(self, job_id: str) -> Any:
        return self._sdk.DeleteJob(_request(models.DeleteJobRequest, JobId=job_id))

    def describe_envs(self, offset: int, limit: int) -> Listing:
        response = self._sdk.DescribeComputeEnvs(
            _request(models.DescribeComputeEnvsRequest, Offset=offset, Limit=limit)
        )
        return list(response.ComputeEnvSet or []), int(response.TotalCount or 0)

    def describe_env(self, env_id: str) -> Any:
        return self._sdk.DescribeComputeEnv(_request(models.DescribeComputeEnvRequest, EnvId=env_id))

    def env_activities(self, env_id: str, offset: int, limit: int) -> Listing:
        """The environment's activities, newest first."""
        request = _request(
            models.DescribeComputeEnvActivitiesRequest, EnvId=env_id, Offset=offset, Limit=limit
        )
        response = self._sdk.DescribeComputeEnvActivities(request)
        return list(response.ActivitySet or []), int(response.TotalCount or 0)

    def describe_templates(self, offset: int, limit: int) -> Listing:
        request = _request(models.DescribeTaskTemplatesRequest, Offset=offset, Limit=limit)
        response = self._sdk.DescribeTaskTemplates(request)
        return list(response.TaskTemplateSet or []), int(response.TotalCount or 0)


def _request(model: Callable[[], Any], **params: Any) -> Any:
    """The SDK's request model from its wire members, leaving out those given as None."""
    request = model()
    request.from_json_string(json.dumps({k: v for k, v in params.items() if v is not None}))
    return request


def collect(fetch: Callable[[int, int], Listing], offset: int, limit: int, page_size: int) -> Listing:
    """Up to ``limit`` items from ``offset``, in pages the API accepts; with the API's total count."""
    items: list[Any] = []
    total = 0
    while len(items) < limit:
        batch, total = fetch(offset + len(items), min(page_size, limit - len(items)))
        items += batch
        if not batch or offset + len(items) >= total:
            break
    return items, total
