"""Benchmarks for papers: restorations scored against the sharp images the way the deblurring literature does.

Test sets (:func:`load_test_set`, :func:`nonblind_set`):

- a folder written by ``deblur synth`` (its ``manifest.json`` gives each image's kernel, so the non-blind
  baselines can run; use ``--valid`` so that no border effect helps any method);
- paired folders of real or other synthetic data: GoPro (``*/blur`` + ``*/sharp``), ``blur/`` + ``sharp/``, or
  ``input/`` + ``target/`` (kernels unknown: the non-blind baselines are left out);
- the standard non-blind protocol: a folder of sharp images times a kernel bank (PNG/NPY/MAT, e.g. the eight
  kernels of Levin et al. 2009) with Gaussian noise of a given sigma and *valid* convolution.

Methods (:class:`Method`): the blurred input; any number of models (``.safetensors``); scikit-image's Wiener,
unsupervised Wiener and Richardson-Lucy deconvolution given the true kernel (per channel, on a reflect-padded
image cropped back); and folders of other methods' outputs, matched by relative name.

Metrics (:func:`score`): every output is clipped and rounded to the test data's bit depth first (8 or 16, as a
saved image would be), then PSNR and SSIM (Gaussian window, sigma 1.5, population covariances: scikit-image's
``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``) on RGB and on the BT.601 Y channel, after an
optional border crop. Per-image rows, then per method the mean with a 95% confidence interval (t distribution)
and the runtime per image and per megapixel.

``deblur bench`` wraps :func:`run_bench` and :func:`write_bench`.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from deblur.errors import ConfigError, DeblurError, ImageError
from deblur.io import IMAGE_EXTENSIONS, array_to_tensor, decode_image, list_images
from deblur.metrics import crop_border, psnr, rgb_to_y, ssim
from deblur.report import environment, write_results


class BenchError(DeblurError):
    """A test set or a results folder that cannot be scored as asked."""


@dataclass
class BenchItem:
    """One test image: the blurred input, its sharp target (same size), and what is known about it.

    ``name`` is the relative name without extension; other methods' outputs are matched by it.
    ``group`` is the kernel kind, kernel name or scene (the per-group table's columns).
    """

    name: str
    blurred: torch.Tensor
    sharp: torch.Tensor
    group: str
    kernel: np.ndarray | None = None
    bit_depth: int = 8

    @property
    def kernel_size(self) -> int | None:
        return kernel_extent(self.kernel) if self.kernel is not None else None


def kernel_extent(kernel: np.ndarray, threshold: float = 0.02) -> int:
    """The side of the smallest square holding every kernel entry of at least ``threshold`` times its peak."""
    rows, cols = np.nonzero(kernel >= threshold * kernel.max())
    return int(max(rows.max() - rows.min(), cols.max() - cols.min()) + 1)


def _read(path: Path, max_pixels: int | None) -> tuple[torch.Tensor, int]:
    array = decode_image(path, max_pixels)
    return array_to_tensor(array), 16 if array.dtype == np.uint16 else 8


def _check_pair(name: str, blurred: torch.Tensor, sharp: torch.Tensor) -> None:
    if blurred.shape != sharp.shape:
        raise BenchError(
            f"{name}: blurred {tuple(blurred.shape[1:])} and sharp {tuple(sharp.shape[1:])} differ in size; "
            "the sharp image must be cropped to the blurred one (deblur synth --valid does this)"
        )


def load_test_set(path: str | Path, max_pixels: int | None = None, limit: int | None = None) -> list[BenchItem]:
    """A ``deblur synth`` folder (with its kernels) or a paired folder (GoPro, blur/sharp, input/target).

    Raises:
        BenchError: not a test set, or a pair whose images differ in size.
    """
    from deblur.data.folders import find_pairs

    root = Path(path)
    if not root.is_dir():
        raise BenchError(f"{root} is not a folder: give a deblur synth output or a folder of blur/ + sharp/ pairs")
    manifest = root / "manifest.json"
    items: list[BenchItem] = []
    if manifest.is_file():
        try:
            entries = json.loads(manifest.read_text())["items"]
        except (OSError, ValueError, KeyError) as exc:
            raise BenchError(f"{manifest} is not a deblur synth manifest ({exc}): re-run deblur synth") from exc
        for entry in entries[:limit]:
            blurred, depth = _read(root / entry["blurred"], max_pixels)
            sharp, _ = _read(root / entry["sharp"], max_pixels)
            _check_pair(str(root / entry["blurred"]), blurred, sharp)
            kernel = np.load(root / entry["kernel"], allow_pickle=False).astype(np.float64)
            items.append(BenchItem(entry["name"], blurred, sharp, entry.get("kind", "synthetic"), kernel, depth))
        return items
    try:
        pairs = find_pairs(root)
    except ImageError as exc:
        raise BenchError(str(exc)) from exc
    for degraded, target in pairs[:limit]:
        scene = degraded.parent.parent
        name = degraded.relative_to(scene).with_suffix("").as_posix().split("/", 1)[1]
        if scene != root:
            name = f"{scene.relative_to(root).as_posix()}/{name}"
        blurred, depth = _read(degraded, max_pixels)
        sharp, _ = _read(target, max_pixels)
        _check_pair(str(degraded), blurred, sharp)
        group = scene.relative_to(root).as_posix() if scene != root else "pairs"
        items.append(BenchItem(name, blurred, sharp, group, None, depth))
    return items


def nonblind_set(
    sharp: str | Path,
    kernels: str | Path,
    noise: float = 0.01,
    seed: int = 0,
    limit: int | None = None,
    max_pixels: int | None = None,
) -> list[BenchItem]:
    """The non-blind protocol: every sharp image blurred by every kernel of a bank (valid convolution, so the
    sharp target is cropped to the blurred image), plus Gaussian noise of ``noise`` (on [0, 1]) drawn from
    ``seed`` and the item's index, clipped to [0, 1] as a camera would (kept as floats, not rounded).

    Item names are ``<image>_<kernel>``; groups are the kernel names.
    """
    from deblur.synth.bank import read_kernel_bank

    if noise < 0:
        raise ConfigError(f"noise must be >= 0, got {noise}")
    bank = read_kernel_bank(kernels)
    files = list_images(sharp)
    if not files:
        raise BenchError(f"no images under {sharp}")
    items = []
    for image_path in files[:limit]:
        image, depth = _read(image_path, max_pixels)
        stem = image_path.relative_to(sharp).with_suffix("").as_posix() if Path(sharp).is_dir() else image_path.stem
        for kernel_name, kernel in bank:
            size_h, size_w = kernel.shape
            if min(image.shape[-2:]) <= max(size_h, size_w):
                raise BenchError(f"{image_path} is smaller than kernel {kernel_name} ({size_h}x{size_w})")
            weight = torch.from_numpy(kernel[::-1, ::-1].copy()).float()
            blurred = F.conv2d(image[:, None], weight[None, None])[:, 0]  # true convolution, valid part
            target = image[
                ..., size_h // 2 : size_h // 2 + blurred.shape[-2], size_w // 2 : size_w // 2 + blurred.shape[-1]
            ]
            generator = torch.Generator().manual_seed(seed * 1_000_003 + len(items))
            blurred = (blurred + noise * torch.randn(blurred.shape, generator=generator)).clamp(0, 1)
            label = Path(kernel_name).stem
            items.append(BenchItem(f"{stem}_{label}", blurred, target.contiguous(), label, kernel, depth))
    return items


@dataclass
class Method:
    """A restoration method: ``fn(item)`` returns the restored ``(3, H, W)`` image in [0, 1]."""

    name: str
    fn: Callable[[BenchItem], torch.Tensor]
    needs_kernel: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    def applies(self, item: BenchItem) -> bool:
        return item.kernel is not None or not self.needs_kernel


def blurred_input() -> Method:
    return Method("blurred input", lambda item: item.blurred)


def _taper_1d(projection: np.ndarray, length: int) -> np.ndarray:
    correlation = np.correlate(projection, projection, mode="full")
    correlation = correlation / correlation.max()
    half = len(projection)
    profile = np.zeros(length)
    profile[:half] = correlation[half - 1 :]  # the peak at the first sample, decaying inwards ...
    profile[length - half + 1 :] = correlation[: half - 1]  # ... and mirrored at the last (circular)
    return 1.0 - profile


def edgetaper(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """MATLAB's ``edgetaper``: blend the image towards its circularly blurred self near the borders, with weights
    from the kernel's autocorrelation, so that FFT deconvolution (which assumes a periodic image) does not ring."""
    from skimage.restoration import uft

    blurred = np.real(np.fft.ifft2(np.fft.fft2(image) * uft.ir2tf(kernel, image.shape, is_real=False)))
    alpha = np.outer(_taper_1d(kernel.sum(1), image.shape[0]), _taper_1d(kernel.sum(0), image.shape[1]))
    return alpha * image + (1.0 - alpha) * blurred


def _per_channel(
    image: torch.Tensor, kernel: np.ndarray, fn: Callable[[np.ndarray, np.ndarray], np.ndarray], boundary: str
) -> torch.Tensor:
    """Deconvolve each channel. ``boundary="taper"``: :func:`edgetaper` the image (for the FFT methods, which
    assume periodic images); ``"reflect"``: reflect-pad by the kernel size and crop back (for Richardson-Lucy,
    whose spatial convolutions would otherwise see a dark frame). Measured on held-out sets, each choice is the
    better one for its method by 0.5-4 dB."""
    pad = max(kernel.shape)
    out = []
    for channel in image.double().numpy():
        if boundary == "taper":
            out.append(np.clip(fn(edgetaper(channel, kernel), kernel), 0, 1))
        else:
            padded = np.pad(channel, pad, mode="reflect")
            out.append(np.clip(fn(padded, kernel), 0, 1)[pad:-pad, pad:-pad])
    return torch.from_numpy(np.stack(out)).float()


def wiener(balance: float = 0.05) -> Method:
    """scikit-image's Wiener-Hunt deconvolution with a fixed regularisation ``balance``, given the true kernel."""
    from skimage.restoration import wiener as sk_wiener

    return Method(
        f"Wiener (balance {balance:g})",
        lambda item: _per_channel(item.blurred, item.kernel, lambda x, k: sk_wiener(x, k, balance), "taper"),
        needs_kernel=True,
        info={"balance": balance},
    )


def unsupervised_wiener(seed: int = 0) -> Method:
    """scikit-image's unsupervised Wiener-Hunt deconvolution (regularisation estimated by a Gibbs sampler, seeded)."""
    from skimage.restoration import unsupervised_wiener as sk_unsupervised

    def run(item: BenchItem) -> torch.Tensor:
        rng = np.random.default_rng(seed)
        return _per_channel(item.blurred, item.kernel, lambda x, k: sk_unsupervised(x, k, rng=rng)[0], "taper")

    return Method("unsupervised Wiener", run, needs_kernel=True, info={"seed": seed})


def richardson_lucy(iterations: int = 20) -> Method:
    """scikit-image's Richardson-Lucy deconvolution, given the true kernel."""
    from skimage.restoration import richardson_lucy as sk_rl

    return Method(
        f"Richardson-Lucy ({iterations} it.)",
        lambda item: _per_channel(
            item.blurred, item.kernel, lambda x, k: sk_rl(x, k, num_iter=iterations, clip=True), "reflect"
        ),
        needs_kernel=True,
        info={"iterations": iterations},
    )


def model(path: str | Path, device: str | torch.device = "cpu", tile: int | None = None, name: str | None = None):
    """A deblurring model file; whole images by default (``tile`` restores in blended tiles, as ``restore``)."""
    from deblur.restoration import DEFAULT_TILE, load_restorer, restore_tensor

    net, info = load_restorer(path, device)
    tile = tile if tile is not None else DEFAULT_TILE

    @torch.inference_mode()
    def run(item: BenchItem) -> torch.Tensor:
        return restore_tensor(net, item.blurred[None].clamp(0, 1), tile=tile)[0]

    return Method(name or Path(path).stem, run, info={"model": str(path), "tile": tile})


def results_folder(name: str, folder: str | Path, items: Sequence[BenchItem]) -> Method:
    """Another method's outputs, one image per test item under ``folder`` with the item's relative name (any
    image extension).

    Raises:
        BenchError: the folder is missing or lacks an image (checked before anything runs).
    """
    root = Path(folder)
    if not root.is_dir():
        raise BenchError(f"--results {name}={folder}: not a folder")
    found: dict[str, Path] = {}
    for path in list_images(root):
        found.setdefault(path.relative_to(root).with_suffix("").as_posix(), path)
    missing = [item.name for item in items if item.name not in found]
    if missing:
        raise BenchError(
            f"--results {name}={folder} lacks {len(missing)} of {len(items)} images, e.g. {missing[0]}"
            f"{{{','.join(IMAGE_EXTENSIONS)}}}: give one output per test image, named as the blurred input"
        )

    def run(item: BenchItem) -> torch.Tensor:
        image = _read(found[item.name], None)[0]
        if image.shape != item.sharp.shape:
            raise BenchError(
                f"{found[item.name]} is {tuple(image.shape[1:])}, the sharp image is {tuple(item.sharp.shape[1:])}: "
                "outputs must have the size of the blurred input"
            )
        return image

    return Method(name, run, info={"folder": str(root)})


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
                        "kernel_size": item.kernel_size if item.kernel_size is not None else "",
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
    import io

    from deblur.io import atomic_write_bytes

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
    summary, per_group, groups = summarize(rows, channel)
    columns = list(summary[0])
    caption = (
        f"{description} PSNR (dB) and SSIM after rounding to the data's bit depth, on RGB and on the BT.601 Y channel "
        "(SSIM: Gaussian window, sigma 1.5); mean over images with the 95% confidence interval; `worse than input` "
        "counts images below the blurred input's PSNR; runtimes are medians."
    )
    written = {
        "summary": write_results(
            name, summary, columns, caption, meta, out, _best_cells(summary, ["PSNR", "SSIM", "PSNR-Y", "SSIM-Y"])
        )
    }
    group_columns = ["method"] + [f"{g} {m}" for g in groups for m in ("PSNR", "SSIM")]
    group_caption = f"{description} Mean PSNR (dB) and SSIM per group on {'RGB' if channel == 'rgb' else 'Y'}."
    written["groups"] = write_results(
        f"{name}_groups", per_group, group_columns, group_caption, meta, out, _best_cells(per_group, group_columns[1:])
    )
    per_image = out / f"{name}_per_image.csv"
    with open(per_image, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
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


def bench_meta(seed: int, methods: Sequence[Method], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The environment (machine, device, versions, commit, command) plus the seed and each method's settings."""
    meta = environment({"bench": seed})
    meta["methods"] = {m.name: m.info for m in methods}
    meta.update(extra or {})
    return meta


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
    "benchmark",
    "blurred_input",
    "load_test_set",
    "model",
    "nonblind_set",
    "results_folder",
    "richardson_lucy",
    "run_bench",
    "score",
    "summarize",
    "unsupervised_wiener",
    "wiener",
    "write_bench",
]
