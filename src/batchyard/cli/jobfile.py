"""A job file: the SubmitJob request body (``{"Job": {...}, "Placement": {...}}``) in JSON or YAML.

The same body as tccli's ``--cli-input-json``, so one file serves both tools. It becomes the SDK's
``SubmitJobRequest``; members the SDK does not know would be dropped without a word by the SDK, so they
are named back to the user, who most likely misspelt them.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import yaml
from tencentcloud.batch.v20170312 import models

from batchyard.cli.errors import CliError

STDIN = "-"
SDK_UNKNOWN_SUFFIX = " fileds are useless."  # the SDK's own words (sic) for members it drops


def load(source: str) -> tuple[Any, list[str]]:
    """The request, and the members the SDK left out of it. ``-`` reads standard input."""
    body = _parse(source, _read(source))
    if not isinstance(body, dict) or not isinstance(body.get("Job"), dict):
        raise CliError(f"{source}: a job file is a SubmitJob request: a mapping with `Job` and `Placement`")
    request = models.SubmitJobRequest()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        request.from_json_string(json.dumps(body, default=str))
    return request, [_unknown(source, str(w.message)) for w in caught]


def _read(source: str) -> str:
    if source == STDIN:
        return sys.stdin.read()
    try:
        return Path(source).read_text()
    except OSError as exc:
        raise CliError(f"cannot read {source}: {exc.strerror or exc}") from exc


def _parse(source: str, content: str) -> Any:
    """JSON for ``.json``, YAML otherwise (JSON is YAML too, so standard input may be either)."""
    try:
        if source.endswith(".json"):
            return json.loads(content)
        return yaml.safe_load(content)
    except (ValueError, yaml.YAMLError) as exc:
        raise CliError(
            f"{source} is not valid {'JSON' if source.endswith('.json') else 'YAML'}: {exc}"
        ) from exc


def _unknown(source: str, message: str) -> str:
    names = message.removesuffix(SDK_UNKNOWN_SUFFIX)
    return f"{source}: unknown member(s) left out of the request: {names}" if names != message else message
