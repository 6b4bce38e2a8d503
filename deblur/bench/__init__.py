"""Benchmarks for papers: restorations scored against the sharp images the way the deblurring literature does.

Test sets (:func:`load_test_set`, :func:`nonblind_set`):

- a folder written by ``deblur synth`` (its ``manifest.json`` gives each image's kernel, so the non-blind
  baselines can run; use ``--valid`` so that no border effect helps any method);
- paired folders of real or other synthetic data: GoPro (``*/blur`` + ``*/sharp``), ``blur/`` + ``sharp/``, or
  ``input/`` + ``target/`` (kernels unknown: the non-blind baselines are left out);
- the standard non-blind protocol: a folder of sharp images times a kernel bank (PNG/NPY/MAT, e.g. the eight
  kernels of Levin et al. 2009) with Gaussian noise of a given sigma and *valid* convolution.

Methods (:class:`Method`): the blurred input; any number of models (``.safetensors``); scikit-image's Wiener,
unsupervised Wiener and Richardson-Lucy deconvolution given the true kernel (per channel; edge-tapered for the FFT
methods, reflect-padded and cropped back for Richardson-Lucy); and folders of other methods' outputs, matched by
relative name.

Metrics (:func:`score`): every output is clipped and rounded to the test data's bit depth first (8 or 16, as a
saved image would be), then PSNR and SSIM (Gaussian window, sigma 1.5, population covariances: scikit-image's
``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``) on RGB and on the BT.601 Y channel, after an
optional border crop. Per-image rows, then per method the mean with a 95% confidence interval (t distribution)
and the runtime per image and per megapixel.

``deblur bench`` wraps :func:`run_bench` and :func:`write_bench`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from deblur.bench.methods import (
    Method,
    blurred_input,
    edgetaper,
    model,
    results_folder,
    richardson_lucy,
    unsupervised_wiener,
    wiener,
)
from deblur.bench.output import bench_meta, plot_crops, plot_psnr_vs_kernel_size, write_bench
from deblur.bench.scoring import mean_ci, quantize, run_bench, score, summarize
from deblur.bench.sets import BenchError, BenchItem, kernel_extent, load_test_set, nonblind_set
from deblur.errors import ConfigError


def benchmark(
    out: str | Path,
    pairs: str | Path | None = None,
    sharp: str | Path | None = None,
    kernels: str | Path | None = None,
    noise: float = 0.01,
    models: Sequence[str | Path] | None = None,
    results: dict[str, str | Path] | None = None,
    baselines: bool = True,
    unsupervised: bool = True,
    wiener_balance: float = 0.05,
    rl_iterations: int = 20,
    channel: str = "rgb",
    border: int = 0,
    device: str | torch.device = "cpu",
    tile: int | None = None,
    seed: int = 0,
    limit: int | None = None,
    plots: bool = True,
    name: str = "bench",
    progress: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, Path]]:
    """Everything ``deblur bench`` does: load the test set, build the methods, score, write the tables and plots.

    Give ``pairs`` (a ``deblur synth`` folder or a paired folder) or ``sharp`` and ``kernels`` (the non-blind
    protocol at ``noise``). ``models=None`` uses the shipped default model when it exists.

    Returns:
        ``(per-image rows, written files)``.
    """
    from deblur.restoration import default_model_path

    if (pairs is None) == (sharp is None):
        raise ConfigError("give a test set: --pairs DIR, or --sharp DIR with --kernels BANK")
    if sharp is not None and kernels is None:
        raise ConfigError("--sharp needs --kernels (a folder or file of kernels, e.g. Levin09.mat)")
    if pairs is not None:
        items = load_test_set(pairs, limit=limit)
        description = f"Test set {Path(pairs).name} ({len(items)} images)."
    else:
        items = nonblind_set(sharp, kernels, noise, seed, limit)
        description = (
            f"Non-blind protocol: {Path(sharp).name} x kernels {Path(kernels).name} ({len(items)} images), valid "
            f"convolution, Gaussian noise sigma {noise:g}."
        )
    if models is None:
        try:
            models = [default_model_path()]
        except ConfigError:  # no shipped model in this installation: the baselines only
            models = []
    methods = [blurred_input()]
    if baselines and any(item.kernel is not None for item in items):
        methods += [wiener(wiener_balance)] + ([unsupervised_wiener(seed)] if unsupervised else [])
        methods.append(richardson_lucy(rl_iterations))
    methods += [results_folder(label, folder, items) for label, folder in (results or {}).items()]
    methods += [model(path, device, tile) for path in models]
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ConfigError(f"two methods share a name ({', '.join(names)}): rename a model file or a --results NAME")
    rows, outputs = run_bench(items, methods, border, progress=progress)
    if border:
        description += f" {border} px border cropped."
    meta = bench_meta(seed, methods, {"test_set": str(pairs or sharp), "kernels": str(kernels or ""), "noise": noise})
    return rows, write_bench(out, rows, items, outputs, description, meta, channel, plots, name)


__all__ = [
    "BenchError",
    "BenchItem",
    "Method",
    "bench_meta",
    "benchmark",
    "blurred_input",
    "edgetaper",
    "kernel_extent",
    "load_test_set",
    "mean_ci",
    "model",
    "nonblind_set",
    "plot_crops",
    "plot_psnr_vs_kernel_size",
    "quantize",
    "results_folder",
    "richardson_lucy",
    "run_bench",
    "score",
    "summarize",
    "unsupervised_wiener",
    "wiener",
    "write_bench",
]
