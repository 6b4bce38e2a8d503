"""The ℓ0-gradient blind kernel estimator, after Pan, Hu, Su & Yang (2014) and its IPOL version (Anger, Facciolo &
Delbracio 2019): coarse to fine over a sqrt(2) pyramid, each level alternating a latent image with sparse gradients
(half-quadratic ℓ0 splitting, batched FFT solves) and a closed-form Fourier kernel fit to its strongest gradients
(Cho & Lee's edge selection), the kernel pruned to its strong connected parts and recentred. Saturated pixels and
their kernel-sized neighbourhood are kept out of the kernel fit (Pan et al. 2016). :func:`l0_estimate` runs several
size bounds as one batch, sharing every FFT call, since the right bound is unknown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from deblur.ops.fft import adjoint_gradients, fast_fft_length, gradient_power, gradients, psf_to_otf
from deblur.ops.psf import center_kernels

__all__ = ["L0Settings", "l0_estimate", "resize_kernels", "wrap_pad"]


@dataclass(frozen=True)
class L0Settings:
    """The knobs of :func:`l0_estimate`: the published defaults, except where a sweep on held-out photos chose others
    (a lighter weight and half-quadratic schedule, a firmer ridge and cut)."""

    iterations: int = 3  # latent / kernel alternations per level
    weight: float = 2e-3  # the ℓ0 weight on gradients, divided by ``weight_decay`` after each alternation
    weight_decay: float = 1.1
    min_weight: float = 1e-4
    beta_rate: float = 4.0  # growth of the half-quadratic penalty, from 2 x weight to ``beta_max``
    beta_max: float = 1e4
    ridge: float = 0.5  # the kernel fit's damping, relative to the selected gradients' power
    per_bin: float = 20.0  # edges kept per orientation bin, per px of the level's kernel (Cho & Lee's rule)
    cut: float = 0.1  # kernel values below this share of the peak are dropped after each fit
    min_component: float = 0.1  # connected parts of the kernel with less mass are dropped
    final_cut: float = 0.05  # the last kernel's values below this share of its peak are dropped
    saturation: float = 0.97  # pixels this bright (and their kernel-sized neighbourhood) stay out of the kernel fit
    smallest: int = 5  # the kernel side at the coarsest level


def _odd_up(value: float) -> int:
    n = int(math.ceil(value))
    return n + (n % 2 == 0)


def wrap_pad(y: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """``(H, W)`` placed at the top left of a periodic ``shape`` grid, the rest filled by blending linearly across
    the seam, so the grid has no edge where it wraps (the blurred image's border is unknown)."""
    height, width = y.shape
    rows, cols = shape
    t = torch.arange(1, rows - height + 1, dtype=y.dtype, device=y.device)[:, None] / (rows - height + 1)
    y = torch.cat([y, (1 - t) * y[-1:] + t * y[:1]], dim=0)
    t = torch.arange(1, cols - width + 1, dtype=y.dtype, device=y.device)[None, :] / (cols - width + 1)
    return torch.cat([y, (1 - t) * y[:, -1:] + t * y[:, :1]], dim=1)


def _select(gx: torch.Tensor, gy: torch.Tensor, threshold: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    keep = (gx * gx + gy * gy) >= threshold.reshape(-1, 1, 1)
    return gx * keep, gy * keep


def _edge_threshold(y: torch.Tensor, count: int) -> float:
    """Cho & Lee's threshold on squared gradients: the largest that keeps ``count`` pixels in each of four
    orientation bins of ``y`` (0 when a bin has fewer)."""
    gx, gy = y[:-1, 1:] - y[:-1, :-1], y[1:, :-1] - y[:-1, :-1]
    power = (gx * gx + gy * gy).flatten()
    angle = torch.atan2(gy, gx).remainder(math.pi).flatten()
    bins = (angle / (math.pi / 4)).long().clamp(max=3)
    values = []
    for b in range(4):
        chosen = power[bins == b]
        if chosen.numel() < count:
            return 0.0
        values.append(chosen.topk(count).values[-1])
    return float(min(values))


def _clean(kernel: np.ndarray, cut: float, min_component: float) -> np.ndarray:
    """Non-negative, below ``cut`` of the peak zeroed, 8-connected parts of less than ``min_component`` of the
    mass dropped, summing to 1 (a delta if nothing is left)."""
    kernel = np.clip(np.nan_to_num(kernel, nan=0.0, posinf=0.0, neginf=0.0), 0, None)
    if kernel.max() <= 0:
        out = np.zeros_like(kernel)
        out[kernel.shape[0] // 2, kernel.shape[1] // 2] = 1
        return out
    kernel = np.where(kernel < cut * kernel.max(), 0, kernel)
    kernel = kernel / kernel.sum()
    labels, count = ndimage.label(kernel > 0, structure=np.ones((3, 3)))
    if count > 1:
        mass = ndimage.sum(kernel, labels, index=np.arange(1, count + 1))
        small = np.isin(labels, 1 + np.flatnonzero(mass < min_component))
        if not small.all():
            kernel = np.where(small, 0, kernel)
    return kernel / kernel.sum()


def _dilate(mask: torch.Tensor, reach: int) -> torch.Tensor:
    """A boolean mask ``(H, W)`` grown by ``reach`` px (a square), as floats: box sums by running sums along each
    axis, so the cost does not grow with the reach."""
    x = mask.double()
    window = 2 * reach + 1
    running = F.pad(x, (reach + 1, reach, 0, 0)).cumsum(1)
    x = running[:, window:] - running[:, :-window]
    running = F.pad(x, (0, 0, reach + 1, reach)).cumsum(0)
    x = running[window:] - running[:-window]
    return (x > 0.5).float()


def resize_kernels(kernels: torch.Tensor, size: int) -> torch.Tensor:
    """Kernels ``(B, k, k)`` scaled about their centre onto ``(B, size, size)`` (bilinear), summing to 1."""
    old = kernels.shape[-1]
    factor = (size - 1) / max(old - 1, 1) if old > 1 else 1.0
    coords = (torch.arange(size, dtype=kernels.dtype) - (size - 1) / 2) / factor / ((old - 1) / 2 if old > 1 else 1)
    grid_y, grid_x = torch.meshgrid(coords, coords, indexing="ij")
    grid = torch.stack([grid_x, grid_y], dim=-1)[None].expand(kernels.shape[0], -1, -1, -1)
    out = F.grid_sample(kernels[:, None], grid.to(kernels), mode="bilinear", align_corners=True)[:, 0].clamp(min=0)
    return out / out.sum(dim=(-2, -1), keepdim=True).clamp(min=1e-12)


def _latent(
    spectrum: torch.Tensor,
    otf: torch.Tensor,
    start: torch.Tensor,
    weight: float,
    settings: L0Settings,
) -> torch.Tensor:
    """``argmin_S ||k * S - y||^2 + weight ||grad S||_0`` on the periodic grid by half-quadratic splitting (Xu,
    Lu & Xu 2011): ``spectrum`` is the padded observation's rfft2, one per batch entry."""
    size = start.shape[-2:]
    numerator = otf.conj() * spectrum
    otf_power = otf.abs().pow(2)
    difference = gradient_power(tuple(size), start)[0]
    latent = start
    beta = 2 * weight
    while beta < settings.beta_max:
        gx, gy = gradients(latent)
        small = (gx * gx + gy * gy) < weight / beta
        gx, gy = gx.masked_fill(small, 0), gy.masked_fill(small, 0)
        update = numerator + beta * torch.fft.rfft2(adjoint_gradients(gx, gy))
        latent = torch.fft.irfft2(update / (otf_power + beta * difference), s=tuple(size))
        beta *= settings.beta_rate
    return latent


def _fit(
    latent: torch.Tensor,
    observed: tuple[torch.Tensor, torch.Tensor],
    threshold: torch.Tensor,
    sizes: list[int],
    settings: L0Settings,
    sharp_valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """Closed-form kernels ``argmin_k sum_d ||k * sel(d S) - d y||^2 + ridge ||k||^2`` in the Fourier domain, each
    cropped to its own side and cleaned (:func:`_clean`); returned on the largest side, zero-padded."""
    size = latent.shape[-2:]
    sx, sy = _select(*gradients(latent), threshold)
    if sharp_valid is not None:
        sx, sy = sx * sharp_valid, sy * sharp_valid
    fx, fy = torch.fft.rfft2(sx), torch.fft.rfft2(sy)
    numerator = fx.conj() * observed[0] + fy.conj() * observed[1]
    power = fx.abs().pow(2) + fy.abs().pow(2)
    ridge = settings.ridge * (sx * sx + sy * sy).sum(dim=(-2, -1), keepdim=True).clamp(min=1e-12)
    full = torch.fft.irfft2(numerator / (power + ridge), s=tuple(size))
    largest = max(sizes)
    out = torch.zeros(len(sizes), largest, largest, dtype=torch.float64)
    for i, side in enumerate(sizes):
        r = side // 2
        crop = torch.roll(full[i], shifts=(r, r), dims=(0, 1))[:side, :side]
        cleaned = _clean(crop.double().numpy(), settings.cut, settings.min_component)
        offset = (largest - side) // 2
        out[i, offset : offset + side, offset : offset + side] = torch.from_numpy(cleaned)
    return out.to(latent.dtype)


def l0_estimate(gray: torch.Tensor, sizes: list[int] | int, settings: L0Settings | None = None) -> torch.Tensor:
    """Kernels of one luminance image ``(H, W)`` in [0, 1], one per size bound in ``sizes`` (odd), each estimated
    coarse to fine with the ℓ0 gradient prior. Returns ``(len(sizes), K, K)``, ``K = max(sizes)``: each kernel
    spanning at most its own bound, centred on the grid by its centre of mass, summing to 1.
    """
    settings = L0Settings() if settings is None else settings
    sizes = [sizes] if isinstance(sizes, int) else list(sizes)
    if any(s % 2 == 0 or s < 3 for s in sizes):
        raise ValueError(f"kernel sizes must be odd and at least 3, got {sizes}")
    gray = gray.float()
    largest = max(sizes)
    ratio = math.sqrt(0.5)
    levels = max(int(math.floor(math.log(settings.smallest / largest) / math.log(ratio))), 0)
    saturated = gray >= settings.saturation
    kernels = None
    for level in range(levels, -1, -1):
        scale = ratio**level
        level_sizes = [max(3, _odd_up(s * scale)) for s in sizes]
        side = max(level_sizes)
        if level:
            shape = (max(8, round(gray.shape[0] * scale)), max(8, round(gray.shape[1] * scale)))
            y = F.interpolate(gray[None, None], size=shape, mode="bilinear", antialias=True, align_corners=False)[0, 0]
        else:
            y = gray
        if kernels is None:
            kernels = torch.zeros(len(sizes), side, side)
            middle = side // 2
            kernels[:, middle - 1, middle - 1 : middle + 1] = 0.5  # Pan et al.'s start: two pixels, not a delta
        else:
            kernels = resize_kernels(kernels, side)
        # each size bound keeps to its own support at this level
        for i, s in enumerate(level_sizes):
            off = (side - s) // 2
            keep = torch.zeros(side, side)
            keep[off : off + s, off : off + s] = 1
            kernels[i] = kernels[i] * keep
            if not float(kernels[i].sum()) > 0:  # all its mass fell outside its bound: start it again
                kernels[i] = 0
                kernels[i, side // 2, side // 2] = 1
            kernels[i] = kernels[i] / kernels[i].sum()
        grid = (fast_fft_length(y.shape[0] + side + 8), fast_fft_length(y.shape[1] + side + 8))
        padded = wrap_pad(y, grid)
        spectrum = torch.fft.rfft2(padded)[None]
        # the observation's gradients, zero near saturated pixels and on the blended seam
        valid = torch.zeros(grid)
        valid[1 : y.shape[0] - 1, 1 : y.shape[1] - 1] = 1
        sharp_valid = None  # where the latent's gradients may enter the fit
        if saturated.any():
            small = F.interpolate(saturated[None, None].float(), size=y.shape, mode="area")[0, 0] > 0
            # a saturated pixel's latent edges reach one kernel radius; the data they blur, two
            sharp_valid = torch.ones(grid)
            sharp_valid[: y.shape[0], : y.shape[1]] -= _dilate(small, side // 2)
            valid[: y.shape[0], : y.shape[1]] *= 1 - _dilate(small, 2 * (side // 2))
        ox, oy = gradients(padded)
        observed = (torch.fft.rfft2(ox * valid)[None], torch.fft.rfft2(oy * valid)[None])
        count = max(int(settings.per_bin * side), 10)
        threshold = torch.full((len(sizes),), _edge_threshold(y, count))
        weight = settings.weight
        latent = padded[None].expand(len(sizes), -1, -1).contiguous()
        for _ in range(settings.iterations):
            otf = psf_to_otf(kernels, grid)[:, 0]
            latent = _latent(spectrum, otf, latent, weight, settings)
            power = torch.stack(gradients(latent)).pow(2).sum(0)
            empty = (power >= threshold.reshape(-1, 1, 1)).flatten(1).sum(1) == 0
            threshold = torch.where(empty, threshold * 0.81, threshold)
            kernels = _fit(latent, observed, threshold, level_sizes, settings, sharp_valid)
            weight = max(weight / settings.weight_decay, settings.min_weight)
            threshold = threshold / 1.1
        kernels = center_kernels(kernels, grow=False)
    kernels = torch.where(kernels < settings.final_cut * kernels.amax(dim=(-2, -1), keepdim=True), 0, kernels)
    kernels = kernels / kernels.sum(dim=(-2, -1), keepdim=True).clamp(min=1e-12)
    kernels = center_kernels(kernels, grow=False)
    broken = ~torch.isfinite(kernels).all(dim=-1).all(dim=-1) | (kernels.sum(dim=(-2, -1)) <= 0)
    if bool(broken.any()):  # a degenerate estimate is no estimate: a delta, which the caller's judge sees as "no blur"
        kernels[broken] = 0
        kernels[broken, largest // 2, largest // 2] = 1
    return kernels
