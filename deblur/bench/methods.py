"""Methods ``deblur bench`` scores: the blurred input, model files, scikit-image's Wiener, unsupervised Wiener and
Richardson-Lucy deconvolution and deblur's hyper-Laplacian deconvolution given the true kernel (with the boundary
handling each needs), and folders of other methods' outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deblur.bench.sets import BenchError, BenchItem, read_with_depth
from deblur.io import IMAGE_EXTENSIONS, list_images


@dataclass
class Method:
    """A restoration method: ``fn(item)`` returns the restored ``(3, H, W)`` image in [0, 1]."""

    name: str
    fn: Callable[[BenchItem], torch.Tensor]
    needs_kernel: bool = False
    info: dict[str, Any] = field(default_factory=dict)
    estimates: dict[str, Any] = field(default_factory=dict)  # blind methods: each item's kernel estimate, by name

    def applies(self, item: BenchItem) -> bool:
        return item.kernel is not None or not self.needs_kernel


def blurred_input() -> Method:
    """The blurred input itself: the baseline every table compares against."""
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
        lambda item: _per_channel(item.blurred, item.method_kernel, lambda x, k: sk_wiener(x, k, balance), "taper"),
        needs_kernel=True,
        info={"balance": balance},
    )


def unsupervised_wiener(seed: int = 0) -> Method:
    """scikit-image's unsupervised Wiener-Hunt deconvolution (regularisation estimated by a Gibbs sampler, seeded)."""
    from skimage.restoration import unsupervised_wiener as sk_unsupervised

    def run(item: BenchItem) -> torch.Tensor:
        rng = np.random.default_rng(seed)
        return _per_channel(item.blurred, item.method_kernel, lambda x, k: sk_unsupervised(x, k, rng=rng)[0], "taper")

    return Method("unsupervised Wiener", run, needs_kernel=True, info={"seed": seed})


def richardson_lucy(iterations: int = 20) -> Method:
    """scikit-image's Richardson-Lucy deconvolution, given the true kernel."""
    from skimage.restoration import richardson_lucy as sk_rl

    return Method(
        f"Richardson-Lucy ({iterations} it.)",
        lambda item: _per_channel(
            item.blurred, item.method_kernel, lambda x, k: sk_rl(x, k, num_iter=iterations, clip=True), "reflect"
        ),
        needs_kernel=True,
        info={"iterations": iterations},
    )


def _kernel_tensor(item: BenchItem) -> torch.Tensor:
    """The kernel an item's methods are given ``(k, k)`` as a float32 tensor, for deblur's own methods."""
    return torch.from_numpy(np.ascontiguousarray(item.method_kernel, dtype=np.float32))


def hyper_laplacian(weight: float | None = 7e-4, boundary: str = "masked") -> Method:
    """deblur's own non-blind deconvolution (``deblur.ops.deconv.hl_deconv``: hyper-Laplacian prior, unknown
    border), given the true kernel; ``weight=None`` sets the prior weight from each image's estimated noise."""
    from deblur.ops.deconv import hl_deconv

    @torch.inference_mode()
    def run(item: BenchItem) -> torch.Tensor:
        kernel = _kernel_tensor(item)[None]
        return hl_deconv(item.blurred[None].float(), kernel, weight=weight, boundary=boundary)[0].clamp(0, 1)

    label = "noise-adaptive" if weight is None else f"weight {weight:g}"
    suffix = "" if boundary == "masked" else f", {boundary}"
    return Method(
        f"hyper-Laplacian ({label}{suffix})",
        run,
        needs_kernel=True,
        info={"weight": weight, "boundary": boundary},
    )


def model(
    path: str | Path,
    device: str | torch.device = "cpu",
    tile: int | None = None,
    name: str | None = None,
    blind: bool = False,
) -> Method:
    """A deblurring model file; whole images by default (``tile`` restores in blended tiles, as ``restore``).
    A kernel-aware model is given each item's true kernel (the non-blind protocol), so it runs where kernels are
    known; with ``blind`` a model with a kernel estimator estimates each item's kernel instead, as ``deblur
    restore`` does (the estimates are kept in ``method.estimates`` by item name)."""
    from deblur.restoration import DEFAULT_TILE, BlindRestorer, WithKernel, load_restorer, restore_tensor

    net, info = load_restorer(path, device)
    tile = tile if tile is not None else DEFAULT_TILE
    takes_kernel = bool(getattr(net, "takes_kernel", False))
    blind_restorer = BlindRestorer.from_file(path, device) if blind else None  # with the critic it names
    estimates: dict[str, Any] = {}

    @torch.inference_mode()
    def run(item: BenchItem) -> torch.Tensor:
        restorer = net
        if blind_restorer is not None:
            restored, found = blind_restorer.restore(item.blurred[None].clamp(0, 1), tile, 32)
            estimates[item.name] = found[0]
            return restored[0]
        if takes_kernel:
            kernel = _kernel_tensor(item)
            restorer = WithKernel(net, kernel).to(next(net.parameters()).device)
        return restore_tensor(restorer, item.blurred[None].clamp(0, 1), tile=tile)[0]

    label = name or Path(path).stem + (" (blind)" if blind else "")
    extra = {}
    if blind_restorer is not None:
        extra = {"blind": True, "strength": blind_restorer.strength}
        if blind_restorer.critic is not None:
            extra["critic"] = info["blind"]["critic"]
        else:
            extra["min_confidence"] = blind_restorer.min_confidence
    settings = {"model": str(path), "tile": tile, **extra}
    return Method(label, run, needs_kernel=takes_kernel and not blind, info=settings, estimates=estimates)


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
        image = read_with_depth(found[item.name], None)[0]
        if image.shape != item.sharp.shape:
            raise BenchError(
                f"{found[item.name]} is {tuple(image.shape[1:])}, the sharp image is {tuple(item.sharp.shape[1:])}: "
                "outputs must have the size of the blurred input"
            )
        return image

    return Method(name, run, info={"folder": str(root)})
