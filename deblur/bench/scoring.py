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


SHIFT_REACH = 3
"""The shift-tolerant PSNR takes the best whole-pixel alignment within this many pixels (sets whose kernels are off
centre shift every restoration by the kernel's offset)."""


def shift_tolerant_psnr(
    restored: torch.Tensor, sharp: torch.Tensor, bit_depth: int = 8, reach: int = SHIFT_REACH
) -> float:
    """The best PSNR (dB, RGB) of ``restored`` against ``sharp`` over whole-pixel shifts of at most ``reach`` px
    along each axis, both cropped by ``reach`` so every shift compares the same number of pixels."""
    x = quantize(restored.double(), bit_depth)[None]
    y = crop_border(sharp.double().clamp(0, 1), reach)[None]
    height, width = y.shape[-2:]
    best = -math.inf
    for dy in range(2 * reach + 1):
        for dx in range(2 * reach + 1):
            best = max(best, float(psnr(x[..., dy : dy + height, dx : dx + width], y)[0]))
    return best


def kernel_correlation(estimated: torch.Tensor, true: torch.Tensor, reach: int = 4) -> float:
    """How close an estimated kernel is to the true one: the largest normalised cross-correlation over shifts of
    at most ``reach`` px (1: the same kernel up to a shift), on a common canvas."""
    from deblur.ops.estimate import kernel_agreement

    estimated, true = estimated.float().cpu(), torch.as_tensor(true).float().cpu()
    side = max(estimated.shape[-1], true.shape[-1])

    def canvas(kernel: torch.Tensor) -> torch.Tensor:
        before = (side - kernel.shape[-1]) // 2
        after_y, after_x = side - kernel.shape[-2] - before, side - kernel.shape[-1] - before
        return torch.nn.functional.pad(kernel, (before, after_x, (side - kernel.shape[-2]) // 2, after_y))

    return kernel_agreement(canvas(estimated), canvas(true), reach)


def run_bench(
    items: Sequence[BenchItem],
    methods: Sequence[Method],
    border: int = 0,
    keep: int = 4,
    progress: bool = True,
    shift_tolerant: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, torch.Tensor]]]:
    """Score every method on every item it applies to; ``shift_tolerant`` adds each row's
    :func:`shift_tolerant_psnr`, and a blind method's rows carry its estimated kernel's
    :func:`kernel_correlation` with the true one where the item's kernel is known.

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
                row = {
                    "method": method.name,
                    "image": item.name,
                    "group": item.group,
                    "kernel_size": kernel_size if kernel_size is not None else "",
                    **metrics,
                    "seconds": seconds,
                    "megapixels": megapixels,
                }
                if shift_tolerant:
                    row["psnr_shift"] = shift_tolerant_psnr(restored, item.sharp, item.bit_depth)
                estimate = method.estimates.get(item.name)
                if estimate is not None:
                    row["confidence"] = estimate.confidence
                    row["applied"] = estimate.applied
                    if item.kernel is not None:
                        row["kernel_corr"] = kernel_correlation(estimate.kernel, torch.as_tensor(item.kernel))
                rows.append(row)
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
        much_worse = sum(r["psnr" + suffix] < baseline[r["image"]] - 0.3 for r in mine if r["image"] in baseline)
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
                "> 0.3 dB worse": much_worse if method != "blurred input" else "",
                "s/image": seconds,
                "s/MP": per_mp,
            }
        )
        if any("psnr_shift" in r for r in rows):
            summary[-1]["PSNR shift ±3"] = float(np.mean([r["psnr_shift"] for r in mine if "psnr_shift" in r]))
        if any("kernel_corr" in r for r in rows):
            correlations = [r["kernel_corr"] for r in mine if "kernel_corr" in r]
            summary[-1]["kernel corr."] = float(np.mean(correlations)) if correlations else ""
        row: dict[str, Any] = {"method": method}
        for group in groups:
            chosen = [r for r in mine if r["group"] == group]
            row[f"{group} PSNR"] = float(np.mean([r["psnr" + suffix] for r in chosen])) if chosen else ""
            row[f"{group} SSIM"] = float(np.mean([r["ssim" + suffix] for r in chosen])) if chosen else ""
        per_group.append(row)
    return summary, per_group, groups
