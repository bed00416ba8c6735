"""Running ``batchyard`` as a user does, with its own HOME, and reading what it prints.

``batchyard`` starts the real command in a process of its own; ``invoke`` runs the same command line in
this process (typer's runner), which spares the second that importing the SDK takes, for tests whose
point is not the process itself.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from batchyard.cli.main import app
from conftest import REGION, SECRET_ID, SECRET_KEY, ZONE, Server

BATCHYARD = Path(sys.executable).with_name("batchyard")
JOB_ID = re.compile(r"job-[a-z0-9]{8}")
# Variables of the user's own setup, which would change what the CLI reads.
SETUP_PREFIXES = ("TENCENTCLOUD_", "TCCLI_", "BATCHYARD_", "COLUMNS")
KEYS = {
    "TENCENTCLOUD_SECRET_ID": SECRET_ID,
    "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
    "TENCENTCLOUD_REGION": REGION,
}


def batchyard(
    *args: str,
    home: Path,
    srv: Server | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``batchyard ARGS`` with HOME=home and the environment's keys unless ``env`` says otherwise;
    ``--endpoint`` of ``srv`` when given."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(SETUP_PREFIXES)}
    environ.update({"HOME": str(home), **(KEYS if env is None else env)})
    argv = [str(BATCHYARD), *args, *(["--endpoint", srv.url] if srv is not None else [])]
    return subprocess.run(
        argv, env=environ, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )


def invoke(
    *args: str,
    home: Path,
    srv: Server | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """The same as ``batchyard``, in this process."""
    environ: dict[str, str | None] = {k: None for k in os.environ if k.startswith(SETUP_PREFIXES)}
    environ.update({"HOME": str(home), **(KEYS if env is None else env)})
    argv = [*args, *(["--endpoint", srv.url] if srv is not None else [])]
    result = CliRunner().invoke(app, argv, env=environ, input=stdin, catch_exceptions=False)
    return subprocess.CompletedProcess(argv, result.exit_code, result.stdout, result.stderr)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The output of a command that succeeded, which printed nothing on stderr."""
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert result.stderr == "", result.stderr
    return result.stdout


def json_of(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(result))


def one_red_line(result: subprocess.CompletedProcess[str], status: int) -> str:
    """A failed command's stderr: one line, no traceback, and the expected exit status."""
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def job_file(folder: Path, name: str, *tasks: dict[str, Any], yaml: bool = False, **job: Any) -> Path:
    """A SubmitJob request body written as a user would, JSON or YAML."""
    body = {"Placement": {"Zone": ZONE}, "Job": {"JobName": name, "Tasks": list(tasks), **job}}
    path = folder / f"{name}.{'yaml' if yaml else 'json'}"
    path.write_text(_yaml(body) if yaml else json.dumps(body, indent=2))
    return path


def _yaml(body: dict[str, Any]) -> str:
    import yaml

    return str(yaml.safe_dump(body, sort_keys=False))


def rows(output: str, first: str) -> list[list[str]]:
    """The rows of a printed table whose first cell is ``first``, split into cells."""
    return [line.split() for line in output.splitlines() if line.split()[:1] == [first]]
