"""How the Slurm executor reads the durations, sizes and generic resources Slurm's tools print."""

from __future__ import annotations

import pytest

from batchyard.executors.slurm.tools import _bytes, _gpus, _seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:00:05", 5), ("01:02:03", 3723), ("2-00:00:01", 172801), ("05:07", 307), ("00:03.250", 3.25)],
)
def test_durations(text: str, seconds: float) -> None:
    assert _seconds(text) == seconds


@pytest.mark.parametrize(
    ("text", "size"),
    [("322328K", 322328 << 10), ("1.5G", 3 << 29), ("2M", 2 << 20), ("2048", 2048), ("0", 0)],
)
def test_sizes(text: str, size: int) -> None:
    assert _bytes(text) == size


@pytest.mark.parametrize("text", ["12X", "", "K"])
def test_a_size_not_understood_is_an_error(text: str) -> None:
    with pytest.raises(ValueError):
        _bytes(text)


@pytest.mark.parametrize(
    ("gres", "gpus"),
    [("(null)", 0), ("gpu:2", 2), ("gpu:a100:4(S:0-1)", 4), ("gpu:1,gpu:v100:2", 3), ("mps:100", 0)],
)
def test_gpus(gres: str, gpus: int) -> None:
    assert _gpus(gres) == gpus
