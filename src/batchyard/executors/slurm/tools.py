"""Slurm's own client tools, as the executor uses them: one call for many jobs, never one per attempt.

Every call is a short-lived process (``SLURM_CONF`` and the rest of the environment honoured, as by
every Slurm tool) run from a worker thread; output is asked for in ``-o`` formats of our own, with a
separator no job name of ours holds, so parsing does not depend on column widths or a JSON plugin.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from batchyard.domain.resources import Resources
from batchyard.runner.usage import Totals

log = logging.getLogger(__name__)

_SEP = "|"
_TIMEOUT_S = 60.0
# What sbatch says when the controller is away for a moment (restarting, overloaded): worth a retry,
# where a refusal of the request is not.
_CONTROLLER_AWAY = ("Unable to contact slurm controller", "Socket timed out", "Zero Bytes were transmitted")
_RESUBMIT_DELAYS_S = (1.0, 2.0, 4.0)
_GRANTED = re.compile(r"Granted job allocation (\d+)")
_MIB_PER_GIB = 1024


# Job states of a job that will never run (again); anything else but PENDING/RUNNING is passing.
ENDED = frozenset(
    {"BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY"}
    | {"PREEMPTED", "TIMEOUT", "SPECIAL_EXIT", "REVOKED", "COMPLETING"}
)


class SlurmError(Exception):
    """A Slurm tool failed; the message is what it printed."""


class ControllerAway(SlurmError):
    """The controller did not answer (restarting, failing over, overloaded): asking again later may
    succeed, where a refusal of the request would be refused again."""


@dataclass(frozen=True)
class SlurmNode:
    name: str
    capacity: Resources
    address: str  # NodeAddr: where it is, for telling whether it is this machine


@dataclass(frozen=True)
class SlurmJob:
    job_id: str
    name: str
    state: str  # PENDING, RUNNING, COMPLETING, CANCELLED, NODE_FAIL, …
    node: str
    reason: str


@dataclass(frozen=True)
class Pilot:
    job_id: str
    running: bool  # granted at once: its node is held already


@dataclass(frozen=True)
class SlurmTools:
    partition: str | None
    env: Mapping[str, str]

    def nodes(self) -> list[SlurmNode]:
        """The partition's nodes with what each offers (CPUs, memory, GPUs from its generic resources);
        without a partition, the default one's (sinfo marks it with a ``*``), where pilots go."""
        fields = _SEP.join(("%N", "%c", "%m", "%G", "%o", "%P"))
        argv = ["sinfo", "--noheader", "--Node", "--format", fields]
        if self.partition:
            argv += ["--partition", self.partition]
        found = []
        for line in self._run(argv).splitlines():  # a line per node and partition
            try:
                name, cpus, memory_mib, gres, address, partition = line.split(_SEP)
                capacity = Resources(int(cpus), int(memory_mib.rstrip("+")) // _MIB_PER_GIB, _gpus(gres))
            except ValueError:
                raise SlurmError(f"sinfo listed a node in a form not understood: {line!r}") from None
            if self.partition or partition.endswith("*"):
                found.append(SlurmNode(name, capacity, address))
        return found

    def submit_pilot(self, name: str, resources: Resources, comment: str) -> Pilot:
        """An allocation holding ``resources`` for as long as it is not cancelled.

        Slurm picks its node, so a node that is down is never waited for. First asked for as an
        interactive allocation that must start at once (``salloc --immediate --no-shell``): the
        controller places those while it answers, where it queues a batch job for its next scheduling
        pass (up to a second later, even on an idle cluster). Where it cannot start at once (the
        cluster is full, a job is completing, a job of higher priority waits), it is a batch job that
        waits in the queue, whose batch step only sleeps. Either way attempts run in it as steps of
        their own, and without a shell of ours holding it: ``--no-shell`` allocations are not ended
        when their ``salloc`` is gone (``InactiveLimit``).
        """
        shape = [
            *("--job-name", name, "--comment", comment, "--chdir", "/"),
            *("--nodes", "1", "--ntasks", "1", "--cpus-per-task", str(resources.cpu)),
            *("--mem", f"{resources.memory_gib * _MIB_PER_GIB}M"),
        ]
        if resources.gpu:
            shape += ["--gres", f"gpu:{resources.gpu}"]
        if self.partition:
            shape += ["--partition", self.partition]
        granted = self._allocate_now(shape)
        if granted is not None:
            return Pilot(granted, running=True)
        sbatch = [
            *("sbatch", "--parsable", *shape, "--no-requeue", "--output", os.devnull),
            *("--wrap", "exec sleep infinity"),
        ]
        for delay in _RESUBMIT_DELAYS_S:
            try:
                return Pilot(self._run(sbatch).strip().split(";")[0], running=False)
            except ControllerAway as exc:
                log.warning("sbatch will be tried again in %s s: %s", delay, exc)
                time.sleep(delay)
        return Pilot(self._run(sbatch).strip().split(";")[0], running=False)

    def _allocate_now(self, shape: list[str]) -> str | None:
        """The job id of an allocation granted in the controller's answer, or None where it was not
        (it then leaves a FAILED record of the name, which ``by_name`` ranks below a live one)."""
        try:
            done = self._call(["salloc", "--immediate", "--no-shell", *shape])
        except SlurmError as exc:
            log.warning("the pilot waits in the queue instead: %s", exc)
            return None
        granted = _GRANTED.search(done.stderr)
        return granted.group(1) if done.returncode == 0 and granted else None

    def jobs(self, comment: str) -> list[SlurmJob]:
        """Our jobs (this user's, carrying ``comment``), ended ones still listed included, in one call."""
        fields = _SEP.join(("%i", "%j", "%T", "%N", "%r", "%k"))
        argv = ["squeue", "--noheader", "--me", "--all", "--states", "all", "--format", fields]
        found = []
        for line in self._run(argv).splitlines():
            parts = line.split(_SEP, 5)
            if len(parts) == 6 and parts[5] == comment:
                found.append(SlurmJob(*parts[:5]))
        return found

    def steps(self, job_ids: Iterable[str]) -> dict[str, str]:
        """The running steps of these jobs by name: name -> ``<job id>.<step id>``."""
        ids = ",".join(sorted(set(job_ids)))
        if not ids:
            return {}
        out = self._run(["squeue", "--noheader", "--steps", "--jobs", ids, "--format", f"%i{_SEP}%j"])
        return {name: step for step, name in (line.split(_SEP, 1) for line in out.splitlines())}

    def step_usage(self, step_ids: Iterable[str]) -> dict[str, Totals]:
        """CPU time and memory each running step has used so far, by ``<job id>.<step id>``, as the
        cluster's accounting last sampled them (``sstat``: every task's processes, summed); steps it
        has no sample of are absent."""
        ids = ",".join(sorted(set(step_ids)))
        if not ids:
            return {}
        argv = ["sstat", "--noheader", "--parsable2", "--jobs", ids, "--format", "JobID,TRESUsageInTot"]
        found = {}
        # A step that has just ended is refused with an error, and the others still listed.
        for line in self._run(argv, check=False).splitlines():
            step, _, tres = line.partition("|")
            used = dict(item.partition("=")[::2] for item in tres.split(","))
            with contextlib.suppress(KeyError, ValueError):
                found[step] = Totals(_seconds(used["cpu"]), _bytes(used["mem"]))
        return found

    def cancel(self, ids: Sequence[str], signal: str | None = None) -> None:
        """End jobs or steps (``J`` or ``J.S``), or send them only ``signal``. A step's plain cancel is
        SIGKILL at once; a job's is SIGTERM, then SIGKILL after the cluster's KillWait."""
        if ids:
            flags = [] if signal is None else [f"--signal={signal}"]
            self._run(["scancel", *flags, *ids], check=False)

    def _run(self, argv: list[str], check: bool = True) -> str:
        done = self._call(argv)
        if check and done.returncode != 0:
            said = done.stderr.strip()
            raise (ControllerAway if controller_away(said) else SlurmError)(
                f"{argv[0]} exited with {done.returncode}: {said}"
            )
        return done.stdout

    def _call(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """The tool's exit status and output; a tool that cannot be run or hangs is a ``SlurmError``."""
        try:
            return subprocess.run(
                argv, env=dict(self.env), capture_output=True, text=True, timeout=_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise ControllerAway(f"{argv[0]} failed: {exc}") from None
        except OSError as exc:
            raise SlurmError(f"{argv[0]} failed: {exc}") from None


def controller_away(said: str) -> bool:
    """Whether a Slurm tool's error output says that the controller did not answer."""
    return any(sign in said for sign in _CONTROLLER_AWAY)


def by_name(jobs: Iterable[SlurmJob]) -> dict[str, SlurmJob]:
    """Each name's likeliest pilot, whatever order squeue listed them in (``SQUEUE_SORT`` is the
    user's): a live job over an ended one (an allocation that could not start at once leaves a FAILED
    record of its name), then the newer."""
    found: dict[str, SlurmJob] = {}
    for job in jobs:
        if job.name not in found or _rank(job) > _rank(found[job.name]):
            found[job.name] = job
    return found


def _rank(job: SlurmJob) -> tuple[bool, int]:
    return job.state not in ENDED, int(job.job_id) if job.job_id.isdigit() else -1


def _seconds(text: str) -> float:
    """A Slurm duration: ``[D-]HH:MM:SS``, ``MM:SS`` or ``MM:SS.mmm``."""
    days, _, clock = text.rpartition("-")
    hours, minutes, seconds = ([0.0, 0.0] + [float(part) for part in clock.split(":")])[-3:]
    return (int(days) if days else 0) * 86400 + hours * 3600 + minutes * 60 + seconds


def _bytes(text: str) -> int:
    """A Slurm size: a number of bytes, or of K, M, G, T or P (powers of 1,024)."""
    power = "KMGTP".find(text[-1:]) + 1 if text[-1:].isalpha() else 0
    if text[-1:].isalpha() and power == 0:
        raise ValueError(f"not a size: {text!r}")
    return int(float(text[:-1] if power else text) * 1024**power)


def _gpus(gres: str) -> int:
    """GPUs in sinfo's %G (``gpu:2``, ``gpu:a100:4(S:0-1)``, several comma-separated, or ``(null)``)."""
    total = 0
    for item in gres.split(","):
        parts = item.split("(")[0].split(":")
        if parts[0] == "gpu" and len(parts) > 1 and parts[-1].isdigit():
            total += int(parts[-1])
    return total
