"""What a command does when it cannot go on: one red line on stderr and an exit status, never a traceback.

Every client command runs its body inside ``reported()``, the one place where the API's errors
(``TencentCloudSDKException``: a code and a message, or ``ClientNetworkError`` when the endpoint does not
answer) and the CLI's own (``CliError``: a missing credential, an unreadable job file) become what the
user reads. Scripts tell them apart by the exit status.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException


class ExitStatus(IntEnum):
    OK = 0
    JOB_FAILED = 1  # submit --wait: the job ended in another state than SUCCEED
    USAGE = 2  # the command line, a file or the configuration is wrong (click's own code for usage errors)
    API = 3  # the API refused the request, or the endpoint could not be reached
    INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT


class CliError(Exception):
    """A mistake the user can correct, with the exit status it ends the command with."""

    def __init__(self, message: str, status: ExitStatus = ExitStatus.USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@contextmanager
def reported() -> Iterator[None]:
    """Turn the errors a command can meet into one red line and its exit status."""
    try:
        yield
    except TencentCloudSDKException as exc:
        fail(f"{exc.code}: {exc.message}", ExitStatus.API)
    except CliError as exc:
        fail(exc.message, exc.status)
    except KeyboardInterrupt:
        raise typer.Exit(ExitStatus.INTERRUPTED) from None


def fail(message: str, status: ExitStatus) -> NoReturn:
    """Print ``message`` as one line (never wrapped, whatever the terminal's width) and exit."""
    one_line = " ".join(str(message).split())
    Console(stderr=True, highlight=False).print(Text(one_line, style="red"), soft_wrap=True)
    raise typer.Exit(status)


def warn(message: str) -> None:
    """A yellow line on stderr, for what the user should know but need not stop for."""
    Console(stderr=True, highlight=False).print(Text(message, style="yellow"), soft_wrap=True)
