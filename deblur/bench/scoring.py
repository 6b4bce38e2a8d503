"""Scoring for ``deblur bench``: outputs rounded to the data's bit depth, PSNR/SSIM on RGB and Y, per-image rows,
means with Student-t 95% confidence intervals, and the per-method and per-group summaries.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from deblur.bench.methods import Method
from deblur.bench.sets import BenchError, BenchItem
from deblur.errors import ConfigError
from deblur.metrics import crop_border, psnr, rgb_to_y, ssim


def quantize(image: torch.Tensor, bit_depth: int) -> torch.Tensor:
    """Clip to [0, 1] and round to ``bit_depth`` bits, as saving the image would."""
    levels = 2**bit_depth - 1
    return (image.clamp(0, 1) * levels).round() / levels


def score(restored: torch.Tensor, sharp: torch.Tensor, border: int = 0, bit_depth: int = 8) -> dict[str, float]:
    """PSNR (dB) and SSIM of one ``(3, H, W)`` image on RGB and on the Y channel (see the module docstring)."""
    x = crop_border(quantize(restored.double(), bit_depth), border)[None]
    y = crop_border(sharp.double().clamp(0, 1), border)[None]
    x_y, y_y = rgb_to_y(x), rgb_to_y(y)
    return {
        "psnr": float(psnr(x, y)[0]),
        "ssim": float(ssim(x, y)[0]),
        "psnr_y": float(psnr(x_y, y_y)[0]),
        "ssim_y": float(ssim(x_y, y_y)[0]),
    }


def run_bench(
    items: Sequence[BenchItem],
    methods: Sequence[Method],
    border: int = 0,
    keep: int = 4,
    progress: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, torch.Tensor]]]:
    """Score every method on every item it applies to.

    Returns:
        ``(per-image rows, outputs)``: a row per (method, item) with the metrics, the seconds and the
        megapixels; ``outputs[method][item name]`` holds the restorations of ``keep`` items, the first of each group
        first (for the crop grid).
    """
    if not items:
        raise BenchError("the test set is empty")
    rows: list[dict[str, Any]] = []
    firsts = sorted({item.group: index for index, item in reversed(list(enumerate(items)))}.values())
    kept = set((firsts + [i for i in range(len(items)) if i not in firsts])[:keep])
    outputs: dict[str, dict[str, torch.Tensor]] = {m.name: {} for m in methods}
    total = sum(m.applies(item) for m in methods for item in items)
    with tqdm(total=total, desc="bench", unit="image", disable=not progress) as bar:
        for index, item in enumerate(items):
            kernel_size = item.kernel_size
            for method in methods:
                if not method.applies(item):
                    continue
                bar.set_postfix_str(method.name[:24])
                start = time.perf_counter()
                restored = method.fn(item)
                seconds = time.perf_counter() - start
                metrics = score(restored, item.sharp, border, item.bit_depth)
                megapixels = item.blurred.shape[-1] * item.blurred.shape[-2] / 1e6
                rows.append(
                    {
                        "method": method.name,
                        "image": item.name,
                        "group": item.group,
                        "kernel_size": kernel_size if kernel_size is not None else "",
                        **metrics,
                        "seconds": seconds,
                        "megapixels": megapixels,
                    }
                )
                if index in kept:
                    outputs[method.name][item.name] = quantize(restored, item.bit_depth).float()
                bar.update()
    return rows, outputs


def mean_ci(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% confidence interval (Student's t)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return float(values.mean()), 0.0
    from scipy.stats import t

    half = float(t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
    return float(values.mean()), half


def summarize(rows: Sequence[dict[str, Any]], channel: str = "rgb") -> tuple[list[dict], list[dict], list[str]]:
    """Per-method summary rows, per-method-and-group rows (on ``channel``: ``rgb`` or ``y``) and the groups."""
    if channel not in ("rgb", "y"):
        raise ConfigError(f"channel must be rgb or y, got {channel}")
    suffix = "" if channel == "rgb" else "_y"
    methods = list(dict.fromkeys(r["method"] for r in rows))
    groups = list(dict.fromkeys(r["group"] for r in rows))
    baseline = {r["image"]: r["psnr" + suffix] for r in rows if r["method"] == "blurred input"}
    summary, per_group = [], []
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        value, half = mean_ci([r["psnr"] for r in mine])
        value_y, half_y = mean_ci([r["psnr_y"] for r in mine])
        seconds = float(np.median([r["seconds"] for r in mine]))
        per_mp = float(np.median([r["seconds"] / r["megapixels"] for r in mine]))
        worse = sum(r["psnr" + suffix] < baseline[r["image"]] for r in mine if r["image"] in baseline)
        summary.append(
            {
                "method": method,
                "images": len(mine),
                "PSNR": value,
                "PSNR 95% CI": half,
                "SSIM": float(np.mean([r["ssim"] for r in mine])),
                "PSNR-Y": value_y,
                "PSNR-Y 95% CI": half_y,
                "SSIM-Y": float(np.mean([r["ssim_y"] for r in mine])),
                "worse than input": worse if method != "blurred input" else "",
                "s/image": seconds,
                "s/MP": per_mp,
            }
        )
        row: dict[str, Any] = {"method": method}
        for group in groups:
            chosen = [r for r in mine if r["group"] == group]
            row[f"{group} PSNR"] = float(np.mean([r["psnr" + suffix] for r in chosen])) if chosen else ""
            row[f"{group} SSIM"] = float(np.mean([r["ssim" + suffix] for r in chosen])) if chosen else ""
        per_group.append(row)
    return summary, per_group, groups
