"""Data mappings (#8): what InputMappings and OutputMappings cost, against the same copies done by hand.

One task of N instances (1,000; `--quick` 100). Every instance maps the same 1 MB input object
(`cos://bench-1250000000/in/input.bin`, one shared object: mappings are per task, so every instance
gets the same ones) to `/data/input/`, copies it into `/data/output/` under its own index
(`cp /data/input/input.bin /data/output/$BATCH_TASK_INSTANCE_INDEX.bin`), and `/data/output/` is
mapped to `cos://bench-1250000000/out/`. A folder's files go under the remote folder by their names,
so the N instances write N distinct 1 MB objects, `out/0.bin` … `out/<N-1>.bin`; after each run
they are counted and sized. The paths are absolute, as in Batch's examples, so the server runs with
its default sandbox (bwrap binds the staged folders there) and node cgroups.

The baseline is a plain Python script doing the same copies through fsspec with the server's
parallelism (a thread per CPU, as the server has a one-CPU node per core and a node stages one
attempt at a time): per instance, `get_file` of the input into a local folder, a local copy (the
command's `cp`), `put_file` of the result to `out/<i>.bin`, and the local files removed.

Both run on the two stores the server has: its local folder store (`object_store = "local"`, the
objects under `<data-dir>/cos/`) and an S3 endpoint (`object_store = "s3"`, a `moto_server` on
loopback, reset before each run). A third server run, the same N instances of `true` without any
mapping, shows what the instances cost without data: the server's run time minus it is what the
mappings cost, and that difference is shown against the baseline too (informative only; the target
is the whole run within 1.5x of the baseline, from the issue).

Every round runs all five in turn (3 rounds; `--quick` 1); figures are medians of the rounds. Each
run's time goes to stderr with the load average before it, which shows other work on the machine.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem
from harness import (
    CPUS,
    BenchError,
    Figure,
    Target,
    free_port,
    make_client,
    running_server,
    spawn,
    stop_process_group,
    submit,
    task,
    temp_dir,
    wait_job,
)
from throughput import MIN_POLL_S

NAME = "mappings"
FULL_N, QUICK_N = 1_000, 100
REPEATS, QUICK_REPEATS = 3, 1
TARGET = 1.5
# DescribeJob is polled every 1 % of the same round's baseline: the ratio is then known to 0.01, and the
# server is not slowed by its client (a signed DescribeJob costs both sides half a millisecond, and the
# throughput benchmark's interval, sized for instances of under a millisecond, polls 200 times a second).
POLL_SHARE = 0.01
SIZE = 1 << 20
BUCKET = "bench-1250000000"
INPUT_KEY, OUTPUT_PREFIX = "in/input.bin", "out/"
COMMAND = "cp /data/input/input.bin /data/output/$BATCH_TASK_INSTANCE_INDEX.bin"
MAPPINGS = {
    "InputMappings": [{"SourcePath": f"cos://{BUCKET}/{INPUT_KEY}", "DestinationPath": "/data/input/"}],
    "OutputMappings": [{"SourcePath": "/data/output/", "DestinationPath": f"cos://{BUCKET}/{OUTPUT_PREFIX}"}],
}
MOTO_KEYS = {"key_id": "testing", "secret": "testing", "region": "us-east-1"}


@dataclass(frozen=True)
class Moto:
    """A `moto_server` on loopback: an S3-compatible endpoint, emptied before each run."""

    url: str

    @property
    def server_config(self) -> str:
        return (
            f'object_store = "s3"\n[s3]\nendpoint_url = "{self.url}"\n'
            f'access_key_id = "{MOTO_KEYS["key_id"]}"\nsecret_access_key = "{MOTO_KEYS["secret"]}"\n'
            f'region = "{MOTO_KEYS["region"]}"\n'
        )

    def filesystem(self) -> AbstractFileSystem:
        """A private s3fs, like the server's own: no instance cache, no listings cache."""
        from s3fs import S3FileSystem

        return S3FileSystem(
            endpoint_url=self.url,
            key=MOTO_KEYS["key_id"],
            secret=MOTO_KEYS["secret"],
            client_kwargs={"region_name": MOTO_KEYS["region"]},
            skip_instance_cache=True,
            use_listings_cache=False,
        )

    def fresh_bucket(self) -> AbstractFileSystem:
        """Forget every object (moto keeps them in memory), then make the bucket and the input."""
        import boto3  # slow to import; only this benchmark needs it

        httpx.post(f"{self.url}/moto-api/reset", timeout=30).raise_for_status()
        s3 = boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=MOTO_KEYS["key_id"],
            aws_secret_access_key=MOTO_KEYS["secret"],
            region_name=MOTO_KEYS["region"],
        )
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=INPUT_KEY, Body=os.urandom(SIZE))
        return self.filesystem()


@contextlib.contextmanager
def moto_server() -> Iterator[Moto]:
    """Started as the tests start theirs (`python -m moto.server` on 127.0.0.1), in its own session."""
    with temp_dir("moto") as root:
        port = free_port()
        argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        with (root / "moto.log").open("ab") as log:
            process = spawn(argv, log)
        try:
            wait_moto(f"http://127.0.0.1:{port}", process, root / "moto.log")
            yield Moto(f"http://127.0.0.1:{port}")
        finally:
            stop_process_group(process)


def wait_moto(url: str, process: Any, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"moto_server exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/moto-api/", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise BenchError(f"moto_server at {url} not answering within {timeout} s")


@dataclass(frozen=True)
class Store:
    """Where a run's objects are: a bucket folder (local) or the S3 bucket, and how to check them."""

    fs: AbstractFileSystem
    top: str  # the bucket's path in ``fs``

    def check_outputs(self, n: int, label: str) -> None:
        """N distinct objects of 1 MB under out/, named after the instances' indexes."""
        found = self.fs.find(f"{self.top}/{OUTPUT_PREFIX}", detail=True)
        names = {path.rsplit("/", 1)[-1]: info["size"] for path, info in found.items()}
        expected = {f"{i}.bin" for i in range(n)}
        if set(names) != expected or any(size != SIZE for size in names.values()):
            wrong = sorted(set(names) ^ expected)[:5]
            raise BenchError(f"{label}: {len(names)} outputs, not the {n} expected (e.g. {wrong})")


def local_store(root: Path) -> Store:
    """The folder store's layout: ``<root>/<bucket>/<key>``; the input written in place."""
    (root / BUCKET / "in").mkdir(parents=True)
    (root / BUCKET / INPUT_KEY).write_bytes(os.urandom(SIZE))
    return Store(LocalFileSystem(auto_mkdir=True), f"{root}/{BUCKET}")


def fresh_store(moto: Moto | None, folder: Path) -> Store:
    """The S3 bucket, emptied, or the folder store at ``folder``; the input object in place."""
    return local_store(folder) if moto is None else Store(moto.fresh_bucket(), BUCKET)


def copies_seconds(n: int, store: Store, scratch: Path) -> float:
    """The baseline: per instance get, local copy, put and clean-up; a thread per CPU, each in its own
    folder (a node's), takes the next instance when it is done with one."""
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(n):
        todo.put(i)

    def worker(folder: Path) -> None:
        folder.mkdir()
        source, result = folder / "input.bin", folder / "result.bin"
        with contextlib.suppress(queue.Empty):
            while True:
                i = todo.get_nowait()
                store.fs.get_file(f"{store.top}/{INPUT_KEY}", str(source))
                shutil.copyfile(source, result)
                store.fs.put_file(str(result), f"{store.top}/{OUTPUT_PREFIX}{i}.bin")
                source.unlink()
                result.unlink()

    start = time.perf_counter()
    with ThreadPoolExecutor(CPUS) as pool:
        for done in [pool.submit(worker, scratch / f"node-{k}") for k in range(CPUS)]:
            done.result()
    return time.perf_counter() - start


def baseline_seconds(n: int, moto: Moto | None) -> float:
    with temp_dir("copies") as root:
        scratch = root / "scratch"
        scratch.mkdir()
        store = fresh_store(moto, root / "cos")
        seconds = copies_seconds(n, store, scratch)
        store.check_outputs(n, "the baseline")
        return seconds


def server_seconds(n: int, moto: Moto | None, poll_s: float, mapped: bool = True) -> float:
    """Seconds from SubmitJob to SUCCEED seen by DescribeJob, polled every ``poll_s``;
    ``mapped=False``: `true`, no mappings."""
    with running_server(config="" if moto is None else moto.server_config) as server:
        store = fresh_store(moto, server.data_dir / "cos")
        client = make_client(server.endpoint)
        work = task("t", COMMAND, n, **MAPPINGS) if mapped else task("t", "true", n)
        start = time.perf_counter()
        job_id = submit(client, work)
        state = wait_job(client, job_id, 120 + n * 0.2, interval=poll_s)
        elapsed = time.perf_counter() - start
        if state != "SUCCEED":
            raise BenchError(f"N={n}, {'mapped' if mapped else 'true'}: job ended {state}")
        if mapped:
            store.check_outputs(n, "the server")
        return elapsed


def run(quick: bool, with_100k: bool) -> list[Figure]:
    n = QUICK_N if quick else FULL_N
    repeats = QUICK_REPEATS if quick else REPEATS
    seconds: dict[str, list[float]] = {}

    def poll(baseline: str) -> float:
        """The polling interval for this round's server run against the baseline just measured."""
        return max(MIN_POLL_S, POLL_SHARE * seconds[baseline][-1])

    with moto_server() as moto:
        runs: dict[str, Callable[[], float]] = {
            "copies, folder": lambda: baseline_seconds(n, None),
            "server, folder": lambda: server_seconds(n, None, poll("copies, folder")),
            "copies, s3": lambda: baseline_seconds(n, moto),
            "server, s3": lambda: server_seconds(n, moto, poll("copies, s3")),
            # polled as the mapped run on the same store, so that their difference is the mappings'
            "server, no mappings": lambda: server_seconds(n, None, poll("copies, folder"), mapped=False),
        }
        seconds.update({name: [] for name in runs})
        for round_ in range(repeats):
            for name, measure in runs.items():
                load = os.getloadavg()[0]  # others' work, and the tail of our last run (1-min average)
                seconds[name].append(measure())
                said = f"{name}: {seconds[name][-1]:.2f} s (load average before: {load:.2f})"
                print(f"[{NAME}] round {round_ + 1}: {said}", file=sys.stderr, flush=True)
    median = {name: statistics.median(s) for name, s in seconds.items()}
    of = f"N={n:,} x 1 MB in + 1 MB out" + (f", median of {repeats}" if repeats > 1 else "")
    bare = median["server, no mappings"]
    figures = []
    for store, label in (("folder", "local folder store"), ("s3", "S3 (moto_server)")):
        server, copies = median[f"server, {store}"], median[f"copies, {store}"]
        baseline = f"fsspec copies, {CPUS} threads"
        target = Target(f"<= {TARGET}x", server / copies <= TARGET)
        figures.append(Figure(NAME, f"{label}, {of}", server, "s", copies, baseline, target))
        # The same difference of medians, per instance: what the data adds to an instance's run.
        added = (server - bare) / n * 1e3
        figures.append(
            Figure(NAME, f"{label}: mapped minus unmapped", added, "ms/inst", copies / n * 1e3, baseline)
        )
    figures.append(Figure(NAME, f"server, N={n:,} x true without mappings", bare, "s"))
    return figures
