"""Credentials, region and endpoint as tccli finds them, and the errors a user meets on one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from batchyard.cli.errors import CliError
from batchyard.cli.profiles import Flags, Settings, resolve
from cli.helpers import KEYS, batchyard, invoke, json_of, one_red_line
from conftest import REGION, SECRET_ID, SECRET_KEY, Server, free_port

TCCLI = Path(sys.executable).with_name("tccli")
ENV_KEYS = {"TENCENTCLOUD_SECRET_ID": "AKIDenv", "TENCENTCLOUD_SECRET_KEY": "envkey"}


def write_profile(home: Path, name: str, secret_id: str, secret_key: str, **configure: object) -> None:
    """``~/.tccli/NAME.credential`` and ``NAME.configure`` as ``tccli configure`` writes them."""
    folder = home / ".tccli"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.credential").write_text(json.dumps({"secretId": secret_id, "secretKey": secret_key}))
    (folder / f"{name}.configure").write_text(json.dumps(configure))


def tccli_configure(region: str, endpoint: str = "batch.tencentcloudapi.com") -> dict[str, object]:
    return {
        "_sys_param": {"region": region, "output": "json"},
        "batch": {"endpoint": endpoint, "version": "2017-03-12"},
    }


# How tccli resolves (tccli/services/batch/batch_client.py, parse_global_arg), case by case.


def test_the_default_profiles_files_give_keys_region_and_endpoint(tmp_path: Path) -> None:
    write_profile(tmp_path, "default", "AKIDfile", "filekey", **tccli_configure("ap-beijing", "127.0.0.1:1"))
    assert resolve(Flags(), {}, tmp_path) == Settings(
        "AKIDfile", "filekey", None, "ap-beijing", "127.0.0.1:1", "default"
    )


def test_the_environments_pair_and_region_win_over_the_default_profile(tmp_path: Path) -> None:
    write_profile(tmp_path, "default", "AKIDfile", "filekey", **tccli_configure("ap-beijing"))
    environ = {**ENV_KEYS, "TENCENTCLOUD_TOKEN": "tok", "TENCENTCLOUD_REGION": "ap-shanghai"}
    settings = resolve(Flags(), environ, tmp_path)
    assert (settings.secret_id, settings.secret_key, settings.token) == ("AKIDenv", "envkey", "tok")
    assert settings.region == "ap-shanghai"


def test_half_a_pair_in_the_environment_is_ignored(tmp_path: Path) -> None:
    write_profile(tmp_path, "default", "AKIDfile", "filekey", **tccli_configure("ap-beijing"))
    assert resolve(Flags(), {"TENCENTCLOUD_SECRET_ID": "AKIDenv"}, tmp_path).secret_id == "AKIDfile"


def test_an_explicit_profile_turns_the_environment_off(tmp_path: Path) -> None:
    write_profile(tmp_path, "work", "AKIDwork", "workkey", **tccli_configure("ap-chengdu"))
    settings = resolve(Flags(profile="work"), {**ENV_KEYS, "TENCENTCLOUD_REGION": "ap-shanghai"}, tmp_path)
    assert (settings.secret_id, settings.region, settings.profile) == ("AKIDwork", "ap-chengdu", "work")


def test_tccli_profile_chooses_the_profile_and_keeps_the_environment_on(tmp_path: Path) -> None:
    write_profile(tmp_path, "work", "AKIDwork", "workkey", **tccli_configure("ap-chengdu"))
    assert resolve(Flags(), {"TCCLI_PROFILE": "work"}, tmp_path).secret_id == "AKIDwork"
    assert resolve(Flags(), {"TCCLI_PROFILE": "work", **ENV_KEYS}, tmp_path).secret_id == "AKIDenv"


def test_flags_win_over_files_and_environment(tmp_path: Path) -> None:
    write_profile(tmp_path, "default", "AKIDfile", "filekey", **tccli_configure("ap-beijing", "a:1"))
    flags = Flags(region="eu-frankfurt", endpoint="http://b:2")
    settings = resolve(flags, {"TENCENTCLOUD_REGION": "ap-shanghai"}, tmp_path)
    assert (settings.region, settings.endpoint) == ("eu-frankfurt", "http://b:2")


def test_an_old_configure_with_the_region_at_the_top_is_read(tmp_path: Path) -> None:
    write_profile(tmp_path, "default", "AKIDfile", "filekey", region="ap-hongkong")
    settings = resolve(Flags(), {}, tmp_path)
    assert (settings.region, settings.endpoint) == ("ap-hongkong", None)


@pytest.mark.parametrize(
    ("files", "environ", "message"),
    [
        ({}, {"TENCENTCLOUD_REGION": "ap-beijing"}, "no credentials: set TENCENTCLOUD_SECRET_ID"),
        ({}, ENV_KEYS, "no region: give --region"),
        (
            {"default.credential": '{"type": "cvm-role"}'},
            {"TENCENTCLOUD_REGION": "r"},
            "`cvm-role` credential",
        ),
        ({"default.configure": "{"}, ENV_KEYS, "cannot read"),
    ],
)
def test_what_is_missing_or_unreadable_is_said(
    tmp_path: Path, files: dict[str, str], environ: dict[str, str], message: str
) -> None:
    (tmp_path / ".tccli").mkdir()
    for name, content in files.items():
        (tmp_path / ".tccli" / name).write_text(content)
    with pytest.raises(CliError, match=message.replace("(", r"\(")) as caught:
        resolve(Flags(), environ, tmp_path)
    assert caught.value.status == 2


# The same, end to end: a real process, a HOME of its own, the real server.


def test_a_tccli_profile_file_alone_reaches_the_server(srv: Server, tmp_path: Path) -> None:
    """No variables and no flags: keys, region and the endpoint all come from ~/.tccli/default.*"""
    write_profile(tmp_path, "default", SECRET_ID, SECRET_KEY, **tccli_configure(REGION, srv.url))
    printed = json_of(batchyard("jobs", "-o", "json", home=tmp_path, env={}))
    assert set(printed) == {"JobSet", "TotalCount"}


def test_a_profile_written_by_tccli_configure_is_read(srv: Server, tmp_path: Path) -> None:
    """The files as tccli itself writes them, not as a test imagines them."""
    settings = ["secretId", SECRET_ID, "secretKey", SECRET_KEY, "region", REGION, "batch.endpoint", srv.url]
    argv = [str(TCCLI), "configure", "set", *settings, "--profile", "mine"]
    subprocess.run(argv, env={"HOME": str(tmp_path), "PATH": os.environ["PATH"]}, check=True, timeout=60)
    assert "TotalCount" in json_of(invoke("jobs", "-o", "json", "--profile", "mine", home=tmp_path, env={}))


def test_a_named_profile_is_used_and_a_wrong_default_is_not(srv: Server, tmp_path: Path) -> None:
    write_profile(tmp_path, "default", "AKIDwrong", "wrong", **tccli_configure(REGION, srv.url))
    write_profile(tmp_path, "local", SECRET_ID, SECRET_KEY, **tccli_configure(REGION, srv.url))
    assert "TotalCount" in json_of(invoke("jobs", "-o", "json", "--profile", "local", home=tmp_path, env={}))
    assert "TotalCount" in json_of(
        invoke("jobs", "-o", "json", home=tmp_path, env={"TCCLI_PROFILE": "local"})
    )
    assert one_red_line(invoke("jobs", home=tmp_path, env={}), 3).startswith("AuthFailure")


def test_a_key_the_server_refuses_is_its_error_on_one_red_line(srv: Server, tmp_path: Path) -> None:
    result = batchyard("jobs", home=tmp_path, srv=srv, env={**KEYS, "TENCENTCLOUD_SECRET_KEY": "wrong"})
    line = one_red_line(result, 3)
    assert line.startswith("AuthFailure.SignatureFailure: ")


def test_an_endpoint_that_does_not_answer_is_one_line_and_exit_3(tmp_path: Path) -> None:
    result = batchyard("jobs", "--endpoint", f"http://127.0.0.1:{free_port()}", home=tmp_path)
    assert one_red_line(result, 3).startswith("ClientNetworkError: ")


def test_no_credentials_anywhere_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = batchyard("jobs", "--endpoint", "http://127.0.0.1:1", home=tmp_path, env={})
    assert one_red_line(result, 2).startswith(
        "no credentials: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY"
    )
