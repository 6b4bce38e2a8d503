"""Blind estimation of a spatially uniform blur kernel: ``estimate_kernel(blurred) -> (kernel, confidence)``.

A coarse-to-fine alternation in the manner of Cho & Lee (2009, "Fast motion deblurring"), in ``torch.fft`` on
the image's luminance: at each level of a pyramid whose kernel grows by sqrt(2) from 7 px to ``max_size``,

1. *predict* sharp edges from the current latent image: a Gaussian pre-smoothing, a few shock-filter steps, and
   only the strongest gradients of each of four orientations kept (the rest zeroed);
2. *fit the kernel* to them in the gradient domain, in closed form: ``K = sum conj(P) G / (sum |P|^2 + beta)``
   over the two gradient directions (``P`` the predicted gradients, ``G`` the blurred image's), cropped to the
   level's size, small values cut and the rest normalised;
3. *deconvolve* the level's blurred image with that kernel and a quadratic gradient prior (one FFT solve) to get
   the next latent image.

The kernel is returned centred by its centre of mass on a ``max_size`` canvas, with a confidence in [0, 1] from a
self-check that needs no ground truth (see :func:`kernel_confidence`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import kornia
import torch
import torch.nn.functional as F

from deblur.ops.conv import _fast_fft_length

__all__ = ["KernelEstimate", "estimate_kernel", "estimate_one", "estimate_with_check", "kernel_agreement", "luminance"]


def luminance(image: torch.Tensor) -> torch.Tensor:
    """BT.601 luma of an RGB batch (a one-channel batch is returned as it is). ``(B, C, H, W) -> (B, 1, H, W)``."""
    if image.shape[1] == 1:
        return image
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=image.dtype, device=image.device).reshape(1, 3, 1, 1)
    return (image[:, :3] * weights).sum(1, keepdim=True)


def _odd(value: float) -> int:
    return max(3, int(round(value)) // 2 * 2 + 1)


def _sizes(max_size: int, smallest: int = 7) -> list[int]:
    """Kernel sizes from coarse to fine, each about 1/sqrt(2) of the next, the finest ``max_size``."""
    sizes = [max_size]
    while sizes[-1] > smallest:
        sizes.append(max(_odd(sizes[-1] / math.sqrt(2)), 3))
        if sizes[-1] == sizes[-2]:
            break
    return sizes[::-1]


def _gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward differences, zero on the last column / row. ``(H, W) -> (H, W), (H, W)``."""
    gx, gy = torch.zeros_like(x), torch.zeros_like(x)
    gx[:, :-1] = x[:, 1:] - x[:, :-1]
    gy[:-1] = x[1:] - x[:-1]
    return gx, gy


def _shock(x: torch.Tensor, steps: int, dt: float) -> torch.Tensor:
    """Osher-Rudin shock filtering ``x <- x - dt sign(lap x) |grad x|``: steepens blurred edges into steps."""
    for _ in range(steps):
        padded = F.pad(x[None, None], (1, 1, 1, 1), mode="replicate")[0, 0]
        gx = (padded[1:-1, 2:] - padded[1:-1, :-2]) / 2
        gy = (padded[2:, 1:-1] - padded[:-2, 1:-1]) / 2
        laplacian = padded[1:-1, 2:] + padded[1:-1, :-2] + padded[2:, 1:-1] + padded[:-2, 1:-1] - 4 * x
        x = x - dt * torch.sign(laplacian) * torch.sqrt(gx * gx + gy * gy)
    return x


def _select_edges(gx: torch.Tensor, gy: torch.Tensor, per_bin: int, margin: int) -> torch.Tensor:
    """A mask of the strongest gradients: at least ``per_bin`` pixels in each of four orientation bins (Cho & Lee's
    rule, so that every direction of the kernel is constrained), none within ``margin`` of the border."""
    magnitude = torch.sqrt(gx * gx + gy * gy)
    inside = torch.zeros_like(magnitude, dtype=torch.bool)
    inside[margin : -margin or None, margin : -margin or None] = True
    angle = torch.atan2(gy, gx).remainder(math.pi)  # orientation, sign-free
    bins = (angle / (math.pi / 4)).long().clamp(max=3)
    mask = torch.zeros_like(inside)
    for b in range(4):
        candidates = magnitude[(bins == b) & inside]
        if candidates.numel() == 0:
            continue
        count = min(per_bin, candidates.numel())
        threshold = candidates.topk(count).values[-1]
        mask |= (bins == b) & inside & (magnitude >= threshold) & (magnitude > 0)
    return mask


def _fit_kernel(px, py, gx, gy, size: int, beta: float, cut: float, component: bool = True) -> torch.Tensor:
    """The least-squares kernel in the gradient domain, ``argmin_k sum ||k * p - g||^2 + beta ||k||^2``, cropped to
    ``size`` about the origin, its negative and small (< ``cut`` x max) values zeroed and normalised."""
    shape = (_fast_fft_length(px.shape[0] + size), _fast_fft_length(px.shape[1] + size))
    fpx, fpy = torch.fft.rfft2(px, s=shape), torch.fft.rfft2(py, s=shape)
    fgx, fgy = torch.fft.rfft2(gx, s=shape), torch.fft.rfft2(gy, s=shape)
    power = fpx.abs().pow(2) + fpy.abs().pow(2)
    spectrum = (fpx.conj() * fgx + fpy.conj() * fgy) / (power + beta * power.mean())
    full = torch.fft.irfft2(spectrum, s=shape)
    half = size // 2
    kernel = torch.roll(full, (half, half), dims=(0, 1))[:size, :size]
    kernel = kernel.clamp(min=0)
    kernel = torch.where(kernel < cut * kernel.max(), torch.zeros_like(kernel), kernel)
    if component:
        kernel = _main_component(kernel)
    total = kernel.sum()
    if not total > 0:
        kernel = torch.zeros_like(kernel)
        kernel[half, half] = 1
        return kernel
    return kernel / total


def _main_component(kernel: torch.Tensor) -> torch.Tensor:
    """The kernel restricted to its support's 8-connected component holding the peak: isolated specks of a noisy
    fit shift the centre of mass and double every edge."""
    support = (kernel > 0).float()[None, None]
    seed = torch.zeros_like(support)
    peak = int(kernel.argmax())
    seed.view(-1)[peak] = 1
    for _ in range(kernel.numel()):
        grown = F.max_pool2d(seed, 3, 1, 1) * support
        if torch.equal(grown, seed):
            break
        seed = grown
    return kernel * seed[0, 0]


def _deconvolve(y: torch.Tensor, kernel: torch.Tensor, weight: float) -> torch.Tensor:
    """``argmin_x ||k * x - y||^2 + weight ||grad x||^2`` on a reflect-padded, edge-tapered image (one FFT solve)."""
    size = kernel.shape[-1]
    pad = size
    padded = F.pad(y[None, None], (pad, pad, pad, pad), mode="reflect")[0, 0]
    shape = (_fast_fft_length(padded.shape[0]), _fast_fft_length(padded.shape[1]))
    padded = F.pad(padded, (0, shape[1] - padded.shape[1], 0, shape[0] - padded.shape[0]))
    otf = _otf(kernel, shape)
    dx = _otf(torch.tensor([[0.0, 0.0, 0.0], [0.0, -1.0, 1.0], [0.0, 0.0, 0.0]], dtype=y.dtype, device=y.device), shape)
    dy = _otf(torch.tensor([[0.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 1.0, 0.0]], dtype=y.dtype, device=y.device), shape)
    regulariser = dx.abs().pow(2) + dy.abs().pow(2)
    spectrum = torch.fft.rfft2(padded) * otf.conj() / (otf.abs().pow(2) + weight * regulariser)
    x = torch.fft.irfft2(spectrum, s=shape)
    return x[pad : pad + y.shape[0], pad : pad + y.shape[1]]


def _otf(kernel: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    size_y, size_x = kernel.shape
    padded = torch.zeros(shape, dtype=kernel.dtype, device=kernel.device)
    padded[:size_y, :size_x] = kernel
    padded = torch.roll(padded, (-(size_y // 2), -(size_x // 2)), dims=(0, 1))
    return torch.fft.rfft2(padded)


def _resize(x: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape) == tuple(shape):
        return x
    return F.interpolate(x[None, None], size=shape, mode="bilinear", align_corners=False, antialias=True)[0, 0]


def _center(kernel: torch.Tensor) -> torch.Tensor:
    """Shift by whole pixels so the centre of mass is the middle pixel (zeros shifted in)."""
    size = kernel.shape[-1]
    coords = torch.arange(size, dtype=kernel.dtype, device=kernel.device)
    cy = int(round(float((kernel.sum(1) * coords).sum())))
    cx = int(round(float((kernel.sum(0) * coords).sum())))
    shift_y, shift_x = size // 2 - cy, size // 2 - cx
    out = torch.zeros_like(kernel)
    ys, yd = slice(max(0, -shift_y), size - max(0, shift_y)), slice(max(0, shift_y), size - max(0, -shift_y))
    xs, xd = slice(max(0, -shift_x), size - max(0, shift_x)), slice(max(0, shift_x), size - max(0, -shift_x))
    out[yd, xd] = kernel[ys, xs]
    return out / out.sum().clamp(min=1e-12)


def estimate_one(
    gray: torch.Tensor,
    max_size: int = 47,
    iterations: int = 5,
    per_bin: float = 4.0,
    beta: float = 0.2,
    prior_weight: float = 0.02,
    cut: float = 0.15,
    shock_steps: int = 5,
    region: int = 512,
    offset: tuple[float, float] = (0.5, 0.5),
    sharpen: float = 0.0,
    component: str = "always",
    refine: int = 2,
    refine_beta: float = 0.02,
    refine_weight: float = 2e-3,
    refine_per_bin: float = 32.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The kernel of one luminance image ``(H, W)``; returns ``(kernel (max_size, max_size), latent (h, w))``.

    The kernel is fitted on a ``region`` x ``region`` window placed at ``offset`` (fractions of the free room:
    (0.5, 0.5) is the middle)."""
    height, width = gray.shape
    top, left = round(max(0, height - region) * offset[0]), round(max(0, width - region) * offset[1])
    y_full = gray[top : top + region, left : left + region]
    sizes = _sizes(max_size)
    kernel = latent = None
    for size in sizes:
        scale = size / max_size
        shape = (max(16, round(y_full.shape[0] * scale)), max(16, round(y_full.shape[1] * scale)))
        y = _resize(y_full, shape)
        gy_x, gy_y = _gradients(y)
        if latent is None:
            latent = y
            kernel = torch.zeros(size, size, dtype=y.dtype, device=y.device)
            kernel[size // 2, size // 2] = 1
        else:
            latent = _resize(latent, shape)
            kernel = _resize(kernel, (size, size)).clamp(min=0)
            kernel = kernel / kernel.sum().clamp(min=1e-12)
        margin = size // 2 + 1
        grown = per_bin
        for _ in range(iterations):
            smooth = kornia.filters.gaussian_blur2d(latent[None, None], (5, 5), (1.0, 1.0))[0, 0]
            sharp = _shock(smooth, shock_steps, 0.2)
            if sharpen > 0:  # real edges are not steps: soften the prediction so the kernel does not absorb it
                sharp = kornia.filters.gaussian_blur2d(sharp[None, None], (5, 5), (sharpen, sharpen))[0, 0]
            px, py = _gradients(sharp)
            mask = _select_edges(px, py, int(grown * size), margin)
            px, py = px * mask, py * mask
            border = torch.zeros_like(gy_x)
            border[margin:-margin, margin:-margin] = 1
            kernel = _fit_kernel(px, py, gy_x * border, gy_y * border, size, beta, cut, component == "always")
            latent = _deconvolve(y, kernel, prior_weight)
            grown *= 1.2
    if refine:
        from deblur.ops.deconv import hl_deconv

        gy_x, gy_y = _gradients(y)
        border = torch.zeros_like(gy_x)
        margin = max_size // 2 + 1
        border[margin:-margin, margin:-margin] = 1
        for _ in range(refine):
            # a nearly sharp latent from the sparse prior, then the kernel fitted to its strongest gradients
            latent = hl_deconv(y[None, None], kernel[None], refine_weight, iterations=10)[0, 0]
            px, py = _gradients(latent)
            mask = _select_edges(px, py, int(refine_per_bin * max_size), margin)
            kernel = _fit_kernel(px * mask, py * mask, gy_x * border, gy_y * border, max_size, refine_beta, cut)
    if component == "final":
        kernel = _main_component(kernel)
        kernel = kernel / kernel.sum()
    return _center(kernel), latent


def kernel_agreement(first: torch.Tensor, second: torch.Tensor, reach: int = 4) -> float:
    """How alike two kernels are up to a shift of at most ``reach`` px: the largest normalised cross-correlation,
    in [0, 1] for non-negative kernels."""
    padded = F.pad(first[None, None], (reach, reach, reach, reach))
    correlation = F.conv2d(padded, second[None, None]).max()
    return float(correlation / (first.norm() * second.norm()).clamp(min=1e-12))


NO_BLUR_MASS = 0.8
"""A kernel with at least this share of its mass on the middle 3 x 3 pixels means "no blur to remove": estimated
on sharp photos, kernels came out so (19 of 20 of photos/val20), and deconvolving with them only adds ringing."""


@dataclass
class KernelEstimate:
    """One image's estimate: the kernel, a confidence in [0, 1], and what the self-check saw."""

    kernel: torch.Tensor  # (k, k), centred by its centre of mass, sums to 1
    confidence: float
    blur_free: bool  # no blur worth removing was found: the kernel is a delta
    agreement: float  # kernel_agreement of the estimates on the left and right parts of the image
    central_mass: float  # share of the estimate's mass on its middle 3 x 3 pixels


def estimate_with_check(gray: torch.Tensor, max_size: int = 47, check_region: int = 256, **options) -> KernelEstimate:
    """:func:`estimate_one` with the self-check, on one luminance image ``(H, W)``.

    The kernel is estimated on the middle of the image and, independently, on its left and right parts
    (``check_region`` px squares, or the left and right halves of a narrower image); the
    confidence is the agreement of those two (a kernel that depends on where it is measured is no spatially uniform
    blur, or no estimate to trust). A kernel concentrated on its middle pixels (:data:`NO_BLUR_MASS`) is returned as
    a delta with ``blur_free`` set.
    """
    kernel, _ = estimate_one(gray, max_size, **options)
    middle = max_size // 2
    central = float(kernel[middle - 1 : middle + 2, middle - 1 : middle + 2].sum())
    sides = {key: value for key, value in options.items() if key not in ("region", "offset")}
    side = min(check_region, max(gray.shape[-1] // 2, 4 * max_size // 3))  # two parts that overlap little or not
    left, _ = estimate_one(gray, max_size, region=side, offset=(0.5, 0.0), **sides)
    right, _ = estimate_one(gray, max_size, region=side, offset=(0.5, 1.0), **sides)
    agreement = kernel_agreement(left, right)
    blur_free = central >= NO_BLUR_MASS
    if blur_free:
        kernel = torch.zeros_like(kernel)
        kernel[middle, middle] = 1
    return KernelEstimate(kernel, agreement, blur_free, agreement, central)


def estimate_kernel(blurred: torch.Tensor, max_size: int = 47, **options) -> tuple[torch.Tensor, torch.Tensor]:
    """Blind kernels of a batch ``(B, C, H, W)`` in [0, 1]: ``(kernels (B, max_size, max_size), confidence (B,))``.

    ``max_size`` (odd) bounds the kernel's side; a bound close to the true size estimates best. Options go to
    :func:`estimate_one`. The confidence is the self-check's (:func:`estimate_with_check`); a blur-free image gets
    a delta kernel.
    """
    if blurred.ndim != 4:
        raise ValueError(f"expected (B, C, H, W), got {tuple(blurred.shape)}")
    if max_size < 7 or max_size % 2 == 0:
        raise ValueError(f"max_size must be odd and at least 7, got {max_size}")
    gray = luminance(blurred.float())
    estimates = [estimate_with_check(image[0], max_size, **options) for image in gray]
    kernels = torch.stack([estimate.kernel for estimate in estimates]).to(blurred.dtype)
    confidence = torch.tensor([estimate.confidence for estimate in estimates], device=blurred.device)
    return kernels, confidence
