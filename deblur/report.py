"""Result files for benchmarks: the environment a run happened in, and Markdown, CSV, LaTeX (booktabs) and JSON tables.

Shared by ``deblur bench`` and the scripts in ``benchmarks/``; every table file set records the machine, the
library versions, the git commit, the seeds and the exact command line.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from deblur.version import __version__


def _command_line() -> str:
    """The command as typed: ``python -m package.module args`` for modules run with ``-m``."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name and spec.name != "__main__":
        return " ".join(["python", "-m", spec.name.removesuffix(".__main__"), *sys.argv[1:]])
    return " ".join([Path(sys.argv[0]).name if sys.argv else "python", *sys.argv[1:]])


def environment(seeds: dict[str, int] | None = None) -> dict[str, Any]:
    """Where and how a benchmark ran."""
    import kornia
    import numpy
    import skimage

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=Path(__file__).parent
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": commit,
        "command": _command_line(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "versions": {
            "deblur": __version__,
            "torch": torch.__version__,
            "kornia": kornia.__version__,
            "numpy": numpy.__version__,
            "scikit-image": skimage.__version__,
        },
        "seeds": seeds or {},
    }


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def markdown_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], bold: set[tuple[int, str]] = frozenset()
) -> str:
    """A GitHub Markdown table; cells in ``bold`` (row index, column) are emphasised."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for i, row in enumerate(rows):
        cells = [f"**{_fmt(row[c])}**" if (i, c) in bold else _fmt(row[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def latex_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    caption: str,
    label: str,
    bold: set[tuple[int, str]] = frozenset(),
) -> str:
    """A booktabs LaTeX table."""

    def esc(text: str) -> str:
        return text.replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")

    body = io.StringIO()
    body.write("\\begin{table}[t]\n\\centering\n")
    body.write(f"\\caption{{{esc(caption)}}}\n\\label{{{label}}}\n")
    body.write("\\begin{tabular}{" + "l" + "r" * (len(columns) - 1) + "}\n\\toprule\n")
    body.write(" & ".join(esc(c) for c in columns) + " \\\\\n\\midrule\n")
    for i, row in enumerate(rows):
        cells = [f"\\textbf{{{esc(_fmt(row[c]))}}}" if (i, c) in bold else esc(_fmt(row[c])) for c in columns]
        body.write(" & ".join(cells) + " \\\\\n")
    body.write("\\bottomrule\n\\end{tabular}\n\\end{table}\n")
    return body.getvalue()


def write_results(
    name: str,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    caption: str,
    meta: dict[str, Any],
    *,
    out_dir: str | Path,
    bold: set[tuple[int, str]] = frozenset(),
    notes: str = "",
) -> Path:
    """Write ``<name>.csv``, ``.md``, ``.tex`` and ``.json`` into ``out_dir``; returns the Markdown path.

    ``notes`` (Markdown: how to reproduce, caveats) follow the table in the ``.md`` file."""
    from deblur.io import atomic_write_bytes

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    markdown = (
        f"{caption}\n\n" + markdown_table(rows, columns, bold) + (f"\n{notes.strip()}\n" if notes.strip() else "")
    )
    texts = {
        "csv": table.getvalue(),
        "md": markdown,
        "tex": latex_table(rows, columns, caption, f"tab:{name}", bold),
        "json": json.dumps({"meta": meta, "caption": caption, "rows": list(rows)}, indent=2) + "\n",
    }
    for suffix, text in texts.items():  # each file whole or not at all: a reader never sees half a table
        atomic_write_bytes(out_dir / f"{name}.{suffix}", text.encode())
    return out_dir / f"{name}.md"
