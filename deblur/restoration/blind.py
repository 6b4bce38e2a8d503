"""Blind restoration, in one place: estimate each photo's kernel, decide how far to trust it, restore with it.

Every threshold and policy of the blind path lives here: when a photo counts as blur-free, how low a self-check may
score before a photo comes back unchanged, how much of the restoration is applied, and what the estimator is told.
:meth:`BlindRestorer.from_file` is the one way from a model file to a blind restorer (``deblur restore``,
``deblur bench --blind`` and ``benchmarks/`` all use it). Why each value is what it is: ``models/deblur_default.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from deblur.config import check_kernel_bound
from deblur.errors import ConfigError
from deblur.ops.deconv import estimate_noise
from deblur.ops.estimate import KernelEstimate, estimate_with_check, luminance
from deblur.ops.estimate.edges import middle_window
from deblur.restoration.models import WithKernel, load_restorer
from deblur.restoration.tiling import module_device, restore_tensor

MIN_CONFIDENCE = 0.7
"""A photo whose self-check agreement is below this comes back unchanged (an estimate that depends on where it is
measured is not trusted)."""

DEFAULT_STRENGTH = 1.0
"""The blend toward the input when the model file recommends none: the whole restoration."""

NO_BLUR = {"no_blur_mass": 0.8, "blur_margin": 0.5, "min_overruling_spread": 1.0}
"""When the estimator answers "no blur" (see :func:`deblur.ops.estimate.estimate_with_check`): an edge-based kernel
with this share of its mass on the middle 3 x 3 px is no blur; an isotropic blur then overrules "no blur" only if it
explains the spectrum this much better (error ratio) and is wider than this (px): a sharp photo is left alone."""

DEFAULT_KERNEL_BOUND = 47
"""The kernel bound of a model whose estimator settings give none (the estimator's own default)."""

MIN_KERNEL_FIT = 7
"""The smallest kernel bound worth estimating (the estimator's coarsest level): a photo whose shorter side is below
twice this comes back unchanged, too small to estimate a blur from."""

DETAIL_LEVEL = 3 / 255
"""A pixel has detail where its second difference (Laplacian) exceeds this and 6 times the estimated noise: a flat
colour or a smooth ramp has none (8-bit steps give at most 2 / 255), so no blur can be measured on it."""

MIN_DETAIL_SHARE = 0.002
"""An estimation window with a smaller share of detailed pixels is blur-free: too little texture to estimate a
kernel from (the estimator would otherwise fit a kernel to quantisation steps, with a confidence of 1)."""


@dataclass
class BlindEstimate:
    """What blind restoration found for one image: the estimator's whole result and how much was applied."""

    found: KernelEstimate  # the estimator's result: kernel, self-check confidence, method, ...
    blur_free: bool  # no blur worth removing: the kernel is a delta and the image is returned as it is
    applied: float  # how much of the restoration was applied: 0 (the input returned) to the strength asked for
    reason: str = ""  # why the image was returned unchanged without an estimate ("" when the estimator ran)

    @property
    def kernel(self) -> torch.Tensor:
        """The estimated kernel ``(k, k)``, centred, summing to 1 (a delta when no blur was found)."""
        return self.found.kernel

    @property
    def confidence(self) -> float:
        """The self-check's agreement, in [0, 1]."""
        return self.found.confidence


def blind_settings(info: dict[str, Any]) -> dict[str, float]:
    """The blind settings a model file recommends (its metadata's ``blind``, from ``deblur export --blind
    --strength S --min-confidence C``): ``{"strength": S, "min_confidence": C}``."""
    given = info.get("blind") or {}
    return {
        "strength": float(given.get("strength", DEFAULT_STRENGTH)),
        "min_confidence": float(given.get("min_confidence", MIN_CONFIDENCE)),
    }


class BlindRestorer:
    """A kernel-aware model with a kernel estimator (its spec's ``estimator``): each image's kernel is estimated
    once from the whole image, then the image is deconvolved and refined tile by tile with that kernel.

    It never trusts an estimate blindly: an image found blur-free, or whose self-check confidence is below
    ``min_confidence``, comes back unchanged, and ``strength`` blends the result toward the input
    (``input + strength (restored - input)``).
    """

    def __init__(
        self,
        net: nn.Module,
        kernel_size: int | None = None,
        strength: float = DEFAULT_STRENGTH,
        min_confidence: float = MIN_CONFIDENCE,
        name: str = "this model",
    ) -> None:
        check_kernel_bound(kernel_size)
        if not 0 <= strength <= 1:
            raise ConfigError(f"strength must be between 0 and 1, got {strength}")
        if getattr(net, "estimator", None) is None:
            raise ConfigError(f"{name} has no kernel estimator: it cannot restore blind (export it with --blind)")
        check_kernel_bound(net.estimator.get("max_size"), "the model's kernel bound")
        self.net, self.kernel_size, self.strength, self.min_confidence = net, kernel_size, strength, min_confidence

    @classmethod
    def from_model(
        cls,
        net: nn.Module,
        info: dict[str, Any],
        kernel_size: int | None = None,
        strength: float | None = None,
        min_confidence: float | None = None,
        name: str = "this model",
    ) -> BlindRestorer:
        """A loaded model and its metadata, with the settings its file recommends unless given here."""
        chosen = blind_settings(info)
        strength = chosen["strength"] if strength is None else strength
        min_confidence = chosen["min_confidence"] if min_confidence is None else min_confidence
        return cls(net, kernel_size, strength, min_confidence, name)

    @classmethod
    def from_file(
        cls,
        model: str | Path | None = None,
        device: str | torch.device = "cpu",
        kernel_size: int | None = None,
        strength: float | None = None,
        min_confidence: float | None = None,
    ) -> BlindRestorer:
        """A blind restorer from a model file (None: the shipped default), as :meth:`from_model`."""
        net, info = load_restorer(model, device)
        name = str(model) if model is not None else "the default model"
        return cls.from_model(net, info, kernel_size, strength, min_confidence, name)

    def estimate(self, image: torch.Tensor) -> BlindEstimate:
        """The kernel of one image ``(1, 3, H, W)`` and what to do with it.

        No estimate is made (the image comes back unchanged, with a ``reason``) at strength 0 and for an image
        whose shorter side is below ``2 * MIN_KERNEL_FIT`` px; a smaller image than the kernel bound allows gets a
        smaller bound (at most half its shorter side). An image without enough detail is blur-free.
        """
        options = dict(self.net.estimator)
        if self.kernel_size is not None:
            options["max_size"] = self.kernel_size
        bound = options.setdefault("max_size", DEFAULT_KERNEL_BOUND)
        side = min(image.shape[-2:])
        if self.strength == 0:
            return _unchanged(bound, "strength 0")
        if side < 2 * MIN_KERNEL_FIT:
            return _unchanged(bound, f"too small to estimate a blur (its shorter side is {side} px)")
        if side <= bound + 1:  # the estimator pads each level by its kernel's side: it must stay below the image's
            options["max_size"] = min(bound, (side // 2) - (1 - side // 2 % 2))
        gray = luminance(image.float().cpu())[0, 0]
        if not _detailed(gray, options.get("region", 512)):
            return BlindEstimate(_delta_estimate(options["max_size"]), True, 0.0)
        found = estimate_with_check(gray, **options, **NO_BLUR)
        blur_free = bool(found.kernel.max() >= 1 - 1e-6)
        applied = 0.0 if blur_free or found.confidence < self.min_confidence else self.strength
        return BlindEstimate(found, blur_free, applied)

    @torch.no_grad()
    def restore(
        self, image: torch.Tensor, tile: int | None, overlap: int, half: bool = False
    ) -> tuple[torch.Tensor, list[BlindEstimate]]:
        """Restore ``(B, 3, H, W)`` images, each with its own estimated kernel; returns them and the estimates."""
        results, estimates = [], []
        device = module_device(self.net)
        for one in image.split(1):
            estimate = self.estimate(one)
            estimates.append(estimate)
            given = one.float().clamp(0, 1)
            if estimate.applied == 0:
                results.append(given)
                continue
            restorer = WithKernel(self.net, estimate.kernel).to(device)
            restored = restore_tensor(
                restorer, one, tile, _blind_overlap(overlap, estimate.kernel.shape[-1], tile), half
            )
            results.append(given + estimate.applied * (restored - given))
        return torch.cat(results), estimates


def _delta_estimate(size: int) -> KernelEstimate:
    """What the estimator reports for "no blur": a centred delta, fully trusted."""
    delta = torch.zeros(size, size)
    delta[size // 2, size // 2] = 1
    return KernelEstimate(delta, 1.0, True, 1.0, "none")


def _unchanged(size: int, reason: str) -> BlindEstimate:
    """An image returned as it is without an estimate, and why."""
    return BlindEstimate(_delta_estimate(size), False, 0.0, reason)


def _detailed(gray: torch.Tensor, region: int) -> bool:
    """Whether the estimation window of a luminance image ``(H, W)`` has enough detail to estimate a blur from
    (:data:`DETAIL_LEVEL`, :data:`MIN_DETAIL_SHARE`)."""
    window = middle_window(gray, region)
    rows = window[2:, 1:-1] - 2 * window[1:-1, 1:-1] + window[:-2, 1:-1]
    laplacian = rows + window[1:-1, 2:] - 2 * window[1:-1, 1:-1] + window[1:-1, :-2]
    level = max(DETAIL_LEVEL, 6 * float(estimate_noise(window[None, None])))
    return float((laplacian.abs() > level).float().mean()) >= MIN_DETAIL_SHARE


def _blind_overlap(overlap: int, kernel_side: int, tile: int | None) -> int:
    """The tile overlap of a blind restoration: the kernel's side (its reach), but never the half tile or more (a
    tile the caller checked against ``overlap`` must not fail for a kernel the caller never chose)."""
    wanted = max(overlap, kernel_side)
    if not tile:
        return wanted
    return max(overlap, min(wanted, (tile - 1) // 2))
