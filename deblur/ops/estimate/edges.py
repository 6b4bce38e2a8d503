"""The edge-based blind kernel estimator, after Cho & Lee (2009, "Fast motion deblurring"): :func:`estimate_one`
works coarse to fine on one luminance image, the kernel growing by sqrt(2) a level, and at each level alternates
predicting sharp edges from the current latent image (Gaussian pre-smoothing, shock filtering, the strongest
gradients of four orientations), fitting the kernel to them in closed form in the gradient domain
(:func:`fit_kernel`) and deconvolving with it under a quadratic gradient prior. At full size the kernel is refitted to
the edges of a hyper-Laplacian latent image, then once more without a threshold on its grown support
(:func:`fit_on_support`, the support step of Xu & Jia 2010), which keeps the faint parts of a camera-shake path. Also
what "no blur" means for a kernel (:data:`NO_BLUR_MASS`, :func:`central_mass`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import kornia
import torch
import torch.nn.functional as F

from deblur.ops.deconv import hl_deconv
from deblur.ops.fft import fast_fft_length, gradient_power, gradients, psf_to_otf
from deblur.ops.psf import center_kernels

__all__ = [
    "NO_BLUR_MASS",
    "EdgeSettings",
    "central_mass",
    "estimate_one",
    "fit_kernel",
    "fit_on_support",
    "align_to_data",
    "middle_window",
]

NO_BLUR_MASS = 0.8
"""A kernel with at least this share of its mass on the middle 3 x 3 pixels reads as "no blur to remove": sharp
photos give such kernels, and deconvolving with them only adds ringing."""


def central_mass(kernel: torch.Tensor) -> float:
    """The share of a kernel's mass ``(k, k)`` on its middle 3 x 3 pixels."""
    middle = kernel.shape[-1] // 2
    return float(kernel[middle - 1 : middle + 2, middle - 1 : middle + 2].sum() / kernel.sum().clamp(min=1e-12))


def middle_window(gray: torch.Tensor, region: int) -> torch.Tensor:
    """The middle ``region`` x ``region`` window of ``(H, W)`` (all of a smaller side)."""
    top, left = max(0, (gray.shape[0] - region) // 2), max(0, (gray.shape[1] - region) // 2)
    return gray[top : top + region, left : left + region]


@dataclass(frozen=True)
class EdgeSettings:
    """The knobs of :func:`estimate_one`, stage by stage: the options that
    :func:`~deblur.ops.estimate.estimate_kernel` passes on."""

    # the pyramid: per level, ``iterations`` rounds of edge prediction, kernel fit and deconvolution
    iterations: int = 5
    per_bin: float = 4.0  # edges kept per orientation bin, per px of the level's kernel side (x1.2 each round)
    beta: float = 0.2  # damping of the closed-form kernel fit, relative to the edges' mean power
    prior_weight: float = 0.02  # weight of the deconvolution's quadratic gradient prior
    cut: float = 0.15  # kernel values below this share of the peak are dropped
    shock_steps: int = 5
    # at full size: closed-form refits to the strongest gradients of a hyper-Laplacian latent image
    refine: int = 2
    refine_beta: float = 0.02
    refine_weight: float = 2e-3  # weight of the hyper-Laplacian prior
    refine_per_bin: float = 32.0
    align: bool = True  # shift the kernel so that its latent image lines up with the data (:func:`align_to_data`)
    # the support step: non-negative fits on the kernel's support grown by ``support_dilate`` px
    support_steps: int = 1
    support_dilate: int = 6
    support_iterations: int = 100  # FISTA steps of each fit
    support_cut: float = 0.005  # values below this share of the peak are dropped after each fit


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


def _inside(like: torch.Tensor, margin: int) -> torch.Tensor:
    """1 on the pixels at least ``margin`` from the border of ``like`` ``(H, W)``, 0 elsewhere."""
    mask = torch.zeros_like(like)
    mask[margin:-margin, margin:-margin] = 1
    return mask


def fit_kernel(
    px: torch.Tensor, py: torch.Tensor, gx: torch.Tensor, gy: torch.Tensor, size: int, beta: float, cut: float
) -> torch.Tensor:
    """The least-squares kernel in the gradient domain, ``argmin_k sum ||k * p - g||^2 + beta ||k||^2`` over both
    directions (``p`` the predicted sharp gradients, ``g`` the blurred image's, all ``(H, W)``; ``beta`` relative to
    the mean power of ``p``), in closed form by FFT. It is cropped to ``size`` about the origin, its negative and
    small (< ``cut`` x max) values are zeroed, it is restricted to the connected component of its peak and
    normalised; a delta if nothing is left. ``-> (size, size)``."""
    shape = (fast_fft_length(px.shape[0] + size), fast_fft_length(px.shape[1] + size))
    fpx, fpy = torch.fft.rfft2(px, s=shape), torch.fft.rfft2(py, s=shape)
    fgx, fgy = torch.fft.rfft2(gx, s=shape), torch.fft.rfft2(gy, s=shape)
    power = fpx.abs().pow(2) + fpy.abs().pow(2)
    spectrum = (fpx.conj() * fgx + fpy.conj() * fgy) / (power + beta * power.mean())
    full = torch.fft.irfft2(spectrum, s=shape)
    half = size // 2
    kernel = torch.roll(full, (half, half), dims=(0, 1))[:size, :size]
    kernel = kernel.clamp(min=0)
    kernel = _main_component(torch.where(kernel < cut * kernel.max(), torch.zeros_like(kernel), kernel))
    total = kernel.sum()
    if not total > 0:
        kernel = torch.zeros_like(kernel)
        kernel[half, half] = 1
        return kernel
    return kernel / total


def fit_on_support(
    px: torch.Tensor,
    py: torch.Tensor,
    gx: torch.Tensor,
    gy: torch.Tensor,
    kernel: torch.Tensor,
    dilate: int,
    beta: float,
    steps: int,
) -> torch.Tensor:
    """The non-negative least-squares kernel in the gradient domain, ``argmin_{k >= 0} sum ||k * p - g||^2 +
    beta ||k||^2``, zero outside the support of ``kernel`` grown by ``dilate`` px (the support step of Xu & Jia's
    iterative support detection, ECCV 2010). Unlike :func:`fit_kernel`, no threshold decides what is blur, so faint
    trails between the bright points of camera shake keep their mass and the centre of mass stays where the blur's
    is. Solved by ``steps`` of accelerated projected gradient (FISTA) on the normal equations, whose autocorrelation
    spans only lags below the kernel's side: each step is two FFTs of a canvas three kernels wide. Returns the
    kernel ``(k, k)``, not normalised."""
    size = kernel.shape[-1]
    shape = (fast_fft_length(px.shape[0] + size), fast_fft_length(px.shape[1] + size))
    fpx, fpy = torch.fft.rfft2(px, s=shape), torch.fft.rfft2(py, s=shape)
    fgx, fgy = torch.fft.rfft2(gx, s=shape), torch.fft.rfft2(gy, s=shape)
    power = fpx.abs().pow(2) + fpy.abs().pow(2)
    damping = beta * float(power.mean())
    half = size // 2
    # b: the cross-correlation at the kernel's lags; R: the autocorrelation at lags below the kernel's side
    cross = torch.roll(torch.fft.irfft2(fpx.conj() * fgx + fpy.conj() * fgy, s=shape), (half, half), (0, 1))
    cross = cross[:size, :size]
    auto = torch.roll(torch.fft.irfft2(power, s=shape), (2 * half, 2 * half), (0, 1))[: 4 * half + 1, : 4 * half + 1]
    canvas = (fast_fft_length(6 * half + 1),) * 2
    # (R * k)(l) = sum_m R(l - m) k(m): the full linear convolution on the small canvas, its middle kept
    auto_spectrum = torch.fft.rfft2(auto, s=canvas)
    support = F.max_pool2d((kernel > 0).float()[None, None], 2 * dilate + 1, 1, dilate)[0, 0] if dilate else None
    support = (kernel > 0).float() if support is None else support

    def normal(k: torch.Tensor) -> torch.Tensor:
        full = torch.fft.irfft2(torch.fft.rfft2(k, s=canvas) * auto_spectrum, s=canvas)
        return full[2 * half : 2 * half + size, 2 * half : 2 * half + size] + damping * k

    step = 1.0 / (float(power.max()) + damping)
    current = momentum = kernel * support
    t = 1.0
    for _ in range(steps):
        following = ((momentum - step * (normal(momentum) - cross)).clamp(min=0)) * support
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        momentum = following + ((t - 1) / t_next) * (following - current)
        current, t = following, t_next
    return current


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
    """``argmin_x ||k * x - y||^2 + weight ||grad x||^2`` on a reflect-padded image (one FFT solve)."""
    size = kernel.shape[-1]
    pad = size
    padded = F.pad(y[None, None], (pad, pad, pad, pad), mode="reflect")[0, 0]
    shape = (fast_fft_length(padded.shape[0]), fast_fft_length(padded.shape[1]))
    padded = F.pad(padded, (0, shape[1] - padded.shape[1], 0, shape[0] - padded.shape[0]))
    otf = psf_to_otf(kernel[None], shape)[0, 0]
    regulariser = gradient_power(shape, y)[0, 0]
    spectrum = torch.fft.rfft2(padded) * otf.conj() / (otf.abs().pow(2) + weight * regulariser)
    x = torch.fft.irfft2(spectrum, s=shape)
    return x[pad : pad + y.shape[0], pad : pad + y.shape[1]]


def _sparse_edges(
    y: torch.Tensor, kernel: torch.Tensor, weight: float, count: int, margin: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A nearly sharp latent image of ``y`` under ``kernel`` (hyper-Laplacian prior of ``weight``) and its strongest
    gradients (:func:`_select_edges`, the rest zeroed): ``(latent, px, py)``."""
    latent = hl_deconv(y[None, None], kernel[None], weight, iterations=10)[0, 0]
    px, py = gradients(latent)
    mask = _select_edges(px, py, count, margin)
    return latent, px * mask, py * mask


def _resize(x: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape) == tuple(shape):
        return x
    return F.interpolate(x[None, None], size=shape, mode="bilinear", align_corners=False, antialias=True)[0, 0]


def _center(kernel: torch.Tensor) -> torch.Tensor:
    """Shift by whole pixels so the centre of mass is the middle pixel (zeros shifted in)."""
    return center_kernels(kernel[None], grow=False)[0]


def estimate_one(
    gray: torch.Tensor,
    max_size: int = 47,
    region: int = 512,
    settings: EdgeSettings | None = None,
    no_blur_mass: float = NO_BLUR_MASS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The kernel of one luminance image ``(H, W)``, fitted on its middle ``region`` x ``region`` window.

    After the pyramid, ``settings.refine`` closed-form refits sharpen the kernel, then ``settings.support_steps``
    non-negative fits on its grown support (:func:`fit_on_support`) give back the faint trails that the closed-form
    fit's threshold cut. A kernel that already reads as no blur (``no_blur_mass`` of it on the middle 3 x 3 pixels)
    skips the support step, which would only spread it.

    Returns:
        ``(kernel (max_size, max_size), latent (h, w))``: the kernel centred by its centre of mass, summing to 1,
        and the last latent image of the window.
    """
    settings = EdgeSettings() if settings is None else settings
    y_full = middle_window(gray, region)
    kernel = latent = None
    for size in _sizes(max_size):
        scale = size / max_size
        shape = (max(16, round(y_full.shape[0] * scale)), max(16, round(y_full.shape[1] * scale)))
        y = _resize(y_full, shape)
        gy_x, gy_y = gradients(y)
        if latent is None:
            latent = y
            kernel = torch.zeros(size, size, dtype=y.dtype, device=y.device)
            kernel[size // 2, size // 2] = 1
        else:
            latent = _resize(latent, shape)
            kernel = _resize(kernel, (size, size)).clamp(min=0)
            kernel = kernel / kernel.sum().clamp(min=1e-12)
        margin = size // 2 + 1
        border = _inside(gy_x, margin)
        gy_x, gy_y = gy_x * border, gy_y * border
        grown = settings.per_bin
        for _ in range(settings.iterations):
            smooth = kornia.filters.gaussian_blur2d(latent[None, None], (5, 5), (1.0, 1.0))[0, 0]
            px, py = gradients(_shock(smooth, settings.shock_steps, 0.2))
            mask = _select_edges(px, py, int(grown * size), margin)
            kernel = fit_kernel(px * mask, py * mask, gy_x, gy_y, size, settings.beta, settings.cut)
            latent = _deconvolve(y, kernel, settings.prior_weight)
            grown *= 1.2
    # the last level is the full window (size == max_size): gy_x, gy_y are its masked gradients
    count = int(settings.refine_per_bin * max_size)
    for _ in range(settings.refine):
        latent, px, py = _sparse_edges(y, kernel, settings.refine_weight, count, margin)
        kernel = fit_kernel(px, py, gy_x, gy_y, max_size, settings.refine_beta, settings.cut)
    # a kernel that already reads as no blur has no trails to give back: the support step would only spread it
    steps = 0 if central_mass(_center(kernel)) >= no_blur_mass else settings.support_steps
    for _ in range(steps):
        latent, px, py = _sparse_edges(y, kernel, settings.refine_weight, count, margin)
        fitted = fit_on_support(
            px, py, gy_x, gy_y, kernel, settings.support_dilate, settings.refine_beta, settings.support_iterations
        )
        fitted = torch.where(fitted < settings.support_cut * fitted.max(), torch.zeros_like(fitted), fitted)
        fitted = _main_component(fitted)
        if fitted.sum() > 0:
            kernel = fitted / fitted.sum()
    kernel = _center(kernel)
    if settings.align:
        kernel = align_to_data(y, kernel, settings.refine_weight)
    return kernel, latent


def align_to_data(blurred: torch.Tensor, kernel: torch.Tensor, weight: float, reach: int = 3) -> torch.Tensor:
    """Move the kernel by whole pixels so that the latent image it gives lines up with the blurred image at low
    frequencies. A blur whose centre of mass is the middle pixel does not move the image's coarse content, but an
    estimated kernel's centre of mass is off wherever its faint parts were cut or misplaced; the coarse content of
    the data says where the middle is. Returns the shifted kernel (zeros shifted in)."""
    latent = hl_deconv(blurred[None, None], kernel[None], weight, iterations=5, beta_max=32.0)[0, 0]
    sigma = max(2.0, kernel.shape[-1] / 6)
    side = int(2 * round(3 * sigma) + 1)
    low = kornia.filters.gaussian_blur2d(torch.stack([latent, blurred])[:, None], (side, side), (sigma, sigma))[:, 0]
    margin = reach + side // 2
    target = low[1, margin:-margin, margin:-margin]
    best, shift = math.inf, (0, 0)
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            moved = low[0, margin + dy : low.shape[1] - margin + dy, margin + dx : low.shape[2] - margin + dx]
            error = float((moved - target).pow(2).mean())
            if error < best:
                best, shift = error, (dy, dx)
    if shift == (0, 0):
        return kernel
    # the latent at p + d matches the data at p: the kernel must move by +d for the latent to move by -d
    moved = torch.roll(kernel, shifts=shift, dims=(0, 1))
    return moved / moved.sum()
