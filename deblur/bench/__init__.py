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

from pathlib import Path
from typing import Any

from deblur.bench.methods import (
    Method,
    blurred_input,
    edgetaper,
    hyper_laplacian,
    model,
    results_folder,
    richardson_lucy,
    unsupervised_wiener,
    wiener,
)
from deblur.bench.output import bench_meta, out_files, plot_crops, plot_psnr_vs_kernel_size, write_bench
from deblur.bench.scoring import mean_ci, quantize, run_bench, score, summarize
from deblur.bench.sets import BenchError, BenchItem, kernel_extent, load_test_set, nonblind_set
from deblur.config import BenchConfig
from deblur.device import resolve_device
from deblur.errors import ConfigError


def benchmark(config: BenchConfig, progress: bool = True) -> tuple[list[dict[str, Any]], dict[str, Path]]:
    """Everything ``deblur bench`` does: load the test set, build the methods, score, write the tables and plots.

    Args:
        config: the test set (``pairs``, or ``sharp`` and ``kernels`` for the non-blind protocol at ``noise``), the
            methods (``models=None``: the shipped default model when it exists) and the outputs.
        progress: show a progress bar.

    Returns:
        ``(per-image rows, written files)``.
    """
    from deblur.restoration import default_model_path

    pairs, sharp, kernels, noise, seed = config.pairs, config.sharp, config.kernels, config.noise, config.seed
    earlier = out_files(config.out, config.name)
    if earlier and not config.overwrite:  # before any scoring: nothing is lost, no time is spent
        raise ConfigError(
            f"{earlier[0]} holds an earlier run's results: pass --overwrite to replace them, or another --name"
        )
    if pairs is not None:
        items = load_test_set(pairs, limit=config.limit)
        description = f"Test set {pairs.name} ({len(items)} images)."
    else:
        items = nonblind_set(
            sharp, kernels, noise, seed, config.limit, kernel_error=config.kernel_error, recenter=config.recenter
        )
        description = (
            f"Non-blind protocol: {sharp.name} x kernels {kernels.name} ({len(items)} images), valid "
            f"convolution, Gaussian noise sigma {noise:g}."
        )
        if config.kernel_error:
            description += (
                f" Methods are given kernels perturbed at strength {config.kernel_error:g} (extent, smoothing,"
                " faint trails, shifts: deblur.synth.kernels.perturb_kernels), not the true ones"
                + (
                    ", then centred by their centre of mass as `deblur restore --kernel` centres kernel files."
                    if config.recenter
                    else "."
                )
            )
    smallest = min((min(item.sharp.shape[-2:]) for item in items), default=0)
    if config.border and 2 * config.border >= smallest:
        raise ConfigError(f"--border {config.border} leaves nothing of the smallest image ({smallest} px): use less")
    models = config.models
    if models is None:
        try:
            models = [default_model_path()]
        except ConfigError:  # no shipped model in this installation: the baselines only
            models = []
    methods = [blurred_input()]
    if config.baselines and any(item.kernel is not None for item in items):
        methods += [wiener(config.wiener_balance)] + ([unsupervised_wiener(seed)] if config.unsupervised else [])
        methods.append(richardson_lucy(config.rl_iterations))
        methods.append(hyper_laplacian(config.hl_weight))
    methods += [results_folder(label, folder, items) for label, folder in config.results.items()]
    device = resolve_device(config.device)
    methods += [model(path, device, config.tile, blind=config.blind) for path in models]
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ConfigError(f"two methods share a name ({', '.join(names)}): rename a model file or a --results NAME")
    rows, outputs = run_bench(items, methods, config.border, progress=progress, shift_tolerant=config.shift_tolerant)
    if config.border:
        description += f" {config.border} px border cropped."
    meta = bench_meta(
        seed,
        methods,
        {
            "test_set": str(pairs or sharp),
            "kernels": str(kernels or ""),
            "noise": noise,
            "kernel_error": config.kernel_error,
            "recenter": config.recenter,
        },
    )
    return rows, write_bench(
        config.out, rows, items, outputs, description, meta, config.channel, config.plots, config.name
    )


__all__ = [
    "BenchError",
    "BenchItem",
    "Method",
    "bench_meta",
    "benchmark",
    "blurred_input",
    "edgetaper",
    "hyper_laplacian",
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
