"""Run every benchmark, print each figure beside its same-run baseline, write bench/results/latest.json.

A missed target is a result, not a failure: the exit status is non-zero only when a benchmark could
not produce its figures, so `make bench` stays usable while the server is still slow.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from types import ModuleType

import contention
import dispatch
import mappings
import memory
import on_slurm
import sandbox
import serial_cpu
import throughput
from harness import CPUS, Figure

import api

BENCHMARKS: dict[str, ModuleType] = {
    m.NAME: m
    for m in (throughput, serial_cpu, dispatch, api, contention, memory, sandbox, mappings, on_slurm)
}
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
Runner = Callable[[bool, bool], list[Figure]]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke check in under a minute")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), help="run one benchmark")
    parser.add_argument("--with-100k", action="store_true", help="add the 100,000-instance throughput run")
    return parser.parse_args(argv)


def number(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def row(f: Figure) -> list[str]:
    status = "" if f.target is None else ("MET" if f.target.met else "MISSED")
    baseline = "" if f.baseline is None else f"{number(f.baseline)} {f.unit} ({f.baseline_name})"
    ratio = "" if f.ratio is None else f"{f.ratio:.2f}x"
    target = "" if f.target is None else f.target.text
    return [f.bench, f.name, f"{number(f.value)} {f.unit}", baseline, ratio, target, status]


def print_table(figures: list[Figure]) -> None:
    rows = [["bench", "figure", "value", "baseline (same run)", "ratio", "target", "status"]]
    rows += [row(f) for f in figures]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, r in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def run_one(name: str, args: argparse.Namespace) -> tuple[list[Figure], str | None]:
    """A benchmark that raises loses its own figures only; the others still run."""
    start = time.perf_counter()
    print(f"[{name}] running...", file=sys.stderr, flush=True)
    try:
        figures: list[Figure] = BENCHMARKS[name].run(args.quick, args.with_100k)
    except Exception:
        traceback.print_exc()
        return [], traceback.format_exc(limit=3)
    print(f"[{name}] done in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return figures, None


def commit() -> str:
    git = ["git", "rev-parse", "--short", "HEAD"]
    return subprocess.run(git, capture_output=True, text=True, check=False, cwd=RESULTS.parent).stdout.strip()


def write_json(figures: list[Figure], errors: dict[str, str], args: argparse.Namespace) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": commit(),
        "cpus": CPUS,
        "machine": platform.platform(),
        "python": platform.python_version(),
        "args": vars(args),
        "figures": [{**asdict(f), "ratio": f.ratio} for f in figures],
        "errors": errors,
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    names = [args.only] if args.only else list(BENCHMARKS)
    figures: list[Figure] = []
    errors: dict[str, str] = {}
    for name in names:
        got, error = run_one(name, args)
        figures += got
        if error is not None:
            errors[name] = error
    print(f"\nbatchyard benchmarks, {CPUS} CPUs{' (--quick)' if args.quick else ''}\n")
    print_table(figures)
    for name in errors:
        print(f"\nERROR in {name}: see the traceback above")
    write_json(figures, errors, args)
    print(f"\nwritten to {os.path.relpath(RESULTS)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
