"""Protocol, authentication and common errors as a client sees them over real HTTP.

Every refusal is checked twice: through the official SDK (the exception's ``code``) and, in one
table-driven test, on the raw wire (HTTP 200, ``Content-Type: application/json`` exactly, a uuid
``RequestId``). The signature variants the SDK can produce are checked to succeed end to end.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from tencentcloud.batch.v20170312 import batch_client
from tencentcloud.common import abstract_client, credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from conftest import (
    REGION,
    SECRET_ID,
    SECRET_KEY,
    ZONE,
    Server,
    call,
    make_client,
    stdout_of,
    task,
    wait_job,
)

VERSION = "2017-03-12"
JSON = "application/json"
SPECIAL_TEXT = """x y+z&k=v "dq" 'sq'"""
SPECIAL_COMMAND = r"""printf '%s\n' "x y+z&k=v \"dq\" 'sq'" """.strip()
VALID_SUBMIT: dict[str, Any] = {
    "Placement": {"Zone": ZONE},
    "Job": {"JobName": "proto", "Tasks": [task("a", "true")]},
}


def client_with(
    srv: Server,
    secret_id: str = SECRET_ID,
    secret_key: str = SECRET_KEY,
    region: str = REGION,
    **profile: Any,
) -> batch_client.BatchClient:
    http = HttpProfile(endpoint=srv.endpoint, protocol="http", reqTimeout=30)
    client_profile = ClientProfile(httpProfile=http)
    for name, value in profile.items():  # not every option is a constructor argument (unsignedPayload)
        setattr(client_profile, name, value)
    return batch_client.BatchClient(credential.Credential(secret_id, secret_key), region, client_profile)


def sdk_error(action: Callable[[], Any]) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as info:
        action()
    return info.value


# ---------------------------------------------------------------------------------------------------
# Hand-built TC3-HMAC-SHA256 requests, signed here with hmac (independently of the server's code).


def _hmac256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def tc3_authorization(
    *,
    host: str,
    timestamp: int,
    body: bytes,
    method: str = "POST",
    query: str = "",
    content_type: str = JSON,
    secret_id: str = SECRET_ID,
    secret_key: str = SECRET_KEY,
) -> str:
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    payload = b"" if method == "GET" else body
    canonical = "\n".join(
        (
            method,
            "/",
            query if method == "GET" else "",
            f"content-type:{content_type}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload).hexdigest(),
        )
    )
    scope = f"{date}/batch/tc3_request"
    string_to_sign = "\n".join(
        ("TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest())
    )
    key = _hmac256(_hmac256(_hmac256(("TC3" + secret_key).encode(), date), "batch"), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )


SIGNED = "<signed>"


@dataclass(frozen=True)
class Raw:
    """One raw request; ``authorization`` is SIGNED for a correct TC3 header, None to send none."""

    method: str = "POST"
    action: str = "DescribeJobs"
    params: dict[str, Any] = field(default_factory=dict)
    version: str = VERSION
    region: str | None = REGION
    clock_offset: int = 0
    secret_id: str = SECRET_ID
    secret_key: str = SECRET_KEY
    authorization: str | None = SIGNED

    def send(self, srv: Server) -> httpx.Response:
        body = json.dumps(self.params).encode()
        timestamp = int(time.time()) + self.clock_offset
        headers = {
            "Host": srv.endpoint,
            "Content-Type": JSON,
            "X-TC-Action": self.action,
            "X-TC-Version": self.version,
            "X-TC-Timestamp": str(timestamp),
        }
        if self.region is not None:
            headers["X-TC-Region"] = self.region
        if self.authorization == SIGNED:
            headers["Authorization"] = tc3_authorization(
                host=srv.endpoint,
                timestamp=timestamp,
                body=body,
                method=self.method,
                secret_id=self.secret_id,
                secret_key=self.secret_key,
            )
        elif self.authorization is not None:
            headers["Authorization"] = self.authorization
        return httpx.request(self.method, srv.url + "/", headers=headers, content=body, timeout=30)


def envelope(response: httpx.Response) -> dict[str, Any]:
    """What every reply must look like to the SDK: 200, exact JSON type, a uuid RequestId."""
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    inner = response.json()["Response"]
    uuid.UUID(inner["RequestId"])
    return dict(inner)


def error_code(response: httpx.Response) -> str:
    return str(envelope(response)["Error"]["Code"])


# ---------------------------------------------------------------------------------------------------
# Authentication, through the SDK.


def test_wrong_secret_key_is_signature_failure(srv: Server) -> None:
    client = client_with(srv, secret_key="not-the-right-key-0000000000000")
    assert sdk_error(lambda: call(client, "DescribeJobs", {})).code == "AuthFailure.SignatureFailure"


def test_unknown_secret_id_is_secret_id_not_found(srv: Server) -> None:
    client = client_with(srv, secret_id="AKIDnobodyhasthisid000000000000000")
    assert sdk_error(lambda: call(client, "DescribeJobs", {})).code == "AuthFailure.SecretIdNotFound"


class _ShiftedClock:
    """Stands in for the ``time`` module inside the SDK's client, so only its timestamps move."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def time(self) -> float:
        return time.time() + self.offset


@pytest.mark.parametrize("offset", [-400, 400], ids=["past", "future"])
def test_timestamp_more_than_five_minutes_off_is_signature_expire(
    srv: Server, monkeypatch: pytest.MonkeyPatch, offset: int
) -> None:
    monkeypatch.setattr(abstract_client, "time", _ShiftedClock(offset))
    client = client_with(srv)
    assert sdk_error(lambda: call(client, "DescribeJobs", {})).code == "AuthFailure.SignatureExpire"


def test_timestamp_a_few_minutes_off_is_still_accepted(srv: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(abstract_client, "time", _ShiftedClock(-200))
    client = client_with(srv)
    assert call(client, "DescribeJobs", {}).TotalCount >= 0


def test_sdk_skip_sign_is_invalid_authorization(sdk: batch_client.BatchClient) -> None:
    error = sdk_error(lambda: sdk.call_json("DescribeJobs", {}, options={"SkipSign": True}))
    assert error.code == "AuthFailure.InvalidAuthorization"


@pytest.mark.parametrize(
    "authorization",
    [
        "TC3-HMAC-SHA256 garbage",
        "TC3-HMAC-SHA256 Credential=AKIDx/2024-01-01/batch/tc3_request",
        "TC3-HMAC-SHA256 Credential=AKIDx, SignedHeaders=content-type;host, Signature=00",
        "Basic dXNlcjpwYXNz",
        "",
    ],
    ids=["no-fields", "credential-only", "short-credential", "basic", "empty"],
)
def test_malformed_authorization_header_is_invalid_authorization(srv: Server, authorization: str) -> None:
    assert error_code(Raw(authorization=authorization).send(srv)) == "AuthFailure.InvalidAuthorization"


def test_request_without_any_signature_is_auth_failure(srv: Server) -> None:
    code = error_code(Raw(authorization=None).send(srv))
    assert code.startswith("AuthFailure.")


# ---------------------------------------------------------------------------------------------------
# Action, version, method and region.


def test_unknown_action_is_invalid_action(sdk: batch_client.BatchClient) -> None:
    assert sdk_error(lambda: sdk.call_json("LaunchRocket", {})).code == "InvalidAction"


def test_wrong_version_is_no_such_version(srv: Server) -> None:
    client = client_with(srv)
    client._apiVersion = "2020-01-01"
    assert sdk_error(lambda: call(client, "DescribeJobs", {})).code == "NoSuchVersion"


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_methods_other_than_get_and_post_are_unsupported_protocol(srv: Server, method: str) -> None:
    assert error_code(Raw(method=method).send(srv)) == "UnsupportedProtocol"


def test_unknown_region_is_unsupported_region(srv: Server) -> None:
    client = client_with(srv, region="xx-nowhere")
    assert sdk_error(lambda: call(client, "DescribeJobs", {})).code == "UnsupportedRegion"


def test_missing_region_is_missing_parameter(srv: Server) -> None:
    client = client_with(srv, region="")
    assert sdk_error(lambda: call(client, "DescribeJobs", {})).code == "MissingParameter"


# ---------------------------------------------------------------------------------------------------
# Parameter shape.


def test_describe_job_without_job_id_is_missing_parameter(sdk: batch_client.BatchClient) -> None:
    assert sdk_error(lambda: call(sdk, "DescribeJob", {})).code == "MissingParameter"


def test_submit_job_task_without_application_is_missing_parameter(sdk: batch_client.BatchClient) -> None:
    bare = {k: v for k, v in task("a", "true").items() if k != "Application"}
    params = {"Placement": {"Zone": ZONE}, "Job": {"Tasks": [bare]}}
    assert sdk_error(lambda: call(sdk, "SubmitJob", params)).code == "MissingParameter"


def test_submit_job_without_placement_is_missing_parameter(sdk: batch_client.BatchClient) -> None:
    params = {"Job": VALID_SUBMIT["Job"]}
    assert sdk_error(lambda: call(sdk, "SubmitJob", params)).code == "MissingParameter"


def test_undefined_member_is_unknown_parameter(sdk: batch_client.BatchClient) -> None:
    """call_json sends the dict as given; SDK models would silently drop the stray member."""
    params = {"JobId": "job-abcdefgh", "Colour": "blue"}
    assert sdk_error(lambda: sdk.call_json("DescribeJob", params)).code == "UnknownParameter"


def test_undefined_nested_member_is_unknown_parameter(sdk: batch_client.BatchClient) -> None:
    job = {"Tasks": [{**task("a", "true"), "Flavour": "x"}]}
    params = {"Placement": {"Zone": ZONE}, "Job": job}
    assert sdk_error(lambda: sdk.call_json("SubmitJob", params)).code == "UnknownParameter"


def test_non_numeric_task_instance_num_is_invalid_parameter(sdk: batch_client.BatchClient) -> None:
    params = {"Placement": {"Zone": ZONE}, "Job": {"Tasks": [task("a", "true", TaskInstanceNum="abc")]}}
    assert sdk_error(lambda: call(sdk, "SubmitJob", params)).code == "InvalidParameter"


# ---------------------------------------------------------------------------------------------------
# The same refusals on the raw wire: always HTTP 200, exact JSON type, a RequestId.

RAW_CASES: dict[str, tuple[Raw, str]] = {
    "wrong-key": (Raw(secret_key="wrong"), "AuthFailure.SignatureFailure"),
    "unknown-id": (Raw(secret_id="AKIDunknown"), "AuthFailure.SecretIdNotFound"),
    "expired": (Raw(clock_offset=-310), "AuthFailure.SignatureExpire"),
    "future": (Raw(clock_offset=310), "AuthFailure.SignatureExpire"),
    "malformed": (Raw(authorization="TC3-HMAC-SHA256 nonsense"), "AuthFailure.InvalidAuthorization"),
    "skip": (Raw(authorization="SKIP"), "AuthFailure.InvalidAuthorization"),
    "unsigned": (Raw(authorization=None), "AuthFailure.InvalidAuthorization"),
    "action": (Raw(action="LaunchRocket"), "InvalidAction"),
    "version": (Raw(version="2020-01-01"), "NoSuchVersion"),
    "put": (Raw(method="PUT"), "UnsupportedProtocol"),
    "delete": (Raw(method="DELETE"), "UnsupportedProtocol"),
    "region": (Raw(region="xx-nowhere"), "UnsupportedRegion"),
    "no-region": (Raw(region=None), "MissingParameter"),
    "missing": (Raw(action="DescribeJob"), "MissingParameter"),
    "unknown": (Raw(action="DescribeJob", params={"JobId": "job-abcdefgh", "X": 1}), "UnknownParameter"),
    "type": (Raw(params={"Limit": "abc"}), "InvalidParameter"),
    "not-found": (Raw(action="DescribeJob", params={"JobId": "job-abcdefgh"}), "ResourceNotFound.Job"),
}


@pytest.mark.parametrize(("request_", "code"), RAW_CASES.values(), ids=RAW_CASES.keys())
def test_every_error_is_http_200_with_exact_json_content_type(srv: Server, request_: Raw, code: str) -> None:
    assert error_code(request_.send(srv)) == code


def test_hand_signed_request_succeeds(srv: Server) -> None:
    """Proves the raw requests above fail for the stated reason, not because the signer is wrong."""
    reply = envelope(Raw().send(srv))
    assert "Error" not in reply
    assert isinstance(reply["TotalCount"], int)


def test_get_without_parameters_is_refused_as_json(srv: Server) -> None:
    response = httpx.get(srv.url + "/", timeout=30)
    assert error_code(response).startswith("AuthFailure.")


# ---------------------------------------------------------------------------------------------------
# Signature variants that must succeed.


def test_sdk_post_with_tc3_succeeds(sdk: batch_client.BatchClient) -> None:
    job_id = call(sdk, "SubmitJob", VALID_SUBMIT).JobId
    assert call(sdk, "DescribeJob", {"JobId": job_id}).JobName == "proto"


def special_job(name: str) -> dict[str, Any]:
    return {"Placement": {"Zone": ZONE}, "Job": {"JobName": name, "Tasks": [task("a", SPECIAL_COMMAND)]}}


def test_sdk_get_delivers_special_characters_intact(srv: Server, sdk: batch_client.BatchClient) -> None:
    """GET flattens parameters with quote_plus: '+' for spaces, %2B for '+', so nothing may be re-encoded."""
    getter = make_client(srv.endpoint, http={"reqMethod": "GET"})
    job_id = call(getter, "SubmitJob", special_job("get job")).JobId
    job = wait_job(sdk, job_id)
    assert job.JobState == "SUCCEED"
    assert job.JobName == "get job"
    assert stdout_of(getter, job_id, "a") == SPECIAL_TEXT + "\n"
    info = call(getter, "DescribeJobSubmitInfo", {"JobId": job_id})
    assert info.Tasks[0].Application.Command == SPECIAL_COMMAND


@pytest.mark.parametrize("sign_method", ["HmacSHA1", "HmacSHA256"])
def test_sdk_v1_signature_succeeds_with_parameters_intact(
    srv: Server, sdk: batch_client.BatchClient, sign_method: str
) -> None:
    v1 = client_with(srv, signMethod=sign_method)
    job_id = call(v1, "SubmitJob", special_job("v1 job")).JobId
    info = call(v1, "DescribeJobSubmitInfo", {"JobId": job_id})
    assert info.Tasks[0].Application.Command == SPECIAL_COMMAND
    assert info.Tasks[0].TaskInstanceNum == 1
    assert call(sdk, "DescribeJob", {"JobId": job_id}).JobName == "v1 job"


def test_sdk_unsigned_payload_succeeds(srv: Server) -> None:
    client = client_with(srv, unsignedPayload=True)
    job_id = call(client, "SubmitJob", VALID_SUBMIT).JobId
    assert call(client, "DescribeJob", {"JobId": job_id}).JobId == job_id


def test_server_log_has_no_internal_errors(srv: Server) -> None:
    """None of the requests above may have crashed a handler."""
    log = srv.log_file.read_text(errors="replace")
    assert "Traceback" not in log
