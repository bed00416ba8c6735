"""The wire protocol, driven by requests the official SDK itself builds and signs.

The SDK's transport (``requests.Session.send``) is replaced so the prepared request, exactly as it
would go on the wire, is captured instead of sent; everything of ours runs for real.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from prometheus_client import CollectorRegistry
from starlette.requests import Request
from tencentcloud.batch.v20170312.batch_client import BatchClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from batchyard.api.actions import ACTIONS, Services
from batchyard.api.app import ApiEndpoint
from batchyard.api.auth import v1_original, v1_signature
from batchyard.api.nonces import NonceLedger
from batchyard.api.protocol import (
    MAX_FORM_BODY_BYTES,
    MAX_GET_BYTES,
    MAX_JSON_BODY_BYTES,
    RESPONSE_CONTENT_TYPE,
    Call,
    RawRequest,
    SecretLookup,
    parse_call,
    render_error,
    render_ok,
    unflatten,
)
from batchyard.config.credentials import Credentials
from batchyard.domain.errors import ApiError
from batchyard.metrics.requests import RequestMetrics
from batchyard.schema.base import dump, parse
from batchyard.schema.jobs import DescribeJobRequest, SubmitJobResponse

SECRET_ID = "AKIDbatchyardPROTOCOL"
SECRET_KEY = "protocol-test-secret-key"
TC3 = "TC3-HMAC-SHA256"
SUBMIT = {
    "Placement": {"Zone": "ap-guangzhou-2"},
    "Job": {
        "JobName": "未命名 job",
        "Priority": 3,
        "Tasks": [
            {"TaskName": "a", "Application": {"Command": "echo a+b c/d*e&f=g", "DeliveryForm": "LOCAL"}},
            {"TaskName": "b", "Application": {"Command": "true", "DeliveryForm": "LOCAL"}},
        ],
    },
}
SUBMIT_FLAT = {
    "Placement": {"Zone": "ap-guangzhou-2"},
    "Job": {
        "JobName": "未命名 job",
        "Priority": "3",
        "Tasks": [
            {"TaskName": "a", "Application": {"Command": "echo a+b c/d*e&f=g", "DeliveryForm": "LOCAL"}},
            {"TaskName": "b", "Application": {"Command": "true", "DeliveryForm": "LOCAL"}},
        ],
    },
}


def secrets(secret_id: str) -> str | None:
    return SECRET_KEY if secret_id == SECRET_ID else None


@dataclass
class Sdk:
    """Builds requests with the official BatchClient and keeps the last one it would have sent."""

    sent: list[requests.PreparedRequest] = field(default_factory=list)
    reply: bytes = b'{"Response": {"RequestId": "r-1"}}'

    def send(self, prepared: requests.PreparedRequest, **_: Any) -> requests.Response:
        """Installed on the Session class as a bound method, so the session itself is not passed."""
        self.sent.append(prepared)
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = RESPONSE_CONTENT_TYPE
        response._content = self.reply
        return response

    def client(self, method: str, sign_method: str, endpoint: str, region: str, language: str) -> BatchClient:
        http = HttpProfile(endpoint=endpoint, reqMethod=method)
        profile = ClientProfile(signMethod=sign_method, httpProfile=http, language=language)
        return BatchClient(Credential(SECRET_ID, SECRET_KEY), region, profile)

    def request(
        self,
        params: Any = SUBMIT,
        *,
        method: str = "POST",
        sign_method: str = TC3,
        endpoint: str = "127.0.0.1:9",
        region: str = "ap-guangzhou",
        language: str = "zh-CN",
        unsigned_payload: bool = False,
        options: dict[str, Any] | None = None,
    ) -> RawRequest:
        client = self.client(method, sign_method, endpoint, region, language)
        client.profile.unsignedPayload = unsigned_payload
        client.call_json("SubmitJob", params, options=options)
        return as_raw(self.sent[-1])


def as_raw(prepared: requests.PreparedRequest) -> RawRequest:
    """What a server sees: raw query after '?', the Host header verbatim, lower-cased header names."""
    headers = {name.lower(): str(value) for name, value in prepared.headers.items()}
    body = prepared.body or b""
    assert isinstance(body, str | bytes)
    raw_body = body.encode() if isinstance(body, str) else body
    query = urlsplit(prepared.url or "").query
    return RawRequest(prepared.method or "", headers["host"], query, headers, raw_body)


@pytest.fixture
def sdk(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sdk]:
    capture = Sdk()
    monkeypatch.setattr(requests.Session, "send", capture.send)
    yield capture


def error_code(raw: RawRequest, lookup: SecretLookup = secrets, now: float | None = None) -> str:
    with pytest.raises(ApiError) as caught:
        parse_call(raw, lookup, now)
    return caught.value.code


def with_headers(raw: RawRequest, **headers: str) -> RawRequest:
    return replace(raw, headers={**raw.headers, **headers})


# --- round trips through the official SDK -------------------------------------------------------


def test_sdk_post_tc3_yields_json_params_and_header_common_params(sdk: Sdk) -> None:
    call = parse_call(sdk.request(), secrets)
    assert call == Call("SubmitJob", "2017-03-12", "ap-guangzhou", "zh-CN", SECRET_ID, SUBMIT)


def test_sdk_get_tc3_unflattens_query_keeping_plus_and_spaces(sdk: Sdk) -> None:
    raw = sdk.request(method="GET")
    assert "Job.Tasks.0.Application.Command=echo+a%2Bb+c%2Fd%2Ae%26f%3Dg" in raw.query
    assert parse_call(raw, secrets).params == SUBMIT_FLAT


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("sign_method", ["HmacSHA1", "HmacSHA256"])
def test_sdk_v1_takes_common_params_out_of_the_action_params(sdk: Sdk, method: str, sign_method: str) -> None:
    call = parse_call(sdk.request(method=method, sign_method=sign_method), secrets)
    assert call == Call("SubmitJob", "2017-03-12", "ap-guangzhou", "zh-CN", SECRET_ID, SUBMIT_FLAT)


def test_sdk_unsigned_payload_is_accepted(sdk: Sdk) -> None:
    raw = sdk.request(unsigned_payload=True)
    assert raw.headers["x-tc-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert parse_call(raw, secrets).params == SUBMIT


@pytest.mark.parametrize(("method", "sign_method"), [("POST", TC3), ("GET", TC3), ("GET", "HmacSHA256")])
def test_tccli_style_host_with_scheme_is_verified_verbatim(sdk: Sdk, method: str, sign_method: str) -> None:
    raw = sdk.request(method=method, sign_method=sign_method, endpoint="http://127.0.0.1:9000")
    assert raw.host == "http://127.0.0.1:9000"
    assert parse_call(raw, secrets).action == "SubmitJob"


@pytest.mark.parametrize("sign_method", [TC3, "HmacSHA1"])
def test_empty_region_is_none_and_language_is_passed_on(sdk: Sdk, sign_method: str) -> None:
    call = parse_call(sdk.request(sign_method=sign_method, region="", language="en-US"), secrets)
    assert (call.region, call.language) == (None, "en-US")


def test_error_envelope_reaches_sdk_caller_as_its_code(sdk: Sdk) -> None:
    sdk.reply = render_error(ApiError("ResourceNotFound.Job"), "r-9")
    with pytest.raises(TencentCloudSDKException) as caught:
        sdk.request()
    assert (caught.value.code, caught.value.requestId) == ("ResourceNotFound.Job", "r-9")


# --- authentication failures --------------------------------------------------------------------


@pytest.mark.parametrize("sign_method", [TC3, "HmacSHA1", "HmacSHA256"])
def test_wrong_key_is_signature_failure(sdk: Sdk, sign_method: str) -> None:
    raw = sdk.request(sign_method=sign_method)
    assert error_code(raw, lambda _id: "not-the-key") == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize("sign_method", [TC3, "HmacSHA1"])
def test_unknown_secret_id_is_not_found(sdk: Sdk, sign_method: str) -> None:
    raw = sdk.request(sign_method=sign_method)
    assert error_code(raw, lambda _id: None) == "AuthFailure.SecretIdNotFound"


@pytest.mark.parametrize("sign_method", [TC3, "HmacSHA256"])
def test_request_older_than_five_minutes_is_expired(sdk: Sdk, sign_method: str) -> None:
    raw = sdk.request(sign_method=sign_method)
    assert error_code(raw, now=time.time() + 400) == "AuthFailure.SignatureExpire"


def test_tampered_body_is_signature_failure(sdk: Sdk) -> None:
    raw = sdk.request()
    tampered = replace(raw, body=raw.body.replace(b"echo", b"rm -rf"))
    assert error_code(tampered) == "AuthFailure.SignatureFailure"


def test_tampered_query_is_signature_failure(sdk: Sdk) -> None:
    raw = sdk.request(method="GET")
    assert error_code(replace(raw, query=raw.query.replace("+", "%20"))) == "AuthFailure.SignatureFailure"


def test_malformed_authorization_header_is_invalid_authorization(sdk: Sdk) -> None:
    raw = with_headers(sdk.request(), authorization="TC3-HMAC-SHA256 Credential=broken")
    assert error_code(raw) == "AuthFailure.InvalidAuthorization"


def test_sdk_skip_sign_is_refused(sdk: Sdk) -> None:
    raw = sdk.request(options={"SkipSign": True})
    assert raw.headers["authorization"] == "SKIP"
    assert error_code(raw) == "AuthFailure.InvalidAuthorization"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_request_without_any_signature_is_invalid_authorization(sdk: Sdk, method: str) -> None:
    raw = sdk.request(method=method)
    headers = {name: value for name, value in raw.headers.items() if name != "authorization"}
    assert error_code(replace(raw, headers=headers)) == "AuthFailure.InvalidAuthorization"


def test_form_post_signed_with_tc3_is_refused(sdk: Sdk) -> None:
    raw = with_headers(sdk.request(), **{"content-type": "application/x-www-form-urlencoded"})
    assert error_code(raw) == "AuthFailure.InvalidAuthorization"


def test_multipart_post_is_invalid_request(sdk: Sdk) -> None:
    raw = with_headers(sdk.request(), **{"content-type": "multipart/form-data; boundary=x"})
    assert error_code(raw) == "InvalidRequest"


def test_signature_is_checked_before_the_body_is_parsed(sdk: Sdk) -> None:
    raw = replace(sdk.request(), body=b"not json")
    assert error_code(raw) == "AuthFailure.SignatureFailure"


# --- transport limits ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "DELETE", "HEAD", "PATCH"])
def test_methods_other_than_get_and_post_are_unsupported(sdk: Sdk, method: str) -> None:
    assert error_code(replace(sdk.request(), method=method)) == "UnsupportedProtocol"


FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    "raw",
    [
        RawRequest("GET", "h", "A=" + "x" * MAX_GET_BYTES, {}, b""),
        RawRequest("POST", "h", "", FORM, b"x" * (MAX_FORM_BODY_BYTES + 1)),
        RawRequest("POST", "h", "", JSON, b"x" * (MAX_JSON_BODY_BYTES + 1)),
    ],
    ids=["get-query", "v1-form", "tc3-json"],
)
def test_oversize_requests_are_refused_before_signature_work(raw: RawRequest) -> None:
    assert error_code(raw) == "RequestSizeLimitExceeded"


def test_json_body_may_exceed_the_form_limit(sdk: Sdk) -> None:
    big = {"Job": {"JobDescription": "d" * (MAX_FORM_BODY_BYTES + 1)}}
    assert parse_call(sdk.request(big), secrets).params == big


# --- common parameters and bodies ---------------------------------------------------------------


@pytest.mark.parametrize("header", ["x-tc-action", "x-tc-version"])
def test_missing_action_or_version_header_is_missing_parameter(sdk: Sdk, header: str) -> None:
    raw = sdk.request()
    headers = {name: value for name, value in raw.headers.items() if name != header}
    assert error_code(replace(raw, headers=headers)) == "MissingParameter"


def test_v1_without_action_is_missing_parameter() -> None:
    form = {"JobId": "job-1", "Nonce": "1", "SecretId": SECRET_ID, "Timestamp": str(int(time.time()))}
    raw = RawRequest("GET", "127.0.0.1:9", "", {}, b"")
    form["Signature"] = v1_signature(SECRET_KEY, "HmacSHA1", v1_original(raw, form))
    assert error_code(replace(raw, query=urlencode(form))) == "MissingParameter"


def test_unknown_language_is_invalid_parameter_value(sdk: Sdk) -> None:
    assert error_code(with_headers(sdk.request(), **{"x-tc-language": "ja-JP"})) == "InvalidParameterValue"


@pytest.mark.parametrize("params", [[1, 2], "text", None])
def test_body_that_is_not_a_json_object_is_invalid_parameter(sdk: Sdk, params: Any) -> None:
    assert error_code(sdk.request(params)) == "InvalidParameter"


# --- unflatten ----------------------------------------------------------------------------------


def test_unflatten_builds_nested_lists_ordered_by_index_with_gaps_closed() -> None:
    pairs = [
        ("Job.Tasks.10.TaskName", "c"),
        ("Job.Tasks.0.TaskName", "a"),
        ("Job.Tasks.2.Application.Command", "echo 1"),
        ("Job.Dependences.0.StartTask", "a"),
        ("JobIds.0", "job-1"),
    ]
    assert unflatten(pairs) == {
        "Job": {
            "Tasks": [{"TaskName": "a"}, {"Application": {"Command": "echo 1"}}, {"TaskName": "c"}],
            "Dependences": [{"StartTask": "a"}],
        },
        "JobIds": ["job-1"],
    }


def test_unflatten_keeps_a_single_object_filter_as_an_object() -> None:
    pairs = [("Filters.Name", "compute-node-id"), ("Filters.Values.0", "node-1"), ("Limit", "5")]
    assert unflatten(pairs) == {"Filters": {"Name": "compute-node-id", "Values": ["node-1"]}, "Limit": "5"}


@pytest.mark.parametrize(
    "pairs",
    [
        [("A", "1"), ("A.B", "2")],
        [("A.B", "2"), ("A", "1")],
        [("A.0", "1"), ("A.0.B", "2")],
        [("A.0", "x"), ("A.B", "y")],
        [("A..B", "1")],
        [("A.", "1")],
        [("A", "1"), ("A", "2")],
    ],
)
def test_unflatten_refuses_conflicting_or_malformed_keys(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(ApiError) as caught:
        unflatten(pairs)
    assert caught.value.code == "InvalidParameter"


def test_repeated_query_key_is_invalid_parameter() -> None:
    """v1 signs one value per key, so a repeated key is refused before any signature is computed."""
    raw = RawRequest("GET", "127.0.0.1:9", "JobIds.0=job-1&JobIds.0=job-2&Signature=x", {}, b"")
    assert error_code(raw) == "InvalidParameter"


# --- envelopes ----------------------------------------------------------------------------------


def test_render_ok_wraps_payload_and_our_request_id_wins() -> None:
    body = json.loads(render_ok(b'{"JobId":"job-1","RequestId":"stale"}', "r-1"))
    assert body == {"Response": {"JobId": "job-1", "RequestId": "r-1"}}


def test_render_error_carries_code_message_and_request_id() -> None:
    body = json.loads(render_error(ApiError("InvalidParameter", "bad 参数"), "r-2"))
    error = {"Code": "InvalidParameter", "Message": "bad 参数"}
    assert body == {"Response": {"Error": error, "RequestId": "r-2"}}


@pytest.mark.parametrize("message", ["lone \ud800 surrogate", "NUL \x00 byte", "参数 💥"])
def test_render_error_is_ascii_json_whatever_the_message_echoes(message: str) -> None:
    """An error may echo anything a client sent; rendering it must never fail."""
    body = render_error(ApiError("InvalidParameter", message), "r-3")
    assert body.isascii()
    assert json.loads(body)["Response"]["Error"]["Message"] == message


def test_json_number_too_long_to_convert_is_invalid_parameter_value(sdk: Sdk) -> None:
    """Valid JSON, so not "not valid JSON": the number is out of range, as a shorter one would be.
    The payload is unsigned so that the SDK need not encode a number Python cannot print."""
    raw = replace(sdk.request({"Limit": 1}, unsigned_payload=True), body=b'{"Limit":' + b"9" * 5000 + b"}")
    assert error_code(raw) == "InvalidParameterValue"


def test_unflatten_refuses_names_nested_deeper_than_any_parameter() -> None:
    """Before the cap, a 32 KB query of dots made the list-building recursion overflow."""
    with pytest.raises(ApiError) as caught:
        unflatten([("A." * 10_000 + "B", "x")])
    assert caught.value.code == "InvalidParameter"
    deepest = "Job.Tasks.0.ComputeEnv.EnvData.VirtualPrivateClouds.0.PrivateIpAddresses.0"
    env = unflatten([(deepest, "10.0.0.1")])["Job"]["Tasks"][0]["ComputeEnv"]["EnvData"]
    assert env == {"VirtualPrivateClouds": [{"PrivateIpAddresses": ["10.0.0.1"]}]}


def test_query_bytes_that_are_not_utf8_reach_the_schema_as_surrogates_and_are_refused() -> None:
    """The app decodes the raw query with surrogateescape so signatures see the bytes received; the
    byte 0xff then arrives as a lone surrogate, which the schema refuses before anything uses it."""
    form = {"Action": "DescribeJob", "Version": "2017-03-12", "Nonce": "1", "SecretId": SECRET_ID}
    form |= {"Timestamp": str(int(time.time())), "JobId": "job-\udcff"}
    raw = RawRequest("GET", "127.0.0.1:9", "", {}, b"")
    form["Signature"] = v1_signature(SECRET_KEY, "HmacSHA1", v1_original(raw, form))
    query = urlencode({key: value for key, value in form.items() if key != "JobId"}) + "&JobId=job-\udcff"
    params = parse_call(replace(raw, query=query), secrets).params
    assert params["JobId"] == "job-\udcff"
    with pytest.raises(ApiError) as caught:
        parse(DescribeJobRequest, params)
    assert (caught.value.code, caught.value.message) == (
        "InvalidParameter",
        "The parameter `JobId` is not valid Unicode text: it holds a lone surrogate.",
    )


async def _verified(_request: Request) -> Call:
    return Call("SubmitJob", "2017-03-12", "ap-guangzhou", "en-US", "AKID", {})


async def _unrenderable(_call: Call) -> bytes:
    return dump(SubmitJobResponse(JobId="job-\ud800"))


def test_respond_is_a_json_envelope_even_when_a_success_cannot_be_rendered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = CollectorRegistry()
    metrics = RequestMetrics(registry, ACTIONS)
    endpoint = ApiEndpoint(cast(Services, None), cast(Credentials, None), {}, None, NonceLedger(), metrics)
    monkeypatch.setattr(endpoint, "_call", _verified)
    monkeypatch.setattr(endpoint, "_handle", _unrenderable)
    scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}
    response = asyncio.run(endpoint.respond(Request(scope)))
    assert (response.status_code, response.headers["content-type"]) == (200, RESPONSE_CONTENT_TYPE)
    reply = json.loads(bytes(response.body))["Response"]
    assert reply["Error"]["Code"] == "InternalError"
    assert reply["RequestId"] in reply["Error"]["Message"]
    counted = {"action": "SubmitJob", "code": "InternalError"}
    assert registry.get_sample_value("batchyard_api_requests_total", counted) == 1
