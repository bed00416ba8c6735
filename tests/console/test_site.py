"""How the server serves the console: where, with which headers, and from the package's own files."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import httpx

from batchyard.console.site import CONTENT_SECURITY_POLICY
from conftest import REGION, Server

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "src" / "batchyard" / "console" / "static"


def test_console_is_served_under_a_policy_that_allows_this_origin_only(srv: Server) -> None:
    with httpx.Client(base_url=srv.url) as http:
        assert http.get("/console").headers["location"].endswith("/console/")
        for path, media_type in [
            ("/console/", "text/html"),
            ("/console/js/main.js", "javascript"),
            ("/console/console.css", "text/css"),
            ("/console/config.json", "application/json"),
        ]:
            response = http.get(path)
            assert response.status_code == 200, path
            assert media_type in response.headers["content-type"], path
            assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
        missing = http.get("/console/nothing-here.js")
    assert missing.status_code == 404
    assert missing.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    for directive in (
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "trusted-types 'none'",
    ):
        assert directive in CONTENT_SECURITY_POLICY


def test_config_lists_the_regions_the_server_serves(srv: Server) -> None:
    regions = httpx.get(f"{srv.url}/console/config.json").json()["regions"]
    assert REGION in regions
    assert regions == sorted(regions)


def test_every_console_file_is_package_data() -> None:
    """An installed batchyard serves the console only if setuptools ships each of its files."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    files = [p.relative_to(ROOT / "src" / "batchyard").as_posix() for p in STATIC.rglob("*") if p.is_file()]
    assert files
    unshipped = [
        f for f in files if not any(fnmatch.fnmatch(f, pattern) for pattern in patterns["batchyard"])
    ]
    assert not unshipped
