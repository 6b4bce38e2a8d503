"""Result files of ``deblur bench``: summary and per-group tables (Markdown, CSV, LaTeX, JSON with the environment),
the per-image CSV, a PSNR-vs-kernel-size plot and a grid of crops across methods (matplotlib).
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deblur.bench.methods import Method
from deblur.bench.scoring import summarize
from deblur.bench.sets import BenchError, BenchItem
from deblur.errors import ImageError
from deblur.io import atomic_write_bytes
from deblur.report import environment, write_results


def _best_cells(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> set[tuple[int, str]]:
    bold = set()
    for column in columns:
        values = [(i, r[column]) for i, r in enumerate(rows) if isinstance(r[column], float)]
        if values:
            bold.add((max(values, key=lambda v: v[1])[0], column))
    return bold


def plot_psnr_vs_kernel_size(rows: Sequence[dict[str, Any]], path: Path, channel: str = "rgb") -> Path | None:
    """PSNR against the kernel's extent, one line per method (mean per size); ``None`` without kernels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key = "psnr" if channel == "rgb" else "psnr_y"
    sized = [r for r in rows if r["kernel_size"] != ""]
    if not sized:
        return None
    figure, axes = plt.subplots(figsize=(6, 4), dpi=120)
    for method in dict.fromkeys(r["method"] for r in sized):
        sizes = sorted({r["kernel_size"] for r in sized if r["method"] == method})
        means = [np.mean([r[key] for r in sized if r["method"] == method and r["kernel_size"] == s]) for s in sizes]
        axes.plot(sizes, means, marker="o", label=method)
    axes.set_xlabel("kernel extent (px)")
    axes.set_ylabel(f"PSNR{'-Y' if channel == 'y' else ''} (dB)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    _save_figure(figure, path)
    plt.close(figure)
    return path


def plot_crops(
    items: Sequence[BenchItem], outputs: dict[str, dict[str, torch.Tensor]], path: Path, crop: int = 128
) -> Path | None:
    """A grid of centre crops: one row per item kept by :func:`run_bench`, columns blurred, each method, sharp."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [item for item in items if outputs and all(item.name in kept for kept in outputs.values())]
    if not shown:
        return None
    columns = ["blurred input", *[m for m in outputs if m != "blurred input"], "sharp"]
    figure, axes = plt.subplots(len(shown), len(columns), figsize=(1.8 * len(columns), 1.9 * len(shown)), dpi=120)
    axes = np.atleast_2d(axes)
    for row, item in enumerate(shown):
        height, width = item.sharp.shape[-2:]
        top, left = max(0, (height - crop) // 2), max(0, (width - crop) // 2)
        for col, name in enumerate(columns):
            image = item.sharp if name == "sharp" else outputs[name][item.name] if name in outputs else item.blurred
            patch = image[:, top : top + crop, left : left + crop].clamp(0, 1).permute(1, 2, 0).numpy()
            axes[row, col].imshow(patch)
            axes[row, col].set_xticks([])
            axes[row, col].set_yticks([])
            if row == 0:
                axes[row, col].set_title(name, fontsize=7)
        axes[row, 0].set_ylabel(item.name, fontsize=7)
    figure.tight_layout()
    _save_figure(figure, path)
    plt.close(figure)
    return path


def _save_figure(figure: Any, path: Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})  # no timestamps: reproducible files
    atomic_write_bytes(path, buffer.getvalue())


def write_bench(
    out: str | Path,
    rows: Sequence[dict[str, Any]],
    items: Sequence[BenchItem],
    outputs: dict[str, dict[str, torch.Tensor]],
    description: str,
    meta: dict[str, Any],
    channel: str = "rgb",
    plots: bool = True,
    name: str = "bench",
) -> dict[str, Path]:
    """Write ``<name>.{md,csv,tex,json}`` (summary), ``<name>_groups.*`` (per group), ``<name>_per_image.csv`` and,
    with matplotlib installed, ``<name>_psnr_vs_kernel_size.png`` and ``<name>_crops.png`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    before = _stamps(out, name)
    try:
        return _write_bench(out, rows, items, outputs, description, meta, channel, plots, name)
    except ImageError as exc:  # a write that failed part-way (a full disk): say which of the run's files were written
        done = sorted(p.name for p, stamp in _stamps(out, name).items() if before.get(p) != stamp)
        if not done:
            raise
        raise ImageError(
            f"{exc}; the results in {out} are incomplete: {len(done)} of their files were written before this"
            f" failure ({', '.join(done)})"
        ) from exc


def _stamps(out: Path, name: str) -> dict[Path, tuple[int, int]]:
    """Modification time and size of each file of the run ``name`` in ``out``."""
    stamps = {}
    for path in out.glob(f"{name}*"):
        with contextlib.suppress(OSError):
            info = path.stat()
            stamps[path] = (info.st_mtime_ns, info.st_size)
    return stamps


def _write_bench(
    out: Path,
    rows: Sequence[dict[str, Any]],
    items: Sequence[BenchItem],
    outputs: dict[str, dict[str, torch.Tensor]],
    description: str,
    meta: dict[str, Any],
    channel: str,
    plots: bool,
    name: str,
) -> dict[str, Path]:
    summary, per_group, groups = summarize(rows, channel)
    columns = list(summary[0])
    caption = (
        f"{description} PSNR (dB) and SSIM after rounding to the data's bit depth, on RGB and on the BT.601 Y channel "
        "(SSIM: Gaussian window, sigma 1.5); mean over images with the 95% confidence interval; `worse than input` "
        "counts images below the blurred input's PSNR (`> 0.3 dB worse`: by more than 0.3 dB); runtimes are medians."
        + (" `PSNR shift ±3`: the best whole-pixel alignment within 3 px." if "PSNR shift ±3" in columns else "")
        + (
            " `kernel corr.`: the estimated kernels' normalised cross-correlation with the true ones (best shift"
            " within 4 px)."
            if "kernel corr." in columns
            else ""
        )
    )
    written = {
        "summary": write_results(
            name,
            summary,
            columns,
            caption,
            meta,
            out_dir=out,
            bold=_best_cells(summary, ["PSNR", "SSIM", "PSNR-Y", "SSIM-Y"]),
        )
    }
    group_columns = ["method"] + [f"{g} {m}" for g in groups for m in ("PSNR", "SSIM")]
    group_caption = f"{description} Mean PSNR (dB) and SSIM per group on {'RGB' if channel == 'rgb' else 'Y'}."
    written["groups"] = write_results(
        f"{name}_groups",
        per_group,
        group_columns,
        group_caption,
        meta,
        out_dir=out,
        bold=_best_cells(per_group, group_columns[1:]),
    )
    per_image = out / f"{name}_per_image.csv"
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))  # blind rows: more
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(per_image, table.getvalue().encode())
    written["per_image"] = per_image
    if plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError as exc:
            raise BenchError('plots need matplotlib: pip install "deblur[bench]", or pass --no-plots') from exc
        curve = plot_psnr_vs_kernel_size(rows, out / f"{name}_psnr_vs_kernel_size.png", channel)
        if curve:
            written["curve"] = curve
        crops = plot_crops(items, outputs, out / f"{name}_crops.png")
        if crops:
            written["crops"] = crops
    return written


RESULT_SUFFIXES = (".md", ".csv", ".tex", ".json", "_groups.md", "_per_image.csv", "_crops.png")


def out_files(out: str | Path, name: str) -> list[Path]:
    """The files of an earlier ``deblur bench`` run named ``name`` in ``out``."""
    return [Path(out) / f"{name}{suffix}" for suffix in RESULT_SUFFIXES if (Path(out) / f"{name}{suffix}").exists()]


def bench_meta(seed: int, methods: Sequence[Method], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The environment (machine, device, versions, commit, command) plus the seed and each method's settings."""
    meta = environment({"bench": seed})
    meta["methods"] = {m.name: m.info for m in methods}
    meta.update(extra or {})
    return meta
