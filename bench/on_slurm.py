"""Slurm (#9): what an instance and a node cost on a Slurm cluster, against the best a user could do by
hand on the same cluster.

A real cluster on loopback (`scripts/slurm-cluster`: munged, slurmctld, two slurmd, node1 and node2 of
4 CPUs and 8 GiB each), in a folder made for the run and stopped at the end whatever happens. The
controller's first allocation after it starts is made and cancelled before anything is measured, and
between any two measurements the cluster is left to go idle (no job in `squeue`, both nodes idle).

- **batchyard**: a server with `executor = "slurm"` (its config file; SLURM_CONF in its environment)
  and its default sandbox. A named environment of 2 x S5.LARGE8 (4 CPUs, 8 GiB: one node fills one
  Slurm node, so there is exactly one pilot per Slurm node); both nodes CREATED (DescribeComputeEnv)
  before the clock starts; then one job of one task of N instances of `true` on that EnvId, timed from
  SubmitJob to SUCCEED (DescribeJob every 50 ms). The same again without the sandbox (`[sandbox]
  enabled = false`), for information: what the sandbox costs on a cluster. Each server's log is
  checked for whether it sandboxes.
- **The pilot loop by hand**: two `sbatch --parsable --wrap 'exec sleep infinity'` allocations of the
  same CPUs and memory (one per node), waited for until RUNNING (not timed); then two shell loops in
  parallel, one per allocation, each running N/2 x `srun --jobid=J --overlap -n1 -N1 true` one after
  the other, timed until both end. A node of ours also runs one attempt at a time.
- **`sbatch --array=0-(M-1) --wrap true`**, timed from sbatch until every task is COMPLETED in
  `squeue`. M is smaller than N (the controller starts array tasks on its ~1 s scheduling tick, so
  1,000 of them take minutes); it is compared per instance (run time / M against ours / N).
- **Node placement**: CreateComputeEnv of one S5.LARGE8 node until DescribeComputeEnv shows it CREATED
  (then DeleteComputeEnv), against one `sbatch` of the same allocation until `squeue` shows it RUNNING
  (then scancel), both polled every 20 ms, in turn, several times, each after a random pause of up to
  a second (so that they meet the controller's ~1 s scheduling tick at any phase); medians. For
  information, also against `salloc --immediate --no-shell` of the same allocation until it returns
  granted: how the server first asks for a node, which the controller places while it answers. For
  information, the two-node environments of the runs above (CreateComputeEnv until both are CREATED)
  against the pilot loop's two allocations (two sbatch until both are RUNNING).

Each round runs the pilot loop, the server and the server without sandbox (the other way round in every
other round), then the array; figures are medians of the rounds: the machine has 2 cores and runs vary
by a fifth. The server against the pilot loop is judged on the median of each round's own ratio, as
the machine's load drifts more between rounds than within one. Targets (issue #9): N = 1,000 within
1.5x of the pilot loop; far ahead of `sbatch --array`, read here as at most half its cost per
instance; placing a node no slower than the controller's own start latency (at most 1x).
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness import (
    BenchError,
    Client,
    Figure,
    Server,
    Target,
    call,
    create_env,
    env_task,
    make_client,
    running_server,
    submit,
    wait_env_created,
    wait_job,
)

from batchyard.executors.slurm.executor import cancel_pilots

NAME = "slurm"
FULL_N, QUICK_N = 1_000, 100
FULL_ARRAY, QUICK_ARRAY = 200, 50
REPEATS, QUICK_REPEATS = 3, 1
PLACEMENTS, QUICK_PLACEMENTS = 9, 3
NODES, NODE_CPUS, NODE_MEMORY_MB = 2, 4, 8192
INSTANCE_TYPE = "S5.LARGE8"  # 4 CPUs, 8 GiB: exactly one node of ours per Slurm node
PILOT_TARGET = 1.5
ARRAY_TARGET = 0.5  # "far ahead": at most half the array's cost per instance
PLACEMENT_TARGET = 1.0
SERVER_CONFIG = 'executor = "slurm"\n'
NO_SANDBOX = "[sandbox]\nenabled = false\n"
UNSANDBOXED = "THE SANDBOX IS OFF"  # what the server's log says when commands run without a sandbox
JOB_POLL_S = 0.05  # DescribeJob during a run: 0.1 % of a 1,000-instance run, little load on 2 cores
PLACE_POLL_S = 0.02  # squeue and DescribeComputeEnv while a node is being placed
ARRAY_POLL_S = 0.1  # an squeue costs about 10 ms of CPU
# Placements start after a random pause of up to a second, so that they meet the controller's ~1 s
# scheduling tick at any phase, not at one set by the cancellation before them.
PLACE_PAUSE_S = 1.0
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "slurm-cluster"
# Job states in which an array task or an allocation has not ended yet.
UNFINISHED = frozenset({"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED"})


@dataclass(frozen=True)
class Cluster:
    """The cluster of this run: its tools are called with its SLURM_CONF."""

    folder: Path

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.folder / "slurm.conf")}

    def call(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=60, check=False)

    def tool(self, *argv: str) -> str:
        done = self.call(*argv)
        if done.returncode != 0:
            raise BenchError(f"{' '.join(argv)} exited with {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    def sbatch_pilot(self) -> str:
        """An allocation like a node of ours: the node's CPUs and memory, a batch step that only sleeps."""
        return self.tool(
            *("sbatch", "--parsable", "--job-name", "bench-pilot", "--nodes", "1", "--ntasks", "1"),
            *("--cpus-per-task", str(NODE_CPUS), "--mem", f"{NODE_MEMORY_MB}M", "--output", os.devnull),
            *("--chdir", "/", "--wrap", "exec sleep infinity"),
        ).strip()

    def salloc_pilot(self) -> str:
        """The same allocation asked for as the server first asks: granted in the controller's answer
        or refused (``salloc --immediate --no-shell``)."""
        done = self.call(
            *("salloc", "--immediate", "--no-shell", "--job-name", "bench-pilot", "--nodes", "1"),
            *("--ntasks", "1", "--cpus-per-task", str(NODE_CPUS), "--mem", f"{NODE_MEMORY_MB}M"),
        )
        granted = re.search(r"Granted job allocation (\d+)", done.stderr)
        if done.returncode != 0 or granted is None:
            raise BenchError(f"salloc --immediate was not granted: {done.stderr.strip()}")
        return granted.group(1)

    def states(self, job_id: str) -> list[str]:
        """Each array task's (or the job's) state; finished ones stay listed for MinJobAge (300 s)."""
        out = self.tool("squeue", "--noheader", "--array", "--states", "all", "--jobs", job_id, "-o", "%T")
        return out.split()

    def wait_running(self, job_ids: list[str], timeout: float = 60) -> list[str]:
        """Until every allocation is RUNNING; their nodes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.tool("squeue", "--noheader", "--jobs", ",".join(job_ids), "-o", "%T|%N")
            rows = [line.split("|") for line in out.splitlines()]
            if len(rows) == len(job_ids) and all(state == "RUNNING" for state, _ in rows):
                return [node for _, node in rows]
            time.sleep(PLACE_POLL_S)
        raise BenchError(f"allocations {job_ids} not RUNNING within {timeout:.0f} s")

    def wait_idle(self, timeout: float = 60) -> None:
        """Until no job is left (COMPLETING included) and every node is idle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = self.tool("squeue", "--noheader", "-o", "%i").split()
            nodes = set(self.tool("sinfo", "--noheader", "--Node", "-o", "%T").split())
            if not jobs and nodes == {"idle"}:
                return
            time.sleep(0.05)
        raise BenchError(f"the cluster did not go idle within {timeout:.0f} s")

    def cancel(self, job_ids: list[str]) -> None:
        if job_ids:
            self.tool("scancel", *job_ids)


def script(*args: str) -> str:
    done = subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"scripts/slurm-cluster {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


@contextlib.contextmanager
def slurm_cluster() -> Iterator[Cluster]:
    """A cluster for the run, stopped and deleted at the end. Its folder comes from mkdtemp under /tmp
    (the script opens it to all: munged wants every folder above its socket open). Servers started
    meanwhile find SLURM_CONF in this process's environment, which is put back at the end."""
    folder = Path(tempfile.mkdtemp(prefix="batchyard-bench-slurm-"))
    before = os.environ.get("SLURM_CONF")
    try:
        script("start", str(folder), "--nodes", str(NODES), "--cpus", str(NODE_CPUS))
        os.environ["SLURM_CONF"] = str(folder / "slurm.conf")
        cluster = Cluster(folder)
        cluster.wait_idle()
        place_by_hand(cluster)  # so that no measurement pays for the controller's first allocation
        yield cluster
    finally:
        if before is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = before
        try:
            if (folder / "slurm.conf").exists():
                script("stop", str(folder))
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def slurm_server(
    cluster: Cluster, compute_envs: int | None = None, sandboxed: bool = True
) -> Iterator[Server]:
    """A server putting its nodes on the cluster, with its default sandbox or none; its pilots (which
    outlive it by design) are cancelled once it has stopped, and the cluster is left to go idle."""
    runs: Path | None = None
    config = SERVER_CONFIG + ("" if sandboxed else NO_SANDBOX)
    try:
        with running_server(config=config, compute_envs=compute_envs) as server:
            runs = (server.data_dir / "runs").resolve()
            yield server
    finally:
        if runs is not None:
            cancel_pilots(runs, cluster.env)
        cluster.wait_idle()


@dataclass(frozen=True)
class Run:
    seconds: float  # the N instances (or M array tasks)
    placed: float | None = None  # the allocations before them: until all were ready


def ours(cluster: Cluster, n: int, sandboxed: bool = True) -> Run:
    """N x `true` on a named environment of NODES x INSTANCE_TYPE, made (and timed) first; the server's
    log must say the sandbox is as asked."""
    with slurm_server(cluster, sandboxed=sandboxed) as server:
        if sandboxed == (UNSANDBOXED in (server.root / "server.log").read_text(errors="replace")):
            raise BenchError(f"the server's sandbox is not as asked (sandboxed: {sandboxed}): see its log")
        client = make_client(server.endpoint)
        start = time.perf_counter()
        env_id = create_env(client, "bench", NODES, INSTANCE_TYPE)
        wait_env_created(client, env_id, NODES)
        placed = time.perf_counter() - start
        start = time.perf_counter()
        job_id = submit(client, env_task("t", "true", env_id, n))
        state = wait_job(client, job_id, 120 + n * 0.5, interval=JOB_POLL_S)
        seconds = time.perf_counter() - start
        if state != "SUCCEED":
            raise BenchError(f"batchyard on Slurm, N={n}: the job ended {state}")
        return Run(seconds, placed)


def pilot_loop(cluster: Cluster, n: int) -> Run:
    """Two allocations by hand, then N/2 x `srun --overlap true` one after the other in each."""
    start = time.perf_counter()
    jobs = [cluster.sbatch_pilot() for _ in range(NODES)]
    try:
        nodes = cluster.wait_running(jobs)
        placed = time.perf_counter() - start
        if len(set(nodes)) != NODES:
            raise BenchError(f"the allocations by hand share nodes: {nodes}")
        loop = f'for i in $(seq {n // NODES}); do srun --jobid="$0" --overlap -n1 -N1 true || exit 1; done'
        start = time.perf_counter()
        loops = [subprocess.Popen(["bash", "-c", loop, job], env=cluster.env, cwd="/") for job in jobs]
        codes = [p.wait() for p in loops]
        seconds = time.perf_counter() - start
        if any(codes):
            raise BenchError(f"the srun loops exited with {codes}")
        return Run(seconds, placed)
    finally:
        cluster.cancel(jobs)
        cluster.wait_idle()


def array(cluster: Cluster, m: int) -> Run:
    """`sbatch --array=0-(M-1) --wrap true`, until every task has ended."""
    start = time.perf_counter()
    job_id = cluster.tool(
        *("sbatch", "--parsable", "--job-name", "bench-array", f"--array=0-{m - 1}"),
        *("--output", os.devnull, "--chdir", "/", "--wrap", "true"),
    ).strip()
    try:
        deadline = time.monotonic() + 60 + m * 2
        while time.monotonic() < deadline:
            states = cluster.states(job_id)
            if len(states) == m and not UNFINISHED.intersection(states):
                seconds = time.perf_counter() - start
                if set(states) != {"COMPLETED"}:
                    raise BenchError(f"array {job_id}: tasks ended {sorted(set(states))}")
                return Run(seconds)
            time.sleep(ARRAY_POLL_S)
        raise BenchError(f"array {job_id} of {m} not done within {60 + m * 2} s")
    finally:
        cluster.cancel([job_id])
        cluster.wait_idle()


def place_ours(cluster: Cluster, client: Client, i: int, pause: float) -> float:
    time.sleep(pause)
    start = time.perf_counter()
    env_id = create_env(client, f"place-{i}", 1, INSTANCE_TYPE)
    wait_env_created(client, env_id, 1)
    seconds = time.perf_counter() - start
    call(client, "DeleteComputeEnv", {"EnvId": env_id})
    cluster.wait_idle()
    return seconds


def place_by_hand(cluster: Cluster, pause: float = 0) -> float:
    time.sleep(pause)
    start = time.perf_counter()
    job_id = cluster.sbatch_pilot()
    try:
        cluster.wait_running([job_id])
        return time.perf_counter() - start
    finally:
        cluster.cancel([job_id])
        cluster.wait_idle()


def place_by_salloc(cluster: Cluster, pause: float = 0) -> float:
    time.sleep(pause)
    start = time.perf_counter()
    job_id = cluster.salloc_pilot()
    try:
        return time.perf_counter() - start
    finally:
        cluster.cancel([job_id])
        cluster.wait_idle()


@dataclass
class Placements:
    served: list[float] = field(default_factory=list)
    by_hand: list[float] = field(default_factory=list)  # sbatch until RUNNING
    by_salloc: list[float] = field(default_factory=list)  # salloc --immediate until granted


def placements(cluster: Cluster, rounds: int) -> Placements:
    """One node placed by the server, one allocation by sbatch and one by salloc, in turn (the server
    first in even rounds, last in odd ones), each after a random pause drawn from one sequence that
    is the same in every run."""
    got = Placements()
    pauses = random.Random(NAME)
    with slurm_server(cluster, compute_envs=rounds + 10) as server:
        client = make_client(server.endpoint)
        cluster.wait_idle()
        for i in range(rounds):
            measures = [
                (got.served, functools.partial(place_ours, cluster, client, i)),
                (got.by_hand, functools.partial(place_by_hand, cluster)),
                (got.by_salloc, functools.partial(place_by_salloc, cluster)),
            ]
            if i % 2:
                measures = measures[1:] + measures[:1]
            for into, place in measures:
                into.append(place(pauses.uniform(0, PLACE_PAUSE_S)))
    print(
        f"[{NAME}] placed by the server: {' '.join(f'{s:.3f}' for s in got.served)} s;"
        f" by sbatch: {' '.join(f'{s:.3f}' for s in got.by_hand)} s;"
        f" by salloc: {' '.join(f'{s:.3f}' for s in got.by_salloc)} s",
        file=sys.stderr,
        flush=True,
    )
    return got


@dataclass
class Rounds:
    served: list[Run] = field(default_factory=list)  # the server as it starts by default
    bare: list[Run] = field(default_factory=list)  # the server without its sandbox
    loops: list[Run] = field(default_factory=list)
    arrays: list[Run] = field(default_factory=list)


def rounds(cluster: Cluster, n: int, m: int, repeats: int) -> Rounds:
    """Pilot loop, server, server without sandbox; the other way round in odd rounds; then the array."""
    got = Rounds()
    for i in range(repeats):
        steps: list[Callable[[], None]] = [
            lambda: got.loops.append(pilot_loop(cluster, n)),
            lambda: got.served.append(ours(cluster, n)),
            lambda: got.bare.append(ours(cluster, n, sandboxed=False)),
        ]
        for step in steps if i % 2 == 0 else steps[::-1]:
            step()
        got.arrays.append(array(cluster, m))
        loop, served, bare = got.loops[-1].seconds, got.served[-1].seconds, got.bare[-1].seconds
        print(
            f"[{NAME}] round {i + 1}: srun loops {loop:.2f} s, server {served:.2f} s ({served / loop:.2f}x),"
            f" no sandbox {bare:.2f} s ({bare / loop:.2f}x), array of {m} {got.arrays[-1].seconds:.2f} s",
            file=sys.stderr,
            flush=True,
        )
    return got


def median(values: list[float]) -> float:
    return statistics.median(values)


def run(quick: bool, with_100k: bool) -> list[Figure]:
    n = QUICK_N if quick else FULL_N
    m = QUICK_ARRAY if quick else FULL_ARRAY
    repeats = QUICK_REPEATS if quick else REPEATS
    with slurm_cluster() as cluster:
        got = rounds(cluster, n, m, repeats)
        placed = placements(cluster, QUICK_PLACEMENTS if quick else PLACEMENTS)
    seconds = median([r.seconds for r in got.served])
    bare = median([r.seconds for r in got.bare])
    loop = median([r.seconds for r in got.loops])
    per_instance = seconds / n * 1e3
    array_per_task = median([r.seconds / m for r in got.arrays]) * 1e3
    placed_s = median(placed.served)
    placed_by_hand_s = median(placed.by_hand)
    two_ours = [r.placed for r in got.served + got.bare if r.placed is not None]
    two_by_hand = [r.placed for r in got.loops if r.placed is not None]
    # Judged on each round's own ratio: the load of the machine drifts more between rounds than within one.
    pair_ratio = median([s.seconds / b.seconds for s, b in zip(got.served, got.loops, strict=True)])
    of = f", median of {repeats}" if repeats > 1 else ""
    where = f"{NODES} x {INSTANCE_TYPE}"
    return [
        Figure(
            NAME,
            f"N={n:,} x true on {where}, SubmitJob->SUCCEED{of}",
            seconds,
            "s",
            loop,
            f"{NODES} srun loops",
        ),
        Figure(
            NAME,
            f"N={n:,} server / srun loops{of.replace('median of', 'median ratio of')}",
            pair_ratio,
            "x",
            target=Target(f"<= {PILOT_TARGET}x srun loops", pair_ratio <= PILOT_TARGET),
        ),
        Figure(NAME, f"N={n:,} per instance{of}", per_instance, "ms", loop / n * 1e3, f"{NODES} srun loops"),
        Figure(NAME, f"N={n:,} the same, no sandbox{of}", bare, "s", loop, f"{NODES} srun loops"),
        Figure(
            NAME,
            f"per instance, N={n:,} vs an array of {m}{of}",
            per_instance,
            "ms",
            array_per_task,
            "sbatch --array",
            Target(f"<= {ARRAY_TARGET}x sbatch --array", per_instance / array_per_task <= ARRAY_TARGET),
        ),
        Figure(
            NAME,
            f"1 node placed, CreateComputeEnv->CREATED, median of {len(placed.served)}",
            placed_s,
            "s",
            placed_by_hand_s,
            "sbatch->RUNNING",
            Target(f"<= {PLACEMENT_TARGET:g}x sbatch", placed_s / placed_by_hand_s <= PLACEMENT_TARGET),
        ),
        Figure(
            NAME,
            f"1 node placed, the same, median of {len(placed.served)}",
            placed_s,
            "s",
            median(placed.by_salloc),
            "salloc --immediate->granted",
        ),
        Figure(
            NAME,
            f"{NODES} nodes placed, CreateComputeEnv->CREATED, median of {len(two_ours)}",
            median(two_ours),
            "s",
            median(two_by_hand),
            f"{NODES} x sbatch->RUNNING",
        ),
    ]
