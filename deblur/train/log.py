"""Metric logs of a run: one JSON object per line in ``metrics.jsonl`` (and TensorBoard when it is installed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class MetricsWriter:
    """Appends ``{"step": s, **metrics}`` lines to ``out/metrics.jsonl``; mirrors scalars to TensorBoard if the
    ``tensorboard`` package is importable. Resuming a run keeps appending."""

    def __init__(self, out: Path, tensorboard: bool = True) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / "metrics.jsonl"
        self.tensorboard = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tensorboard = SummaryWriter(str(out / "tensorboard"))
            except ImportError:
                self.tensorboard = None

    def write(self, step: int, metrics: dict[str, Any]) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"step": step, **metrics}) + "\n")
        if self.tensorboard is not None:
            for key, value in metrics.items():
                if isinstance(value, (int, float)):
                    self.tensorboard.add_scalar(key, value, step)

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()


def read_metrics(out: Path) -> list[dict[str, Any]]:
    """All lines of a run's ``metrics.jsonl``."""
    path = out / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
