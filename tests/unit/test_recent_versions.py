"""Which tasks may reuse a version looked up for another of their attempts, and that only they do."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchyard.domain.attempts import DataPlan
from batchyard.runner.recent_versions import RecentVersions, writes_what_it_reads
from batchyard.storage.folder import FolderStore
from batchyard.storage.paths import parse_remote

B = "cos://b-1250000000"
LONG = "cos://b-1250000000.cos.ap-guangzhou.myqcloud.com"  # the same bucket, as Batch's examples write it


@pytest.mark.parametrize(
    ("inputs", "package", "outputs", "overlaps"),
    [
        ([f"{B}/in/x.bin"], None, [f"{B}/out/"], False),
        ([f"{B}/in/x.bin"], None, [f"{B}/in/"], True),  # an output folder holding the input
        ([f"{B}/in/x.bin"], None, [f"{LONG}/in/"], True),  # the same folder, spelled the other way
        ([f"{B}/in/"], None, [f"{B}/in/sub/"], True),  # an input folder holding the output folder
        ([f"{B}/in/x.bin"], None, [f"{B}/"], True),  # the whole bucket
        ([f"{B}/in/x.bin"], None, ["cos://c-1250000000/in/"], False),  # another bucket
        ([f"{B}/in/x.bin"], None, [f"cfs://{B[6:]}/in/"], False),  # another scheme
        ([], f"{B}/pkg/app.tgz", [f"{B}/pkg/"], True),  # the package
        ([], f"{B}/pkg/app.tgz", [f"{B}/out/"], False),
        ([f"{B}/in/x.bin"], None, [], False),
        (["s3://b/in/x.bin"], None, [f"{B}/out/"], True),  # does not parse: no shortcut
        ([f"{B}/in/\udc80.bin"], None, [f"{B}/out/"], True),  # a lone surrogate: not UTF-8, no shortcut
    ],
)
def test_a_task_writes_what_it_reads_when_an_output_folder_and_a_read_path_overlap(
    inputs: list[str], package: str | None, outputs: list[str], overlaps: bool
) -> None:
    plan = DataPlan(
        inputs=tuple((remote, f"in-{n}/") for n, remote in enumerate(inputs)),
        outputs=tuple((f"out-{n}/", remote) for n, remote in enumerate(outputs)),
        package=package,
    )
    assert writes_what_it_reads(plan) is overlaps


def test_a_version_looked_up_for_a_task_serves_that_task_only(tmp_path: Path) -> None:
    store = FolderStore(tmp_path)
    stored = tmp_path / "b-1250000000" / "in" / "x.bin"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"first")
    path = parse_remote(f"{B}/in/x.bin", directory=False)
    plan = DataPlan(inputs=((path.url, "in/"),), outputs=(("out/", f"{B}/out/"),))
    versions = RecentVersions(store)
    first = versions.lookup("job-1", "a", plan)(path)

    stored.with_name("x.new").write_bytes(b"written again")  # as the store writes: a new file renamed
    stored.with_name("x.new").replace(stored)

    assert versions.lookup("job-1", "a", plan)(path) == first  # within the second
    assert versions.lookup("job-1", "b", plan)(path) == store.version(path) != first
    assert versions.lookup("job-2", "a", plan)(path) == store.version(path)
    overwriting = DataPlan(inputs=plan.inputs, outputs=(("out/", f"{B}/in/"),))
    assert versions.lookup("job-1", "a", overwriting)(path) == store.version(path)
