"""The runner as a program of its own, for nodes where the server does not run (a Slurm allocation):
``python -I -m batchyard.runner ORDER [SANDBOX LINE…] COMMAND``.

It stands where the launch wrapper (``runner.wrapper``) runs the command, so the wrapper still marks
the attempt begun and journals its exit, exactly once, by the same rules as on the server's machine.
Around the command it moves the attempt's data, with the same code the local executor uses
(``runner.staging``): inputs and the package in before, outputs out after, even after a failure.
What went wrong with the data is written to the attempt's outcome file (``Outcome``), which the
executor reads beside the exit code: a failed staging means the command never ran; a failed or
missing output fails a command that succeeded.

``-I`` keeps the task's PYTHON* variables from reaching this program, which runs as root; the
loader's variables never reach it either (``runner.environment.sandboxed_attempt``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from batchyard.domain.attempts import DataPlan, Failure
from batchyard.runner.outcome import SHELL_SIGNAL_BASE, classify_error
from batchyard.runner.staging import NodeData, StagingFailed, binds, save_outputs, stage_in
from batchyard.storage.local_files import replacing
from batchyard.storage.store import ObjectStore

NOT_RUN = 125  # the exit code when staging failed and the command did not run


@dataclass(frozen=True)
class Order:
    """What the runner needs beside the command line: written by the executor, read on the node."""

    workdir: str
    data: DataPlan
    store_settings: str  # the file holding the store's settings (``storage.factory.store_settings``)
    outcome: str  # where to write an ``Outcome``
    owner: tuple[int, int] | None  # the task user, who gets the folders the sandbox mounts writable

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Order:
        raw = json.loads(text)
        data = raw["data"]
        plan = DataPlan(
            tuple(map(tuple, data["inputs"])), tuple(map(tuple, data["outputs"])), data["package"]
        )
        owner = raw["owner"]
        return cls(raw["workdir"], plan, raw["store_settings"], raw["outcome"], owner and tuple(owner))


@dataclass(frozen=True)
class Outcome:
    """What the runner found wrong with the data; ``ran``: whether the command ran at all."""

    ran: bool
    failure: Failure
    reason: str

    def write(self, path: str) -> None:
        with replacing(Path(path)) as partial:
            partial.write_text(
                json.dumps({"ran": self.ran, "failure": self.failure.value, "reason": self.reason})
            )

    @classmethod
    def read(cls, path: str) -> Outcome | None:
        """The outcome the runner left, or None (nothing went wrong, or no runner ran)."""
        try:
            with open(path) as f:
                raw = json.load(f)
            return cls(bool(raw["ran"]), Failure(raw["failure"]), str(raw["reason"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return cls(True, Failure.SYSTEM, f"The runner's outcome could not be read: {exc}.")


def main(argv: list[str]) -> int:
    order = Order.from_json(Path(argv[0]).read_text())
    line, command = argv[1:-1], argv[-1]
    node = NodeData.of(order.workdir)
    environment = dict(os.environ)  # the attempt's, before the store's keys join this process's
    try:
        store = _store(order.store_settings)
        stage_in(store, order.data, node)
        if order.owner is not None:
            for bind in binds(order.data, node):
                os.chown(bind.source, *order.owner)
    except StagingFailed as failed:
        Outcome(False, failed.failure, failed.reason).write(order.outcome)
        return NOT_RUN
    except Exception as exc:  # whatever staging meets is this attempt's outcome, never a traceback
        Outcome(False, *classify_error(exc, "The attempt's data could not be staged")).write(order.outcome)
        return NOT_RUN
    code = _run(line, command, order.workdir, environment)
    failed_out = save_outputs(store, order.data, node)
    if failed_out is not None:
        Outcome(True, *failed_out).write(order.outcome)
    return code


def _run(line: list[str], command: str, workdir: str, environment: dict[str, str]) -> int:
    """The command in the sandbox line, or in a shell in the working folder; its exit as a shell says it.

    A SIGTERM to the attempt is the command's to answer: the runner waits for it, then saves outputs.
    """
    signal.signal(signal.SIGTERM, lambda *_: None)  # reset to the default in the command by exec
    argv = [*line, command] if line else ["/bin/sh", "-c", command]
    code = subprocess.call(argv, cwd=None if line else workdir, env=environment)
    return code if code >= 0 else SHELL_SIGNAL_BASE - code


def _store(settings_file: str) -> ObjectStore:
    """Imported here: s3fs costs a runner that only uses the folder store a quarter of a second."""
    from batchyard.config.settings import Settings
    from batchyard.storage.factory import object_store

    raw = json.loads(Path(settings_file).read_text())
    os.environ.update(raw.pop("aws_environment", {}))
    return object_store(Settings.model_validate(raw))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
