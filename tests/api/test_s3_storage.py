"""A server configured with ``object_store = "s3"`` uploads redirected logs to an S3-compatible endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tencentcloud.batch.v20170312 import batch_client

from conftest import MotoS3, Server, call, make_client, running, submit, task, wait_job


@pytest.fixture(scope="module")
def s3_server(moto_s3: MotoS3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Keys come from the usual AWS variables, as a deployment would give them."""
    config = f'object_store = "s3"\n[s3]\nendpoint_url = "{moto_s3.url}"\nregion = "{moto_s3.region}"\n'
    env = {"AWS_ACCESS_KEY_ID": moto_s3.key_id, "AWS_SECRET_ACCESS_KEY": moto_s3.secret}
    yield from running(Server(tmp_path_factory.mktemp("s3") / "data", config=config, extra_env=env))


@pytest.fixture(scope="module")
def s3_client(s3_server: Server) -> batch_client.BatchClient:
    return make_client(s3_server.endpoint)


def instance(client: batch_client.BatchClient, job_id: str) -> Any:
    return call(client, "DescribeTask", {"JobId": job_id, "TaskName": "A"}).TaskInstanceSet[0]


def test_a_redirected_stdout_is_uploaded_to_the_s3_endpoint(
    s3_client: batch_client.BatchClient, s3_server: Server, moto_s3: MotoS3
) -> None:
    bucket = moto_s3.new_bucket("bucket-1250000000")
    redirect = {"StdoutRedirectPath": "cos://bucket-1250000000/logs/"}
    job_id = submit(s3_client, task("A", "echo hello from a node", RedirectInfo=redirect))

    assert wait_job(s3_client, job_id).JobState == "SUCCEED"

    key = f"logs/stdout.{job_id}.A.0.log"
    assert moto_s3.client().get_object(Bucket=bucket, Key=key)["Body"].read() == b"hello from a node\n"
    assert not (s3_server.data_dir / "cos").exists()  # the embedded folder store is not in play


def test_an_upload_to_a_missing_bucket_fails_the_instance_naming_the_path(
    s3_client: batch_client.BatchClient,
) -> None:
    redirect = {"StdoutRedirectPath": "cos://no-such-bucket-1250000000.cos.ap-guangzhou.myqcloud.com/logs/"}
    job_id = submit(s3_client, task("A", "echo lost", RedirectInfo=redirect))

    assert wait_job(s3_client, job_id, timeout=90).JobState == "FAILED"

    reason = instance(s3_client, job_id).StateReason
    assert f"cos://no-such-bucket-1250000000/logs/stdout.{job_id}.A.0.log" in reason
    assert "bucket" in reason.lower()
