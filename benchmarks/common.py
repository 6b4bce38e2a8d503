"""Shared helpers of the benchmark scripts: environment metadata, robust timing, and table writers.

Every benchmark writes ``results/<name>.csv``, ``.md``, ``.tex`` (booktabs) and ``.json`` (rows plus the
environment: date, git commit, platform, CPU, GPU, library versions, threads, seeds and the command line).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from deblur import report
from deblur.report import environment

RESULTS = Path(__file__).resolve().parent / "results"


def time_calls(
    fns: dict[str, Callable[[], Any]], device: torch.device, repeats: int = 10, warmup: int = 5
) -> dict[str, dict[str, float]]:
    """Median and interquartile range of each function's wall time in milliseconds.

    The functions are called in turn, round after round, so that all of them see the same machine state (a
    shared CPU's load, the allocator's state); CUDA is synchronised around every call.
    """

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(warmup):
        for fn in fns.values():
            fn()
    sync()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            sync()
            times[name].append((time.perf_counter() - start) * 1000)
    out = {}
    for name, values in times.items():
        quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
        out[name] = {
            "median_ms": statistics.median(values),
            "q1_ms": quartiles[0],
            "q3_ms": quartiles[2],
            "min_ms": min(values),
            "max_ms": max(values),
            "repeats": repeats,
        }
    return out


def time_call(fn: Callable[[], Any], device: torch.device, repeats: int = 10, warmup: int = 5) -> dict[str, float]:
    """Median and interquartile range of one function's wall time in milliseconds (see :func:`time_calls`)."""
    return time_calls({"fn": fn}, device, repeats, warmup)["fn"]


def write_results(*args: Any, out_dir: str | Path = RESULTS, **options: Any) -> Path:
    """:func:`deblur.report.write_results` (``<name>.csv``, ``.md``, ``.tex`` and ``.json``), into
    ``benchmarks/results`` unless ``out_dir`` says otherwise."""
    return report.write_results(*args, out_dir=out_dir, **options)


__all__ = ["RESULTS", "environment", "time_call", "time_calls", "write_results"]
