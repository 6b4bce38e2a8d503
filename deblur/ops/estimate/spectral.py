"""Blur judged by the power spectrum: a blurred natural image's spectrum is roughly ``A |K(f)|^2 |f|^-beta + N``, so a
kernel can be scored by how well its transfer function explains the spectrum (:func:`spectral_error`) without any
deconvolution. :func:`welch_power` measures the spectrum, :func:`parametric_kernels` lists the isotropic candidates
(defocus disks and Gaussians) and :func:`parametric_estimate` picks the best of them by the radial spectrum: defocus
leaves rings of spectral zeros and a Gaussian an exponential fall-off, which edge prediction misses on wide, smooth
kernels.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

from deblur.ops.psf import disk_kernels, gaussian_kernels

__all__ = ["SPECTRUM_TILE", "parametric_estimate", "parametric_kernels", "spectral_error", "welch_power"]

SPECTRUM_TILE = 256
"""Side of the tiles whose periodograms are averaged (Welch) into the blurred image's power spectrum."""

_BETAS = (1.4, 1.7, 2.0, 2.3, 2.6)  # natural images' power falls as |f|^-beta, beta near 2


def welch_power(gray: torch.Tensor, tile: int = SPECTRUM_TILE) -> torch.Tensor:
    """The power spectrum of an image ``(H, W)``: the mean periodogram of Hann-windowed, half-overlapping
    ``tile`` x ``tile`` tiles (a smaller image is reflect-padded to one tile). ``-> (tile, tile)``, unshifted."""
    if min(gray.shape) < tile:
        pad = (0, max(0, tile - gray.shape[1]), 0, max(0, tile - gray.shape[0]))
        gray = F.pad(gray[None, None], pad, mode="reflect" if min(gray.shape) > tile // 2 else "replicate")[0, 0]
    tiles = gray.unfold(0, tile, tile // 2).unfold(1, tile, tile // 2).reshape(-1, tile, tile)
    window = torch.hann_window(tile, periodic=False, dtype=gray.dtype, device=gray.device)
    tiles = (tiles - tiles.mean((1, 2), keepdim=True)) * (window[:, None] * window[None])
    return torch.fft.fft2(tiles).abs().pow(2).mean(0)


def _otf_power(kernel: torch.Tensor, tile: int) -> torch.Tensor:
    """``|K(f)|^2`` of a centred kernel ``(k, k)`` on a ``tile`` x ``tile`` grid, unshifted."""
    size = kernel.shape[-1]
    padded = torch.zeros(tile, tile, dtype=kernel.dtype, device=kernel.device)
    padded[:size, :size] = kernel
    return torch.fft.fft2(torch.roll(padded, (-(size // 2), -(size // 2)), (0, 1))).abs().pow(2)


class _Spectral:
    """The frequencies and radial bins of one tile size (cached), for fitting blurred power spectra."""

    def __init__(self, tile: int) -> None:
        fy, fx = torch.fft.fftfreq(tile)[:, None], torch.fft.fftfreq(tile)[None]
        self.radius = torch.sqrt(fx * fx + fy * fy)
        self.bins = (self.radius * tile).round().long()
        self.count = tile // 2 - 8  # radial bins used: from 2 to count - 1 (the corners and DC left out)
        self.band = (self.bins >= 2) & (self.bins < self.count)
        self.tile = tile

    def radial(self, power: torch.Tensor) -> torch.Tensor:
        """Rotational means over bins 2 .. count - 1 of ``(..., tile, tile)`` powers."""
        flat = power.reshape(*power.shape[:-2], -1)[..., self.band.flatten()]
        index = self.bins[self.band] - 2
        sums = torch.zeros(*power.shape[:-2], self.count - 2, dtype=power.dtype).index_add_(-1, index, flat)
        return sums / torch.bincount(index, minlength=self.count - 2).to(power.dtype)


_SPECTRAL: dict[int, _Spectral] = {}


def _spectral(tile: int) -> _Spectral:
    """The cached :class:`_Spectral` of a tile size."""
    return _SPECTRAL.setdefault(tile, _Spectral(tile))


def _spectral_fit(power: torch.Tensor, otf_power: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    """How badly ``A |K(f)|^2 |f|^-beta + N`` explains a blurred power spectrum, on the log scale: the least mean
    squared log error over a small grid of ``beta``, of ``A`` (quantiles of the low band's ratio) and of the noise
    floor ``N``. ``power (F,)`` and ``otf_power (C, F)`` at frequencies ``radius (F,)``; returns ``(C,)``."""
    log_power = power.log()
    low = radius < radius.max() / 3
    floor = power[radius < radius.max() / 4].mean()
    best = torch.full(otf_power.shape[:1], math.inf, dtype=power.dtype)
    for beta in _BETAS:
        model = otf_power * radius.pow(-beta)  # (C, F)
        ratio = (power / model.clamp(min=1e-20))[:, low]
        for quantile in (0.3, 0.5, 0.7):
            scale = ratio.quantile(quantile, dim=-1, keepdim=True)
            for share in (1e-5, 1e-4, 1e-3, 1e-2):
                error = ((scale * model + share * floor).log() - log_power).pow(2).mean(-1)
                best = torch.minimum(best, error)
    return best


@functools.cache
def parametric_kernels(max_size: int) -> tuple[list[str], torch.Tensor]:
    """The isotropic candidates of the spectral search on a ``max_size`` canvas: defocus disks of radius 1 to
    ``max_size // 2`` px (steps of 0.5) and Gaussians of sigma 0.5 to ``max_size / 6`` px (30, log-spaced).
    Returns their names and the kernels ``(N, max_size, max_size)``."""
    radii = torch.arange(1.0, max_size // 2 + 0.25, 0.5)
    sigmas = torch.exp(torch.linspace(math.log(0.5), math.log(max(max_size / 6, 0.6)), 30))
    disks = disk_kernels(radii, max_size)
    gaussians = gaussian_kernels(sigmas, sigmas, torch.zeros_like(sigmas), max_size)
    names = [f"defocus r={r:g}" for r in radii.tolist()] + [f"gaussian sigma={s:.2f}" for s in sigmas.tolist()]
    return names, torch.cat([disks, gaussians])


@functools.cache
def _candidate_spectra(max_size: int, tile: int) -> torch.Tensor:
    """The radial transfer-function powers of :func:`parametric_kernels` on ``tile`` (one FFT per candidate)."""
    return _spectral(tile).radial(torch.stack([_otf_power(k, tile) for k in parametric_kernels(max_size)[1]]))


def parametric_estimate(
    gray: torch.Tensor, max_size: int = 47, tile: int = SPECTRUM_TILE
) -> tuple[str, torch.Tensor, torch.Tensor]:
    """The isotropic kernel (defocus disk or Gaussian) whose transfer function best explains the radial power
    spectrum of an image ``(H, W)``: ``(name, kernel (max_size, max_size), power (tile, tile))``, the power being
    the image's :func:`welch_power`, for :func:`spectral_error` to judge other kernels by."""
    spectral = _spectral(tile)
    power = welch_power(gray.float(), tile)
    names, kernels = parametric_kernels(max_size)
    otfs = _candidate_spectra(max_size, tile)
    radius = torch.arange(2, spectral.count, dtype=power.dtype) / tile
    errors = _spectral_fit(spectral.radial(power), otfs, radius)
    best = int(errors.argmin())
    return names[best], kernels[best], power


def spectral_error(power: torch.Tensor, kernel: torch.Tensor) -> float:
    """How badly ``kernel`` ``(k, k)`` explains a 2-D power spectrum ``(tile, tile)`` (:func:`welch_power`): the
    log-scale misfit of the blurred power-law model at every frequency of the radial band, so that anisotropic
    kernels such as motion blur are judged by their direction too. Lower is better."""
    spectral = _spectral(power.shape[-1])
    band = spectral.band
    otf_power = _otf_power(kernel.float(), spectral.tile)[band][None]
    return float(_spectral_fit(power[band], otf_power, spectral.radius[band])[0])
