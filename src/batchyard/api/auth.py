"""Signature checks for Tencent Cloud API 3.0: TC3-HMAC-SHA256 and the legacy v1 HmacSHA1/HmacSHA256.

Functions over a ``RawRequest``, pure but for the v1 Nonce ledger a server hands in, so they can be
tested with the official SDK's own output and reused by any transport. Every failure is an ``ApiError``
carrying the code the real service answers with, which lets the API layer render it without knowing
anything about signing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from batchyard.api.nonces import NonceLedger
from batchyard.api.raw import RawRequest, SecretLookup
from batchyard.domain.errors import ApiError

TC3_ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "batch"
CLOCK_SKEW_SECONDS = 300
"""Both schemes refuse a timestamp more than five minutes from the server clock (API_NOTES §1.3); a v1
Nonce stays used for as long as its request's timestamp is inside this window."""

_UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_REQUIRED_SIGNED_HEADERS = frozenset({"content-type", "host"})
_AUTHORIZATION_FIELDS = frozenset({"Credential", "SignedHeaders", "Signature"})
_V1_DIGESTS: Mapping[str, str] = {"HmacSHA1": "sha1", "HmacSHA256": "sha256"}
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_NONCE = re.compile(r"[0-9]{1,20}")
_HOST_WITH_PORT = re.compile(r"(?P<name>\[[0-9A-Fa-f:.]+\]|[^:/\[\]]+):[0-9]{1,5}")
"""``name:port`` or ``[ipv6]:port``, the bracketed IPv6 name kept whole as the Node.js SDK signs it."""


@dataclass(frozen=True)
class Tc3Authorization:
    """A TC3 ``Authorization`` header in parts; ``signed_headers`` stays as sent because it is signed."""

    secret_id: str
    date: str
    service: str
    signed_headers: str
    signature: str


def tc3_signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    """Derive the scoped key step by step so a leaked signature never exposes the SecretKey itself."""
    key = _hmac_sha256(("TC3" + secret_key).encode(), date)
    key = _hmac_sha256(key, service)
    key = _hmac_sha256(key, "tc3_request")
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def tc3_canonical_request(raw: RawRequest, signed_headers: str) -> str:
    """Rebuild what the client signed from the raw request: re-encoding anything would break the SDK's '+'."""
    query = raw.query if raw.method == "GET" else ""
    headers = _canonical_headers(raw, signed_headers)
    return "\n".join((raw.method, "/", query, headers, signed_headers, _payload_hash(raw)))


def tc3_string_to_sign(timestamp: str, date: str, service: str, canonical_request: str) -> str:
    """Bind the signature to the timestamp and scope, so a captured request cannot be replayed later."""
    digest = hashlib.sha256(_to_bytes(canonical_request)).hexdigest()
    return "\n".join((TC3_ALGORITHM, timestamp, f"{date}/{service}/tc3_request", digest))


def verify_tc3(raw: RawRequest, secrets: SecretLookup, now: float) -> str:
    """Check a TC3-HMAC-SHA256 request in the order the service does, returning the verified SecretId."""
    auth = parse_tc3_authorization(raw.headers.get("authorization", ""))
    _check_service(auth.service)
    stamp = raw.headers.get("x-tc-timestamp", "")
    timestamp = _parse_timestamp(stamp, "X-TC-Timestamp")
    secret_key = _secret_key(secrets, auth.secret_id)
    _check_clock(timestamp, now)
    _check_scope_date(auth.date, timestamp)
    # Lazily: the usual form matches first, and the other costs a second HMAC chain only when it does not.
    expected = (_expected_tc3(form, auth, secret_key, stamp) for form in _signed_host_forms(raw))
    _check_signature(expected, auth.signature)
    return auth.secret_id


def parse_tc3_authorization(value: str) -> Tc3Authorization:
    """Refuse anything but a complete TC3 header, including the SDK's unsigned ``SKIP`` marker."""
    if value == "SKIP":
        raise ApiError("AuthFailure.InvalidAuthorization", "Unsigned requests (SKIP) are refused.")
    algorithm, _, rest = value.partition(" ")
    if algorithm != TC3_ALGORITHM:
        raise _malformed(f"the algorithm must be {TC3_ALGORITHM}")
    fields = _authorization_fields(rest)
    secret_id, date, service = _credential_scope(fields["Credential"])
    _check_signed_header_names(fields["SignedHeaders"])
    return Tc3Authorization(secret_id, date, service, fields["SignedHeaders"], fields["Signature"])


def v1_signature(secret_key: str, method_name: str, original: str) -> str:
    """Sign the v1 original string; an unknown SignatureMethod cannot be validated, hence SignatureFailure."""
    digest = _V1_DIGESTS.get(method_name)
    if digest is None:
        raise ApiError("AuthFailure.SignatureFailure", "SignatureMethod must be HmacSHA1 or HmacSHA256.")
    mac = hmac.new(secret_key.encode(), _to_bytes(original), digest)
    return base64.b64encode(mac.digest()).decode("ascii")


def v1_original(raw: RawRequest, params: Mapping[str, str]) -> str:
    """v1 signs decoded values, sorted by key; the SDK maps '_' to '.' in keys for this string only."""
    signed = sorted((key.replace("_", "."), value) for key, value in params.items() if key != "Signature")
    return f"{raw.method}{raw.host}/?" + "&".join(f"{key}={value}" for key, value in signed)


def verify_v1(
    raw: RawRequest,
    params: Mapping[str, str],
    secrets: SecretLookup,
    now: float,
    nonces: NonceLedger | None = None,
) -> str:
    """Check a v1 request whose decoded parameters are ``params``, returning the verified SecretId.

    With ``nonces``, a verified request also uses up its Nonce for as long as its timestamp is valid,
    which is what keeps a captured v1 request from being replayed; without, each request is judged
    alone (for callers that check a request outside a server).
    """
    secret_id = params.get("SecretId", "")
    timestamp = _parse_timestamp(params.get("Timestamp", ""), "Timestamp")
    nonce = _parse_nonce(params.get("Nonce", ""))
    secret_key = _secret_key(secrets, secret_id)
    _check_clock(timestamp, now)
    method_name = params.get("SignatureMethod", "HmacSHA1")
    expected = v1_signature(secret_key, method_name, v1_original(raw, params))
    _check_signature([expected], params.get("Signature", ""))
    if nonces is not None:
        nonces.claim((secret_id, nonce), timestamp + CLOCK_SKEW_SECONDS, now)
    return secret_id


def _hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _to_bytes(text: str) -> bytes:
    """Undo a surrogateescape decoding so the bytes hashed are the bytes received; any other lone
    surrogate cannot be what a client signed, so it is let through to fail the check, not crash it."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _expected_tc3(raw: RawRequest, auth: Tc3Authorization, secret_key: str, stamp: str) -> str:
    canonical = tc3_canonical_request(raw, auth.signed_headers)
    string_to_sign = tc3_string_to_sign(stamp, auth.date, SERVICE, canonical)
    return tc3_signature(secret_key, auth.date, SERVICE, string_to_sign)


def _signed_host_forms(raw: RawRequest) -> list[RawRequest]:
    """The request as received, then, when its Host is ``name:port``, with Host ``name`` alone.

    The Node.js SDK sends ``Host: name:port`` but signs ``host:name``. Only that one form is added:
    any other Host, a tccli ``http://…`` Host included, must be signed exactly as it was sent.
    """
    match = _HOST_WITH_PORT.fullmatch(raw.host)
    return [raw] if match is None else [raw, replace(raw, host=match["name"])]


def _canonical_headers(raw: RawRequest, signed_headers: str) -> str:
    names = signed_headers.lower().split(";")
    return "".join(f"{name}:{_signed_header_value(raw, name)}\n" for name in names)


def _signed_header_value(raw: RawRequest, name: str) -> str:
    """Host comes from ``raw.host`` so the value signed is the one received, even a tccli 'http://…' Host."""
    value = raw.host if name == "host" else raw.headers.get(name)
    if value is None:
        raise _malformed(f"the signed header {name!r} is not in the request")
    return value.strip()


def _payload_hash(raw: RawRequest) -> str:
    """The SDK hashes the literal UNSIGNED-PAYLOAD when asked, and an empty payload for GET."""
    if raw.headers.get("x-tc-content-sha256") == _UNSIGNED_PAYLOAD:
        payload = _UNSIGNED_PAYLOAD.encode()
    elif raw.method == "GET":
        payload = b""
    else:
        payload = raw.body
    return hashlib.sha256(payload).hexdigest()


def _authorization_fields(text: str) -> dict[str, str]:
    parts = [part.partition("=") for part in text.split(",")]
    fields = {key.strip(): value.strip() for key, _, value in parts}
    if len(parts) != len(_AUTHORIZATION_FIELDS) or fields.keys() != _AUTHORIZATION_FIELDS:
        raise _malformed("expected Credential=…, SignedHeaders=…, Signature=…")
    if not all(fields.values()):
        raise _malformed("Credential, SignedHeaders and Signature must not be empty")
    return fields


def _credential_scope(credential: str) -> tuple[str, str, str]:
    parts = credential.split("/")
    if len(parts) != 4 or parts[3] != "tc3_request" or not all(parts):
        raise _malformed("Credential must be SecretId/YYYY-MM-DD/service/tc3_request")
    return parts[0], parts[1], parts[2]


def _check_signed_header_names(signed_headers: str) -> None:
    """Without host and content-type signed, a request could be replayed to another endpoint or format."""
    if not _REQUIRED_SIGNED_HEADERS.issubset(signed_headers.lower().split(";")):
        raise _malformed("SignedHeaders must include content-type and host")


def _check_service(service: str) -> None:
    """The Node.js SDK scopes by the endpoint's first label, so a bare IP endpoint ends here: say so."""
    if service != SERVICE:
        raise ApiError(
            "AuthFailure.SignatureFailure",
            f"The credential scope is for service {service!r}; this endpoint serves {SERVICE!r}. "
            "The Node.js SDK takes the service from the endpoint's first label: use batch.<host>:<port>.",
        )


def _check_scope_date(date: str, timestamp: int) -> None:
    expected = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    if date != expected:
        raise ApiError(
            "AuthFailure.SignatureFailure",
            f"The credential date {date} is not the UTC date of the timestamp ({expected}).",
        )


def _parse_timestamp(value: str, name: str) -> int:
    """At most 12 digits: enough for any plausible time, and int() never sees an unbounded string."""
    if not value:
        raise ApiError("MissingParameter", f"The request is missing {name}.")
    if _TIMESTAMP.fullmatch(value) is None:
        raise ApiError("InvalidParameter", f"{name} must be Unix time in seconds, got {value!r}.")
    return int(value)


def _parse_nonce(value: str) -> str:
    """Kept as the text that was signed; 20 digits hold any 64-bit value, such as the SDK's randint."""
    if not value:
        raise ApiError("MissingParameter", "The request is missing Nonce.")
    if _NONCE.fullmatch(value) is None:
        raise ApiError("InvalidParameter", f"Nonce must be an integer of 1 to 20 digits, got {value!r}.")
    return value


def _secret_key(secrets: SecretLookup, secret_id: str) -> str:
    key = secrets(secret_id) if secret_id else None
    if key is None:
        raise ApiError("AuthFailure.SecretIdNotFound")
    return key


def _check_clock(timestamp: int, now: float) -> None:
    if abs(now - timestamp) > CLOCK_SKEW_SECONDS:
        raise ApiError("AuthFailure.SignatureExpire")


def _check_signature(expected: Iterable[str], given: str) -> None:
    """Accept any of ``expected``, each compared in constant time, so response timing reveals nothing
    about how much of a forged signature was right."""
    if not any(hmac.compare_digest(_to_bytes(one), _to_bytes(given)) for one in expected):
        raise ApiError("AuthFailure.SignatureFailure")


def _malformed(reason: str) -> ApiError:
    return ApiError("AuthFailure.InvalidAuthorization", f"The Authorization header is malformed: {reason}.")
