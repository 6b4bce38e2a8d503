"""Blind kernel estimation with a self-check, and its entry point :func:`estimate_kernel`. The edge-based estimate
(:mod:`~deblur.ops.estimate.edges`) and the isotropic spectral search (:mod:`~deblur.ops.estimate.spectral`) compete
on how well each kernel explains the image's power spectrum; an edge-based kernel concentrated on its middle pixels
gives way to "no blur" (a delta), which a blur must then beat by a margin. The confidence is how well two independent
estimates on the left and right parts of the window agree (:func:`kernel_agreement`): a kernel that depends on where
it is measured is no uniform blur to trust. The thresholds of these decisions are keyword arguments, so that the
caller can own the policy; the defaults are this module's constants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F

from deblur.ops.estimate.edges import NO_BLUR_MASS, EdgeSettings, central_mass, estimate_one, middle_window
from deblur.ops.estimate.spectral import parametric_estimate, spectral_error

__all__ = [
    "BLUR_MARGIN",
    "MIN_OVERRULING_SPREAD",
    "KernelEstimate",
    "estimate_kernel",
    "estimate_with_check",
    "kernel_agreement",
    "luminance",
]

BLUR_MARGIN = 0.5
"""Where the edge-based estimate found no blur, an isotropic kernel overrules it only if its spectral error is below
this share of the delta's: sharp photos' best isotropic kernels come close to the delta's error, real mild blurs well
below it."""

MIN_OVERRULING_SPREAD = 1.0
"""... and only if it is wider than this (its standard deviation along an axis, px: a Gaussian's sigma, half a disk's
radius): naturally soft sharp photos match narrower Gaussians, which are not worth deconvolving."""


def luminance(image: torch.Tensor) -> torch.Tensor:
    """BT.601 luma of an RGB batch (a one-channel batch is returned as it is). ``(B, C, H, W) -> (B, 1, H, W)``."""
    if image.shape[1] == 1:
        return image
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=image.dtype, device=image.device).reshape(1, 3, 1, 1)
    return (image[:, :3] * weights).sum(1, keepdim=True)


def kernel_agreement(first: torch.Tensor, second: torch.Tensor, reach: int = 4) -> float:
    """How alike two kernels ``(k, k)`` are up to a shift of at most ``reach`` px: the largest normalised
    cross-correlation, in [0, 1] for non-negative kernels."""
    padded = F.pad(first[None, None], (reach, reach, reach, reach))
    correlation = F.conv2d(padded, second[None, None]).max()
    return float(correlation / (first.norm() * second.norm()).clamp(min=1e-12))


def _spread(kernel: torch.Tensor) -> float:
    """A kernel's standard deviation along an axis, in px (about its centre of mass, both axes averaged)."""
    size = kernel.shape[-1]
    coords = torch.arange(size, dtype=kernel.dtype, device=kernel.device)
    mass = kernel.sum()
    cy, cx = (kernel.sum(1) * coords).sum() / mass, (kernel.sum(0) * coords).sum() / mass
    variance = (kernel.sum(1) * (coords - cy) ** 2).sum() + (kernel.sum(0) * (coords - cx) ** 2).sum()
    return float((variance / (2 * mass)).sqrt())


@dataclass
class KernelEstimate:
    """One image's estimate: the kernel, a confidence in [0, 1], and what the self-check saw."""

    kernel: torch.Tensor  # (k, k), centred by its centre of mass, sums to 1
    confidence: float  # kernel_agreement of the estimates on the left and right parts of the window (1: no blur)
    blur_free: bool  # no blur worth removing was found: the kernel is a delta
    central_mass: float  # share of the edge-based estimate's mass on its middle 3 x 3 pixels
    method: str = "edges"  # which estimate was kept: "edges", "defocus r=...", "gaussian sigma=..." or "none"


def estimate_with_check(
    gray: torch.Tensor,
    max_size: int = 47,
    region: int = 512,
    share: float = 2 / 3,
    *,
    no_blur_mass: float = NO_BLUR_MASS,
    blur_margin: float = BLUR_MARGIN,
    min_overruling_spread: float = MIN_OVERRULING_SPREAD,
    **options: Any,
) -> KernelEstimate:
    """The kernel of one luminance image ``(H, W)`` with a self-check: the better of two estimators, and how far
    to trust it.

    On the middle ``region`` x ``region`` window, the edge-based estimate (:func:`estimate_one`, with the
    :class:`EdgeSettings` fields given as ``options``) and the isotropic spectral search (:func:`parametric_estimate`)
    each give a kernel, and the one whose transfer function best explains the window's power spectrum
    (:func:`spectral_error`) is kept. Where the edge-based kernel has ``no_blur_mass`` of its mass on its middle
    pixels, "no blur" (a delta) competes in its place, its error scaled by ``blur_margin``, and only an isotropic
    kernel wider than ``min_overruling_spread`` px may overrule it. The confidence is the agreement of the same
    estimator run independently on the left and the right ``share`` of the window.
    """
    settings = EdgeSettings(**options)
    window = middle_window(gray, region)
    edges, _ = estimate_one(window, max_size, region, settings, no_blur_mass)
    middle = max_size // 2
    central = central_mass(edges)
    name, isotropic, power = parametric_estimate(window, max_size)
    delta = torch.zeros_like(edges)
    delta[middle, middle] = 1
    # the edge-based estimate competes with the isotropic one; where it found no blur, "no blur" does instead,
    # with a handicap: a blur must explain the spectrum clearly better than no blur does
    candidates = {name: isotropic, "edges": edges} if central < no_blur_mass else {name: isotropic, "none": delta}
    errors = {key: spectral_error(power, kernel) for key, kernel in candidates.items()}
    if "none" in errors:
        errors["none"] *= blur_margin
        if _spread(isotropic) < min_overruling_spread:
            errors[name] = math.inf
    method = min(errors, key=errors.get)
    part = max(round(window.shape[-1] * share), min(window.shape[-1], 4 * max_size // 3))
    halves = (window[:, :part], window[:, -part:])
    if method == "none":
        agreement = 1.0
    elif method == "edges":
        # a lighter run suffices to see whether the two parts agree; without the support step, which makes two parts
        # with different blurs agree almost as well as two parts of one blur
        check = replace(
            settings, iterations=min(3, settings.iterations), refine=min(1, settings.refine), support_steps=0
        )
        first, second = (estimate_one(half, max_size, region, check, no_blur_mass)[0] for half in halves)
        agreement = kernel_agreement(first, second)
    else:
        first, second = (parametric_estimate(half, max_size)[1] for half in halves)
        agreement = kernel_agreement(first, second)
    return KernelEstimate(candidates[method], agreement, method == "none", central, method)


def estimate_kernel(
    blurred: torch.Tensor,
    max_size: int = 47,
    *,
    no_blur_mass: float = NO_BLUR_MASS,
    blur_margin: float = BLUR_MARGIN,
    min_overruling_spread: float = MIN_OVERRULING_SPREAD,
    **options: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Blind kernels of a batch ``(B, C, H, W)`` in [0, 1]: ``(kernels (B, max_size, max_size), confidence (B,))``.

    ``max_size`` (odd) bounds the kernel's side; a bound close to the true size estimates best. Each image's
    luminance goes through :func:`estimate_with_check` with the thresholds and ``options`` (``region``, ``share`` and
    the :class:`EdgeSettings` fields); the confidence is its self-check's, and a blur-free image gets a delta kernel.
    """
    if blurred.ndim != 4:
        raise ValueError(f"expected (B, C, H, W), got {tuple(blurred.shape)}")
    if max_size < 7 or max_size % 2 == 0:
        raise ValueError(f"max_size must be odd and at least 7, got {max_size}")
    thresholds = {
        "no_blur_mass": no_blur_mass,
        "blur_margin": blur_margin,
        "min_overruling_spread": min_overruling_spread,
    }
    gray = luminance(blurred.float())
    estimates = [estimate_with_check(image[0], max_size, **thresholds, **options) for image in gray]
    kernels = torch.stack([estimate.kernel for estimate in estimates]).to(blurred.dtype)
    confidence = torch.tensor([estimate.confidence for estimate in estimates], device=blurred.device)
    return kernels, confidence
