"""Data in and out of tasks, end to end with the official SDK: input mappings are in place before the
command starts, outputs are uploaded after it (also after a failure), a PACKAGE is unpacked into the
working folder, and a missing input or a broken package fails the instance with a reason naming it.

The same suite runs twice: with the server's embedded object store (its local folder, filled and read
by the test directly) and with a real S3-compatible HTTP server (``moto_server``), read and written
with boto3, byte for byte both ways.
"""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from tencentcloud.batch.v20170312.batch_client import BatchClient as Client

from conftest import MotoS3, Server, call, decode_log, make_client, running, stdout_of, submit, task, wait_job

BUCKET = "data-1250000000"
COS = f"cos://{BUCKET}.cos.ap-guangzhou.myqcloud.com/"
SHORT = f"cos://{BUCKET}/"  # the same bucket, the short form


class Objects(Protocol):
    """The bucket as the test sees it, beside the server."""

    def put(self, key: str, data: bytes) -> None: ...

    def read(self, key: str) -> bytes: ...


@dataclass
class Folder:
    root: Path

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()


@dataclass
class S3Bucket:
    s3: MotoS3

    def put(self, key: str, data: bytes) -> None:
        self.s3.client().put_object(Bucket=BUCKET, Key=key, Body=data)

    def read(self, key: str) -> bytes:
        body: bytes = self.s3.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return body


@pytest.fixture(scope="module", params=["folder", "s3"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Objects]]:
    """The server with its embedded folder store, or with an S3 endpoint; and its bucket."""
    server = Server(tmp_path_factory.mktemp(request.param) / "data")
    objects: Objects = Folder(server.data_dir / "cos" / BUCKET)
    if request.param == "s3":
        s3: MotoS3 = request.getfixturevalue("moto_s3")
        s3.new_bucket(BUCKET)
        server.config = f'object_store = "s3"\n[s3]\nendpoint_url = "{s3.url}"\nregion = "{s3.region}"\n'
        server.extra_env = {"AWS_ACCESS_KEY_ID": s3.key_id, "AWS_SECRET_ACCESS_KEY": s3.secret}
        objects = S3Bucket(s3)
    for started in running(server):  # one server; stopped when this fixture ends
        yield started, objects


@pytest.fixture(scope="module")
def objects(served: tuple[Server, Objects]) -> Objects:
    return served[1]


@pytest.fixture(scope="module")
def sdk(served: tuple[Server, Objects]) -> Client:
    return make_client(served[0].endpoint)


def stderr_of(sdk: Client, job_id: str) -> str:
    params = {"JobId": job_id, "TaskName": "t", "TaskInstanceIndexes": [0]}
    return decode_log(call(sdk, "DescribeTaskLogs", params).TaskInstanceLogSet[0].StderrLog)


def instance(sdk: Client, job_id: str, name: str = "t") -> Any:
    return call(sdk, "DescribeTask", {"JobId": job_id, "TaskName": name}).TaskInstanceSet[0]


def test_input_is_in_place_and_outputs_are_uploaded_byte_for_byte(objects: Objects, sdk: Client) -> None:
    data = os.urandom(1 << 20)
    objects.put("in/one/data.bin", data)
    objects.put("in/one/sub/note.txt", b"nested\n")
    command = "mkdir -p out && cp input/data.bin out/copy.bin && cat input/sub/note.txt > out/note.txt"
    mappings = {
        "InputMappings": [{"SourcePath": COS + "in/one/", "DestinationPath": "input"}],
        "OutputMappings": [{"SourcePath": "out", "DestinationPath": SHORT + "results/one/"}],
    }
    job_id = submit(sdk, task("t", command, **mappings))
    assert wait_job(sdk, job_id).JobState == "SUCCEED"
    assert objects.read("results/one/copy.bin") == data
    assert objects.read("results/one/note.txt").decode() == "nested\n"


def test_single_file_input_lands_in_its_folder_and_file_output_under_its_name(
    objects: Objects, sdk: Client
) -> None:
    objects.put("in/two/words.txt", b"alpha beta\n")
    command = "wc -w < in/words.txt > count.txt"
    mappings = {
        "InputMappings": [{"SourcePath": SHORT + "in/two/words.txt", "DestinationPath": "in"}],
        "OutputMappings": [{"SourcePath": "count.txt", "DestinationPath": COS + "results/two/"}],
    }
    job_id = submit(sdk, task("t", command, **mappings))
    assert wait_job(sdk, job_id).JobState == "SUCCEED"
    assert objects.read("results/two/count.txt").decode().strip() == "2"


def test_outputs_are_uploaded_after_the_command_fails(objects: Objects, sdk: Client) -> None:
    command = "mkdir -p out && echo partial > out/log.txt && exit 3"
    mappings = {"OutputMappings": [{"SourcePath": "out", "DestinationPath": COS + "results/failed/"}]}
    job_id = submit(sdk, task("t", command, **mappings))
    assert wait_job(sdk, job_id).JobState == "FAILED"
    assert instance(sdk, job_id).ExitCode == 3
    assert objects.read("results/failed/log.txt").decode() == "partial\n"


def test_output_the_command_did_not_make_fails_the_instance_saying_so(sdk: Client) -> None:
    mappings = {"OutputMappings": [{"SourcePath": "nothing", "DestinationPath": COS + "results/none/"}]}
    job_id = submit(sdk, task("t", "true", **mappings))
    assert wait_job(sdk, job_id).JobState == "FAILED"
    assert "nothing" in instance(sdk, job_id).StateReason


def _tgz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "pack"), [("app.tgz", _tgz), ("app.tar.gz", _tgz), ("app.zip", _zip)])
def test_package_is_unpacked_in_the_working_folder_for_every_instance(
    objects: Objects, sdk: Client, name: str, pack: Any
) -> None:
    objects.put(f"pkg/{name}", pack({"run.sh": b"echo from the package $BATCH_TASK_INSTANCE_INDEX\n"}))
    app = {"DeliveryForm": "PACKAGE", "PackagePath": COS + f"pkg/{name}", "Command": "sh run.sh"}
    job_id = submit(sdk, {**task("t", "", TaskInstanceNum=3), "Application": app})
    assert wait_job(sdk, job_id).JobState == "SUCCEED"
    assert [stdout_of(sdk, job_id, "t", i) for i in range(3)] == [f"from the package {i}\n" for i in range(3)]


def test_a_package_uploaded_again_under_its_path_is_fetched_again_by_the_same_node(
    objects: Objects, sdk: Client
) -> None:
    """A node caches a package by path and version: its next attempt runs what is there now."""
    spec = {"EnvName": "one-node", "DesiredComputeNodeCount": 1, "EnvData": {"InstanceType": "S2.SMALL1"}}
    params = {"ComputeEnv": spec, "Placement": {"Zone": "ap-guangzhou-3"}}
    env_id = call(sdk, "CreateComputeEnv", params).EnvId
    app = {"DeliveryForm": "PACKAGE", "PackagePath": COS + "pkg/again.tgz", "Command": "sh run.sh"}
    seen = []
    for version in ("first", "second"):
        objects.put("pkg/again.tgz", _tgz({"run.sh": f"echo {version}\n".encode()}))
        job_id = submit(sdk, {"TaskName": "t", "Application": app, "EnvId": env_id})
        assert wait_job(sdk, job_id).JobState == "SUCCEED"
        seen.append((stdout_of(sdk, job_id, "t"), instance(sdk, job_id).ComputeNodeInstanceId))
    assert [out for out, _ in seen] == ["first\n", "second\n"]
    assert seen[0][1] == seen[1][1]  # on the one node, whose cache held the first
    call(sdk, "DeleteComputeEnv", {"EnvId": env_id})


def test_missing_input_fails_the_instance_naming_the_path(sdk: Client) -> None:
    mappings = {"InputMappings": [{"SourcePath": COS + "in/none/absent.bin", "DestinationPath": "in"}]}
    job_id = submit(sdk, task("t", "true", **mappings))
    assert wait_job(sdk, job_id, timeout=120).JobState == "FAILED"
    assert "in/none/absent.bin" in instance(sdk, job_id).StateReason


def test_package_that_is_not_an_archive_fails_at_once(objects: Objects, sdk: Client) -> None:
    objects.put("pkg/broken.tgz", b"this is not a tar file")
    app = {"DeliveryForm": "PACKAGE", "PackagePath": COS + "pkg/broken.tgz", "Command": "true"}
    job_id = submit(sdk, {**task("t", ""), "Application": app})
    assert wait_job(sdk, job_id).JobState == "FAILED"
    view = instance(sdk, job_id)
    assert "unpacked" in view.StateReason


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            {"InputMappings": [{"SourcePath": "s3://b/x", "DestinationPath": "in"}]},
            "InvalidParameterValue.RemoteStorageSchemeType",
        ),
        (
            {"InputMappings": [{"SourcePath": "cos://Bad_Bucket/x", "DestinationPath": "in"}]},
            "InvalidParameterValue.RemoteStoragePath",
        ),
        (
            {"InputMappings": [{"SourcePath": COS + "x", "DestinationPath": "../up"}]},
            "InvalidParameterValue.LocalPath",
        ),
        (
            {"InputMappings": [{"SourcePath": COS + "x", "DestinationPath": ""}]},
            "InvalidParameterValue.LocalPath",
        ),
        (
            {"OutputMappings": [{"SourcePath": "out", "DestinationPath": COS + "no-slash"}]},
            "InvalidParameterValue.RemoteStoragePath",
        ),
        (
            {"OutputMappings": [{"SourcePath": "a/../../b", "DestinationPath": COS}]},
            "InvalidParameterValue.LocalPath",
        ),
        (
            {"InputMappings": [{"SourcePath": COS + "x", "DestinationPath": "in"}] * 11},
            "InvalidParameterValue.LimitExceeded",
        ),
        ({"Application": {"DeliveryForm": "PACKAGE", "Command": "true"}}, "MissingParameter"),
        (
            {"Application": {"DeliveryForm": "PACKAGE", "PackagePath": COS + "a.rar", "Command": "true"}},
            "InvalidParameterValue.RemoteStoragePath",
        ),
        (
            {"Application": {"DeliveryForm": "LOCAL", "PackagePath": COS + "a.tgz", "Command": "true"}},
            "InvalidParameter.InvalidParameterCombination",
        ),
        ({"RedirectLocalInfo": {"StdoutLocalPath": "/usr/logs/"}}, "InvalidParameterValue.LocalPath"),
        ({"RedirectLocalInfo": {"StderrLocalFileName": "err.log"}}, "InvalidParameterValue.LocalPath"),
        (
            {"RedirectLocalInfo": {"StdoutLocalPath": "/logs/", "StdoutLocalFileName": "a/b.log"}},
            "InvalidParameterValue.LocalPath",
        ),
        (
            {
                "RedirectLocalInfo": {
                    **{"StdoutLocalPath": "/logs/", "StdoutLocalFileName": "all.log"},
                    **{"StderrLocalPath": "/logs", "StderrLocalFileName": "all.log"},
                }
            },
            "InvalidParameterValue.LocalPath",
        ),
    ],
)
def test_bad_mappings_and_packages_are_refused_at_submit(
    sdk: Client, change: dict[str, Any], code: str
) -> None:
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

    with pytest.raises(TencentCloudSDKException) as info:
        submit(sdk, {**task("t", "true"), **change})
    assert info.value.code == code


def test_absolute_paths_are_mounted_where_the_command_looks(objects: Objects, sdk: Client) -> None:
    """As on a Batch node: inputs at /data/input/ and /opt/data, outputs from /tmp/t1 (the official
    examples' paths), which the sandbox mounts for the attempt alone."""
    objects.put("in/abs/a.txt", b"absolute\n")
    command = "cat /data/input/a.txt /opt/data/a.txt > /tmp/t1/both.txt"
    mappings = {
        "InputMappings": [
            {"SourcePath": COS + "in/abs/", "DestinationPath": "/data/input/"},
            {"SourcePath": COS + "in/abs/", "DestinationPath": "/opt/data"},
        ],
        "OutputMappings": [{"SourcePath": "/tmp/t1", "DestinationPath": COS + "results/abs/"}],
    }
    job_id = submit(sdk, task("t", command, **mappings))
    assert wait_job(sdk, job_id).JobState == "SUCCEED", stderr_of(sdk, job_id)
    assert objects.read("results/abs/both.txt").decode() == "absolute\nabsolute\n"
    assert not Path("/data/input/a.txt").exists()  # mounted for the attempt, not made on the host


def test_absolute_path_in_a_system_folder_is_refused(sdk: Client) -> None:
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

    mappings = {"InputMappings": [{"SourcePath": COS + "x", "DestinationPath": "/usr/local/data"}]}
    with pytest.raises(TencentCloudSDKException) as info:
        submit(sdk, task("t", "true", **mappings))
    assert info.value.code == "InvalidParameterValue.LocalPath"


def test_logs_can_be_read_where_redirect_local_info_puts_them(sdk: Client) -> None:
    """RedirectLocalInfo: the command finds its own logs at the local paths it named, file names'
    placeholders filled in, read-only (what is uploaded stays what the command wrote)."""
    command = (
        'echo "to stdout"; log="/logs/batch/out.$BATCH_TASK_INSTANCE_INDEX.txt"; '
        # on Slurm, the step's output reaches the file through slurmstepd, a moment later
        'for i in $(seq 100); do [ -s "$log" ] && break; sleep 0.05; done; '
        'cat "$log" >&2; ls /logs/batch >&2; '
        "(echo forged > /logs/batch/out.1.txt) 2>/dev/null || echo read-only >&2"
    )
    local = {"StdoutLocalPath": "/logs/batch/", "StdoutLocalFileName": "out.${BATCH_TASK_INSTANCE_INDEX}.txt"}
    local["StderrLocalPath"] = "/logs/batch"
    job_id = submit(sdk, task("t", command, TaskInstanceNum=2, RedirectLocalInfo=local))
    assert wait_job(sdk, job_id).JobState == "SUCCEED"
    params = {"JobId": job_id, "TaskName": "t", "TaskInstanceIndexes": [1]}
    log = call(sdk, "DescribeTaskLogs", params).TaskInstanceLogSet[0]
    assert decode_log(log.StdoutLog) == "to stdout\n"
    assert decode_log(log.StderrLog).split("\n") == [
        "to stdout",
        "out.1.txt",
        f"stderr.{job_id}.t.1.log",
        "read-only",
        "",
    ]
