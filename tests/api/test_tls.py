"""What protects a captured request: HTTPS on the wire, and single-use Nonces for v1 signatures.

TLS is shown with the official SDK over ``https`` trusting a self-signed certificate made here with the
openssl CLI; v1 replay protection with the SDK's own v1 signing and with one hand-signed request sent
twice to the real server.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from tencentcloud.batch.v20170312 import batch_client
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.common.sign import Sign

from batchyard.config.settings import Settings
from conftest import REGION, SECRET_ID, SECRET_KEY, Server, call, free_port, make_client, running

V1_METHODS = ["HmacSHA1", "HmacSHA256"]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for the address the tests connect to, so hostname checks pass as they would."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    argv = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    argv += ["-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"]
    argv += ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(argv, check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_srv(tmp_path_factory: pytest.TempPathFactory, certificate: tuple[Path, Path]) -> Iterator[Server]:
    cert, key = certificate
    yield from running(Server(tmp_path_factory.mktemp("https") / "data", tls_cert=cert, tls_key=key))


def https_client(srv: Server, certification: str | None, **profile: Any) -> batch_client.BatchClient:
    """``certification`` is the CA file the SDK hands to requests as ``verify``; None means certifi's."""
    http = HttpProfile(protocol="https", endpoint=srv.endpoint, reqTimeout=30, certification=certification)
    client_profile = ClientProfile(httpProfile=http, **profile)
    return batch_client.BatchClient(credential.Credential(SECRET_ID, SECRET_KEY), REGION, client_profile)


def start_error(*flags: str, data_dir: Path) -> str:
    """Run `batchyard serve` expecting it to refuse to start; return what it said."""
    argv = [sys.executable, "-m", "batchyard", "serve", "--port", str(free_port())]
    argv += ["--data-dir", str(data_dir), *flags]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    return done.stdout + done.stderr


# ---------------------------------------------------------------------------------------------------
# HTTPS.


@pytest.mark.parametrize("sign_method", ["TC3-HMAC-SHA256", *V1_METHODS])
def test_sdk_over_https_trusting_the_self_signed_certificate(tls_srv: Server, sign_method: str) -> None:
    assert tls_srv.tls_cert is not None
    client = https_client(tls_srv, str(tls_srv.tls_cert), signMethod=sign_method)
    assert call(client, "DescribeJobs", {}).TotalCount >= 0


def test_sdk_that_does_not_trust_the_certificate_is_refused(tls_srv: Server) -> None:
    client = https_client(tls_srv, certification=None)
    with pytest.raises(TencentCloudSDKException) as caught:
        call(client, "DescribeJobs", {})
    assert caught.value.code == "ClientNetworkError"
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value.message)


def test_plain_http_client_gets_no_answer_from_the_tls_port(tls_srv: Server) -> None:
    with pytest.raises(httpx.TransportError):
        httpx.post(f"http://{tls_srv.endpoint}/", content=b"{}", timeout=10)


def test_ready_log_line_names_the_https_url(tls_srv: Server) -> None:
    log = tls_srv.log_file.read_text()
    assert f"batchyard is ready on https://{tls_srv.endpoint}" in log


@pytest.mark.parametrize("flag", ["--tls-cert", "--tls-key"])
def test_serve_refuses_to_start_with_half_a_tls_setup(
    tmp_path: Path, certificate: tuple[Path, Path], flag: str
) -> None:
    said = start_error(flag, str(certificate[0]), data_dir=tmp_path / "data")
    assert "--tls-cert and --tls-key" in said


def test_serve_refuses_to_start_without_the_certificate_file(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    missing = tmp_path / "absent.pem"
    said = start_error("--tls-cert", str(missing), "--tls-key", str(certificate[1]), data_dir=tmp_path)
    assert "invalid configuration" in said
    assert "tls.cert" in said


def test_serve_refuses_to_start_with_a_key_that_is_not_the_certificates(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    _, other_key = self_signed_certificate(tmp_path)
    said = start_error("--tls-cert", str(certificate[0]), "--tls-key", str(other_key), data_dir=tmp_path)
    assert "not a PEM certificate and its unencrypted private key" in said


def test_tls_can_come_from_the_config_file(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    config = tmp_path / "batchyard.toml"
    config.write_text(f'port = 9443\n[tls]\ncert = "{cert}"\nkey = "{key}"\n')
    settings = Settings.load(config)
    assert settings.tls is not None
    assert (settings.tls.cert, settings.tls.key) == (cert, key)
    assert settings.url == "https://127.0.0.1:9443"


# ---------------------------------------------------------------------------------------------------
# v1 Nonces, where there is no TLS.


def v1_form(srv: Server, nonce: int) -> dict[str, str]:
    """A DescribeJobs request signed with HmacSHA256 as the v1 document describes."""
    params = {
        "Action": "DescribeJobs",
        "Version": "2017-03-12",
        "Region": REGION,
        "Timestamp": str(int(time.time())),
        "Nonce": str(nonce),
        "SecretId": SECRET_ID,
        "SignatureMethod": "HmacSHA256",
    }
    original = f"POST{srv.endpoint}/?" + "&".join(f"{key}={params[key]}" for key in sorted(params))
    return {**params, "Signature": Sign.sign(SECRET_KEY, original, "HmacSHA256")}


def send_form(srv: Server, form: dict[str, str]) -> dict[str, Any]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    reply = httpx.post(srv.url + "/", content=urlencode(form), headers=headers, timeout=30)
    return dict(reply.json()["Response"])


@pytest.mark.parametrize("sign_method", V1_METHODS)
def test_sdk_v1_requests_keep_working_because_each_has_a_new_nonce(srv: Server, sign_method: str) -> None:
    """Several requests within one second: only the random Nonce tells them apart."""
    client = make_client(srv.endpoint, signMethod=sign_method)
    for _ in range(5):
        assert call(client, "DescribeJobs", {}).TotalCount >= 0


def test_replayed_v1_request_is_refused(srv: Server) -> None:
    form = v1_form(srv, nonce=424242)
    assert "Error" not in send_form(srv, form)
    replayed = send_form(srv, form)
    assert replayed.get("Error", {}).get("Code") == "AuthFailure.SignatureExpire", replayed
    assert "Nonce 424242 was already used" in replayed["Error"]["Message"]
