"""Tencent Cloud API 3.0 on the wire: a raw HTTP request in, a verified ``Call`` out, envelopes back.

This is the one module that knows where the common parameters live (X-TC-* headers for TC3, form or
query for v1), how parameters are encoded (JSON body, or flattened dotted keys) and what the response
envelope looks like. It verifies the signature before it trusts anything else in the request, and it
leaves the meaning of the action and its parameters to the caller.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from batchyard.api.auth import verify_tc3, verify_v1
from batchyard.api.nonces import NonceLedger
from batchyard.api.raw import RawRequest, SecretLookup
from batchyard.domain.errors import ApiError

__all__ = [
    "MAX_FORM_BODY_BYTES",
    "MAX_GET_BYTES",
    "MAX_JSON_BODY_BYTES",
    "RESPONSE_CONTENT_TYPE",
    "Call",
    "RawRequest",
    "SecretLookup",
    "parse_call",
    "render_error",
    "render_ok",
    "unflatten",
]

MAX_GET_BYTES = 32 * 1024
MAX_FORM_BODY_BYTES = 1024 * 1024
MAX_JSON_BODY_BYTES = 10 * 1024 * 1024
RESPONSE_CONTENT_TYPE = "application/json"
"""Exactly this: the SDK ignores ``Response.Error`` under any other value, even with a charset."""

DEFAULT_LANGUAGE = "zh-CN"
LANGUAGES = frozenset({"zh-CN", "en-US"})
V1_COMMON_PARAMS = frozenset(
    {
        "Action",
        "Version",
        "Region",
        "Timestamp",
        "Nonce",
        "SecretId",
        "Signature",
        "SignatureMethod",
        "Token",
        "Language",
        "RequestClient",
    }
)
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"
_MAX_NAME_SEGMENTS = 16
"""Well past the deepest Batch parameter (9 segments, ``Job.Tasks.0.ComputeEnv.EnvData.
VirtualPrivateClouds.0.PrivateIpAddresses.0``), and shallow enough for ``_listify`` to recurse
safely whatever a 32 KB query holds."""


@dataclass(frozen=True)
class Call:
    """A verified request, reduced to what the action layer needs whichever signature scheme carried it."""

    action: str
    version: str
    region: str | None
    language: str
    secret_id: str
    params: dict[str, Any]


def parse_call(
    raw: RawRequest, secrets: SecretLookup, now: float | None = None, nonces: NonceLedger | None = None
) -> Call:
    """Turn a raw request into a verified Call, or raise the ApiError the real service would answer.

    Any ``Authorization`` header commits the request to TC3 (so a bad one is an auth failure rather than
    a silent fall-back to v1); without one, the v1 ``Signature`` parameter is required. Tokens
    (X-TC-Token / Token) are accepted but not checked, as batchyard issues no temporary credentials.
    A server passes ``nonces`` so that a v1 request cannot be replayed while its timestamp is valid.
    """
    clock = time.time() if now is None else now
    _check_transport(raw)
    if "authorization" in raw.headers:
        return _tc3_call(raw, secrets, clock)
    return _v1_call(raw, secrets, clock, nonces)


def unflatten(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Rebuild nesting from GET/v1 dotted keys, where only the index segments say "this is a list".

    Lists follow index order with gaps closed, because the SDK always numbers from 0 without gaps and
    other clients' gaps carry no meaning. Values stay strings: types are the schema's business.
    """
    root: dict[str, Any] = {}
    for key, value in pairs:
        _insert(root, key, value)
    return {name: _listify(child, name) for name, child in root.items()}


def render_ok(payload: bytes, request_id: str) -> bytes:
    """Wrap a serialised response object; the RequestId is appended last, so it wins over any stray one."""
    if not (payload.startswith(b"{") and payload.endswith(b"}")):
        raise ValueError("a response payload must be a JSON object")
    members = payload[1:-1].strip()
    separator = b"," if members else b""
    request = json.dumps(request_id).encode()
    return b'{"Response":{' + members + separator + b'"RequestId":' + request + b"}}"


def render_error(error: ApiError, request_id: str) -> bytes:
    """The SDK reads Error and RequestId together; a missing RequestId turns the error into a KeyError."""
    return _envelope({"Error": {"Code": error.code, "Message": error.message}, "RequestId": request_id})


def _check_transport(raw: RawRequest) -> None:
    """Refused before any signature work, so an oversize body is never hashed."""
    if raw.method not in ("GET", "POST"):
        raise ApiError("UnsupportedProtocol", f"The method {raw.method} is not supported; use GET or POST.")
    size, limit = _size_and_limit(raw)
    if size > limit:
        raise ApiError("RequestSizeLimitExceeded", f"The request is {size} bytes; the limit is {limit}.")


def _size_and_limit(raw: RawRequest) -> tuple[int, int]:
    """The query is counted in characters: one per byte for the ASCII every client sends."""
    if raw.method == "GET":
        return len(raw.query) + len(raw.body), MAX_GET_BYTES
    limit = MAX_FORM_BODY_BYTES if _media_type(raw) == _FORM else MAX_JSON_BODY_BYTES
    return len(raw.body), limit


def _tc3_call(raw: RawRequest, secrets: SecretLookup, now: float) -> Call:
    _check_tc3_content_type(raw)
    secret_id = verify_tc3(raw, secrets, now)
    headers = raw.headers
    return Call(
        action=_required(headers.get("x-tc-action"), "X-TC-Action"),
        version=_required(headers.get("x-tc-version"), "X-TC-Version"),
        region=headers.get("x-tc-region") or None,
        language=_language(headers.get("x-tc-language")),
        secret_id=secret_id,
        params=_tc3_params(raw),
    )


def _check_tc3_content_type(raw: RawRequest) -> None:
    """A TC3 POST carries JSON; a form POST is v1-only, and Batch has no use for multipart bodies."""
    media_type = _media_type(raw)
    if raw.method == "GET" or media_type == _JSON:
        return
    if media_type == _FORM:
        raise ApiError(
            "AuthFailure.InvalidAuthorization",
            "A form-encoded POST must be signed with HmacSHA1 or HmacSHA256, not TC3-HMAC-SHA256.",
        )
    raise ApiError("InvalidRequest", f"A TC3 POST body must be {_JSON}, not {media_type or 'untyped'}.")


def _tc3_params(raw: RawRequest) -> dict[str, Any]:
    if raw.method == "GET":
        return unflatten(_decode_form(raw.query).items())
    return _json_object(raw.body)


def _v1_call(raw: RawRequest, secrets: SecretLookup, now: float, nonces: NonceLedger | None) -> Call:
    form = _v1_form(raw)
    if "Signature" not in form:
        raise ApiError(
            "AuthFailure.InvalidAuthorization",
            "The request has neither a TC3-HMAC-SHA256 Authorization header nor a Signature parameter.",
        )
    secret_id = verify_v1(raw, form, secrets, now, nonces)
    return Call(
        action=_required(form.get("Action"), "Action"),
        version=_required(form.get("Version"), "Version"),
        region=form.get("Region") or None,
        language=_language(form.get("Language")),
        secret_id=secret_id,
        params=unflatten((key, value) for key, value in form.items() if key not in V1_COMMON_PARAMS),
    )


def _v1_form(raw: RawRequest) -> dict[str, str]:
    """v1 reads the query for GET and a form body for POST; any other POST body cannot be v1."""
    if raw.method == "GET":
        return _decode_form(raw.query)
    if _media_type(raw) == _FORM:
        return _decode_form(_utf8(raw.body))
    return {}


def _decode_form(text: str) -> dict[str, str]:
    """Repeated keys are refused: v1 signs one value per key and unflatten could not choose between them."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as exc:
        raise ApiError("InvalidParameter", "Parameters must be UTF-8 once percent-decoded.") from exc
    form = dict(pairs)
    if len(form) != len(pairs):
        raise ApiError("InvalidParameter", "A parameter is given more than once.")
    return form


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError("InvalidParameter", "The form body is not UTF-8.") from exc


def _json_object(body: bytes) -> dict[str, Any]:
    """RecursionError is caught too: a body of nested brackets must be a client error, not a crash."""
    try:
        value = json.loads(body, parse_constant=_reject_constant, parse_int=_json_int)
    except (ValueError, RecursionError) as exc:
        raise ApiError("InvalidParameter", "The request body is not valid JSON.") from exc
    if not isinstance(value, dict):
        raise ApiError("InvalidParameter", "The request body must be a JSON object.")
    return value


def _json_int(digits: str) -> int:
    """Python converts at most 4300 digits; a longer number is valid JSON, only far out of range."""
    try:
        return int(digits)
    except ValueError:
        raise ApiError(
            "InvalidParameterValue",
            f"A number in the request body has {len(digits)} digits, far past the 64-bit range.",
        ) from None


def _reject_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (RFC 8259), so no parameter may carry them."""
    raise ValueError(f"{name} is not a JSON value")


def _required(value: str | None, name: str) -> str:
    if not value:
        raise ApiError("MissingParameter", f"The request is missing {name}.")
    return value


def _language(value: str | None) -> str:
    if not value:
        return DEFAULT_LANGUAGE
    if value not in LANGUAGES:
        raise ApiError("InvalidParameterValue", f"Language must be zh-CN or en-US, not {value!r}.")
    return value


def _media_type(raw: RawRequest) -> str:
    return raw.headers.get("content-type", "").partition(";")[0].strip().lower()


def _insert(root: dict[str, Any], key: str, value: str) -> None:
    *parents, leaf = _segments(key)
    node = root
    for segment in parents:
        child = node.setdefault(segment, {})
        if not isinstance(child, dict):
            raise _conflict(key)
        node = child
    if leaf in node:
        raise _conflict(key)
    node[leaf] = value


def _segments(key: str) -> list[str]:
    segments = key.split(".")
    if "" in segments:
        raise ApiError("InvalidParameter", f"The parameter name {key!r} is malformed.")
    if len(segments) > _MAX_NAME_SEGMENTS:
        raise ApiError("InvalidParameter", f"The parameter name {key!r} is nested deeper than any parameter.")
    return segments


def _listify(node: Any, path: str) -> Any:
    """Turn all-index dicts into lists, depth first; mixing indexes and names has no reading."""
    if not isinstance(node, dict):
        return node
    indexes = [name for name in node if _is_index(name)]
    if indexes and len(indexes) != len(node):
        raise ApiError("InvalidParameter", f"{path} mixes list indexes and member names.")
    if indexes:
        ordered = sorted(node.items(), key=lambda item: int(item[0]))
        return [_listify(child, f"{path}.{name}") for name, child in ordered]
    return {name: _listify(child, f"{path}.{name}") for name, child in node.items()}


def _is_index(segment: str) -> bool:
    """Capped at 9 digits so int() never meets an unbounded string; no real list is that long."""
    return len(segment) <= 9 and segment.isascii() and segment.isdigit()


def _conflict(key: str) -> ApiError:
    return ApiError("InvalidParameter", f"The parameter {key!r} conflicts with another parameter.")


def _envelope(response: Mapping[str, Any]) -> bytes:
    """ASCII-only JSON, so rendering never fails: an error may echo any string the client sent, and a
    lone surrogate has no UTF-8 encoding but does have a JSON escape."""
    return json.dumps({"Response": response}, separators=(",", ":")).encode("ascii")
