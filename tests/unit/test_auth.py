"""Signature checks: the documented vectors, then each verification rule on hand-signed requests.

Hand-signed requests spell the canonical request out as the v3 document does and use the official
SDK's own HMAC chain (``Sign.sign_tc3``), so the oracle is independent of the code under test.
Round trips through the full SDK live in ``test_protocol.py``.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest
from tencentcloud.common.sign import Sign

from batchyard.api.auth import (
    Tc3Authorization,
    parse_tc3_authorization,
    tc3_canonical_request,
    tc3_signature,
    tc3_string_to_sign,
    v1_original,
    v1_signature,
    verify_tc3,
    verify_v1,
)
from batchyard.api.nonces import NonceLedger
from batchyard.api.raw import RawRequest
from batchyard.domain.errors import ApiError

DOC_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
SECRET_ID = "AKIDbatchyardUNIT"
SECRET_KEY = "unit-test-secret-key"
TS = 1_700_000_000
BODY = b'{"JobId": "job-97zcl3wt"}'


def secrets(secret_id: str) -> str | None:
    return SECRET_KEY if secret_id == SECRET_ID else None


def utc_date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def unsigned_post(extra: dict[str, str] | None = None, body: bytes = BODY) -> RawRequest:
    headers = {"content-type": "application/json", "host": "batch.tencentcloudapi.com", **(extra or {})}
    return RawRequest("POST", "batch.tencentcloudapi.com", "", headers, body)


def hand_signed(
    raw: RawRequest,
    *,
    service: str = "batch",
    date: str | None = None,
    signed: str = "content-type;host",
    key: str = SECRET_KEY,
) -> RawRequest:
    """Sign ``raw`` at TS exactly as the v3 document describes the canonical request."""
    scope_date = date or utc_date(TS)
    headers = {**raw.headers, "x-tc-timestamp": str(TS)}
    lines = "".join(f"{name}:{headers[name].strip()}\n" for name in signed.split(";"))
    payload = b"" if raw.method == "GET" else raw.body
    query = raw.query if raw.method == "GET" else ""
    canonical = f"{raw.method}\n/\n{query}\n{lines}\n{signed}\n{hashlib.sha256(payload).hexdigest()}"
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    string_to_sign = f"TC3-HMAC-SHA256\n{TS}\n{scope_date}/{service}/tc3_request\n{digest}"
    signature = Sign.sign_tc3(key, scope_date, service, string_to_sign)
    headers["authorization"] = (
        f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{scope_date}/{service}/tc3_request, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    return replace(raw, headers=headers)


def error_code(raw: RawRequest, now: float = TS) -> str:
    with pytest.raises(ApiError) as caught:
        verify_tc3(raw, secrets, now)
    return caught.value.code


# --- documented vectors -------------------------------------------------------------------------


def test_tc3_doc_vector_reproduces_hashes_and_signature() -> None:
    body = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    headers = {"content-type": "application/json; charset=utf-8"}
    raw = RawRequest("POST", "cvm.tencentcloudapi.com", "", headers, body)

    canonical = tc3_canonical_request(raw, "content-type;host")
    string_to_sign = tc3_string_to_sign("1551113065", "2019-02-25", "cvm", canonical)

    assert canonical.endswith("35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064")
    assert hashlib.sha256(canonical.encode()).hexdigest() == (
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    assert tc3_signature(DOC_KEY, "2019-02-25", "cvm", string_to_sign) == (
        "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def test_v1_doc_vector_reproduces_original_string_and_signature() -> None:
    query = (
        "Action=DescribeInstances&InstanceIds.0=ins-09dx96dg&Limit=20&Nonce=11886&Offset=0"
        "&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE&Timestamp=1465185768"
        "&Version=2017-03-12"
    )
    raw = RawRequest("GET", "cvm.tencentcloudapi.com", query, {}, b"")

    original = v1_original(raw, dict(parse_qsl(query)))

    assert original == f"GETcvm.tencentcloudapi.com/?{query}"
    assert v1_signature(DOC_KEY, "HmacSHA1", original) == "EliP9YW3pW28FpsEdkXt/+WcGeI="


@pytest.mark.parametrize("method_name", ["HmacSHA1", "HmacSHA256"])
def test_v1_signature_matches_sdk_signer(method_name: str) -> None:
    original = "POSTbatch.tencentcloudapi.com/?Action=DescribeJob&JobId=job-1&Note=未命名"
    assert v1_signature(SECRET_KEY, method_name, original) == Sign.sign(SECRET_KEY, original, method_name)


def test_v1_signature_refuses_unknown_method() -> None:
    with pytest.raises(ApiError) as caught:
        v1_signature(SECRET_KEY, "HmacMD5", "GEThost/?A=1")
    assert caught.value.code == "AuthFailure.SignatureFailure"


def test_v1_original_drops_signature_sorts_and_maps_underscores() -> None:
    raw = RawRequest("POST", "h", "", {}, b"")
    params = {"b": "2", "Signature": "x", "a_b": "3", "A": "1 +"}
    assert v1_original(raw, params) == "POSTh/?A=1 +&a.b=3&b=2"


# --- Authorization header parsing ---------------------------------------------------------------


def header(
    credential: str = "A/2024-01-02/batch/tc3_request",
    signed: str = "content-type;host",
    signature: str = "ab",
    algorithm: str = "TC3-HMAC-SHA256",
) -> str:
    return f"{algorithm} Credential={credential}, SignedHeaders={signed}, Signature={signature}"


def test_authorization_header_parses_into_scope_parts() -> None:
    assert parse_tc3_authorization(header()) == Tc3Authorization(
        "A", "2024-01-02", "batch", "content-type;host", "ab"
    )


@pytest.mark.parametrize(
    "value",
    [
        "",
        "SKIP",
        "Bearer abc",
        "TC3-HMAC-SHA256",
        header(algorithm="HMAC-SHA256"),
        header(signed="host"),
        header(signed="content-type"),
        header(credential="A/2024-01-02/batch"),
        header(credential="A/2024-01-02/batch/v4_request"),
        header(credential="/2024-01-02/batch/tc3_request"),
        header(signature=""),
        header(signature="a, Signature=b"),
        header().replace(", SignedHeaders=content-type;host", ""),
    ],
)
def test_malformed_authorization_is_invalid_authorization(value: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_tc3_authorization(value)
    assert caught.value.code == "AuthFailure.InvalidAuthorization"


# --- verify_tc3 ---------------------------------------------------------------------------------


def test_hand_signed_post_verifies_and_returns_secret_id() -> None:
    assert verify_tc3(hand_signed(unsigned_post()), secrets, TS) == SECRET_ID


def test_extra_signed_header_is_honoured_in_the_order_given() -> None:
    raw = hand_signed(unsigned_post({"x-tc-action": "DescribeJob"}), signed="host;x-tc-action;content-type")
    assert verify_tc3(raw, secrets, TS) == SECRET_ID
    tampered = replace(raw, headers={**raw.headers, "x-tc-action": "DeleteJob"})
    assert error_code(tampered) == "AuthFailure.SignatureFailure"


def test_signed_header_values_are_trimmed() -> None:
    padded = unsigned_post({"x-tc-action": "  DescribeJob "})
    raw = hand_signed(padded, signed="content-type;host;x-tc-action")
    assert verify_tc3(raw, secrets, TS) == SECRET_ID


def test_signed_header_absent_from_request_is_invalid_authorization() -> None:
    raw = hand_signed(unsigned_post({"x-tc-action": "DescribeJob"}), signed="content-type;host;x-tc-action")
    headers = {name: value for name, value in raw.headers.items() if name != "x-tc-action"}
    assert error_code(replace(raw, headers=headers)) == "AuthFailure.InvalidAuthorization"


def test_host_is_compared_verbatim() -> None:
    raw = hand_signed(unsigned_post())
    assert error_code(replace(raw, host="BATCH.tencentcloudapi.com")) == "AuthFailure.SignatureFailure"


def sent_with_host(sent: str, signed: str) -> RawRequest:
    """A POST that arrives with Host ``sent`` but whose signature covers ``host:signed``."""
    raw = hand_signed(unsigned_post({"host": signed}))
    return replace(raw, host=sent, headers={**raw.headers, "host": sent})


@pytest.mark.parametrize(
    ("sent", "signed"),
    [
        ("batch.localhost:9000", "batch.localhost:9000"),
        ("batch.localhost:9000", "batch.localhost"),  # the Node.js SDK signs the hostname alone
        ("127.0.0.1:9000", "127.0.0.1"),
        ("[::1]:9000", "[::1]"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),  # tccli's Host, signed verbatim
    ],
)
def test_host_is_accepted_signed_with_or_without_its_port(sent: str, signed: str) -> None:
    assert verify_tc3(sent_with_host(sent, signed), secrets, TS) == SECRET_ID


@pytest.mark.parametrize(
    ("sent", "signed"),
    [
        ("batch.localhost:9000", "other.localhost"),
        ("batch.localhost:9000", "batch.localhost:9001"),
        ("batch.localhost:9000", "batch.localhost:"),
        ("batch.localhost:9000", "batch"),
        ("batch.localhost", "batch.localhost:9000"),
        ("[::1]:9000", "::1"),
        ("http://127.0.0.1:9000", "http://127.0.0.1"),
        ("http://127.0.0.1:9000", "127.0.0.1"),
    ],
)
def test_host_signed_as_anything_else_fails_signature(sent: str, signed: str) -> None:
    """Dropping the port is the one relaxation: not another name or port, nor a tccli Host's scheme."""
    assert error_code(sent_with_host(sent, signed)) == "AuthFailure.SignatureFailure"


def test_changed_body_fails_signature() -> None:
    raw = hand_signed(unsigned_post())
    assert error_code(replace(raw, body=BODY + b" ")) == "AuthFailure.SignatureFailure"


def test_unsigned_payload_hashes_the_literal_so_the_body_is_not_covered() -> None:
    signer_view = unsigned_post({"x-tc-content-sha256": "UNSIGNED-PAYLOAD"}, body=b"UNSIGNED-PAYLOAD")
    raw = replace(hand_signed(signer_view), body=BODY)
    assert verify_tc3(raw, secrets, TS) == SECRET_ID


def test_scope_for_another_service_fails_signature() -> None:
    assert error_code(hand_signed(unsigned_post(), service="cvm")) == "AuthFailure.SignatureFailure"


def test_scope_date_must_be_the_utc_date_of_the_timestamp() -> None:
    raw = hand_signed(unsigned_post(), date="2001-01-01")
    assert error_code(raw) == "AuthFailure.SignatureFailure"


def test_unknown_secret_id_is_secret_id_not_found() -> None:
    raw = hand_signed(unsigned_post())
    with pytest.raises(ApiError) as caught:
        verify_tc3(raw, lambda _id: None, TS)
    assert caught.value.code == "AuthFailure.SecretIdNotFound"


def test_wrong_key_fails_signature() -> None:
    assert error_code(hand_signed(unsigned_post(), key="another-key")) == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize("skew", [-301, 301])
def test_timestamp_beyond_five_minutes_expires(skew: int) -> None:
    assert error_code(hand_signed(unsigned_post()), now=TS + skew) == "AuthFailure.SignatureExpire"


@pytest.mark.parametrize("skew", [-300, 300])
def test_timestamp_at_five_minutes_is_accepted(skew: int) -> None:
    assert verify_tc3(hand_signed(unsigned_post()), secrets, TS + skew) == SECRET_ID


@pytest.mark.parametrize(("stamp", "code"), [("", "MissingParameter"), ("17e8", "InvalidParameter")])
def test_bad_timestamp_header_is_a_parameter_error(stamp: str, code: str) -> None:
    raw = hand_signed(unsigned_post())
    assert error_code(replace(raw, headers={**raw.headers, "x-tc-timestamp": stamp})) == code


# --- verify_v1 ----------------------------------------------------------------------------------


def v1_params(**overrides: str) -> dict[str, str]:
    params = {"Action": "DescribeJob", "JobId": "job-1", "Nonce": "7", "SecretId": SECRET_ID}
    return {**params, "Timestamp": str(TS), **overrides}


def test_v1_defaults_to_hmac_sha1() -> None:
    raw = RawRequest("GET", "127.0.0.1:9", "", {}, b"")
    params = v1_params()
    params["Signature"] = Sign.sign(SECRET_KEY, v1_original(raw, params), "HmacSHA1")
    assert verify_v1(raw, params, secrets, TS) == SECRET_ID


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (v1_params(SecretId=""), "AuthFailure.SecretIdNotFound"),
        (v1_params(SecretId="AKIDother"), "AuthFailure.SecretIdNotFound"),
        (v1_params(Timestamp=""), "MissingParameter"),
        ({k: v for k, v in v1_params().items() if k != "Nonce"}, "MissingParameter"),
        (v1_params(Nonce=""), "MissingParameter"),
        (v1_params(Nonce="1.5"), "InvalidParameter"),
        (v1_params(Nonce="-7"), "InvalidParameter"),
        (v1_params(Nonce="1" * 21), "InvalidParameter"),
        (v1_params(Timestamp=str(TS - 301)), "AuthFailure.SignatureExpire"),
        (v1_params(SignatureMethod="HmacMD5"), "AuthFailure.SignatureFailure"),
        (v1_params(), "AuthFailure.SignatureFailure"),
    ],
)
def test_v1_failures(params: dict[str, str], code: str) -> None:
    raw = RawRequest("GET", "127.0.0.1:9", "", {}, b"")
    with pytest.raises(ApiError) as caught:
        verify_v1(raw, {**params, "Signature": "bm90IGl0"}, secrets, TS)
    assert caught.value.code == code


# --- v1 Nonces ----------------------------------------------------------------------------------

V1_RAW = RawRequest("POST", "127.0.0.1:9", "", {}, b"")


def signed_v1(**overrides: str) -> dict[str, str]:
    params = v1_params(SignatureMethod="HmacSHA256", **overrides)
    return {**params, "Signature": Sign.sign(SECRET_KEY, v1_original(V1_RAW, params), "HmacSHA256")}


def ledger_refusal(ledger: NonceLedger, key: tuple[str, str], expires: float, now: float) -> ApiError:
    with pytest.raises(ApiError) as caught:
        ledger.claim(key, expires, now)
    return caught.value


def test_v1_replayed_request_is_refused_because_its_nonce_was_used() -> None:
    ledger, params = NonceLedger(), signed_v1()
    assert verify_v1(V1_RAW, params, secrets, TS, ledger) == SECRET_ID
    with pytest.raises(ApiError) as caught:
        verify_v1(V1_RAW, params, secrets, TS + 1, ledger)
    assert caught.value.code == "AuthFailure.SignatureExpire"
    assert "Nonce 7 was already used" in caught.value.message


def test_v1_request_with_a_new_nonce_is_accepted_in_the_same_second() -> None:
    ledger = NonceLedger()
    assert verify_v1(V1_RAW, signed_v1(Nonce="7"), secrets, TS, ledger) == SECRET_ID
    assert verify_v1(V1_RAW, signed_v1(Nonce="8"), secrets, TS, ledger) == SECRET_ID


def test_v1_forged_signature_does_not_use_up_the_nonce() -> None:
    """Only a verified request records its Nonce, so nobody without the key can block a client's."""
    ledger = NonceLedger()
    forged = {**signed_v1(), "Signature": "bm90IGl0"}
    with pytest.raises(ApiError):
        verify_v1(V1_RAW, forged, secrets, TS, ledger)
    assert verify_v1(V1_RAW, signed_v1(), secrets, TS, ledger) == SECRET_ID


def test_v1_nonce_is_free_again_once_its_timestamp_has_expired() -> None:
    """By then the clock check refuses a replay, so the ledger need not remember it."""
    ledger = NonceLedger()
    verify_v1(V1_RAW, signed_v1(), secrets, TS, ledger)
    later = str(TS + 301)
    assert verify_v1(V1_RAW, signed_v1(Timestamp=later), secrets, TS + 301, ledger) == SECRET_ID


def test_nonce_is_refused_up_to_and_including_its_expiry() -> None:
    ledger = NonceLedger()
    ledger.claim(("A", "1"), TS + 300, TS)
    assert ledger_refusal(ledger, ("A", "1"), TS + 300, TS + 300).code == "AuthFailure.SignatureExpire"
    ledger.claim(("A", "1"), TS + 601, TS + 301)


def test_same_nonce_under_another_secret_id_is_another_pair() -> None:
    ledger = NonceLedger()
    ledger.claim(("A", "1"), TS + 300, TS)
    ledger.claim(("B", "1"), TS + 300, TS)


def test_full_ledger_refuses_new_nonces_until_old_ones_expire() -> None:
    ledger = NonceLedger(capacity=2)
    ledger.claim(("A", "1"), TS + 300, TS)
    ledger.claim(("A", "2"), TS + 310, TS + 10)
    assert ledger_refusal(ledger, ("A", "3"), TS + 320, TS + 20).code == "RequestLimitExceeded"
    ledger.claim(("A", "3"), TS + 601, TS + 301)  # ("A", "1") has expired and is swept
    assert ledger_refusal(ledger, ("A", "4"), TS + 601, TS + 301).code == "RequestLimitExceeded"


def test_pair_expired_behind_a_longer_lived_one_is_free_again() -> None:
    """Sweeping stops at the oldest live pair; a younger, expired pair behind it must not block."""
    ledger = NonceLedger()
    ledger.claim(("A", "future"), TS + 600, TS)  # a client clock five minutes fast
    ledger.claim(("A", "now"), TS + 300, TS)
    ledger.claim(("A", "now"), TS + 601, TS + 301)
    assert ledger_refusal(ledger, ("A", "future"), TS + 601, TS + 301).code == "AuthFailure.SignatureExpire"


def test_concurrent_claims_of_one_nonce_let_exactly_one_through() -> None:
    ledger, start = NonceLedger(), threading.Barrier(8)
    outcomes: list[str] = []

    def claim() -> None:
        start.wait()
        try:
            ledger.claim(("A", "1"), TS + 300, TS)
            outcomes.append("accepted")
        except ApiError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["AuthFailure.SignatureExpire"] * 7 + ["accepted"]


def test_surrogate_escaped_query_is_hashed_as_the_bytes_received() -> None:
    """A server may decode the query with surrogateescape; the digest must still cover the raw bytes."""
    query = b"Note=caf\xe9".decode("utf-8", "surrogateescape")
    raw = RawRequest("GET", "h", query, {"content-type": "x"}, b"")
    received = (
        b"GET\n/\nNote=caf\xe9\ncontent-type:x\n\ncontent-type\n" + hashlib.sha256(b"").hexdigest().encode()
    )

    string_to_sign = tc3_string_to_sign("1", "d", "batch", tc3_canonical_request(raw, "content-type"))

    assert string_to_sign.endswith(hashlib.sha256(received).hexdigest())


def test_lone_surrogate_in_a_signed_header_fails_the_signature_instead_of_crashing() -> None:
    raw = hand_signed(unsigned_post({"x-tc-action": "DescribeJob"}), signed="content-type;host;x-tc-action")
    assert error_code(replace(raw, headers={**raw.headers, "x-tc-action": "\ud800"})) == (
        "AuthFailure.SignatureFailure"
    )
