"""Blind restoration, in one place: estimate each photo's kernel, decide how far to trust it, restore with it.

Every threshold and policy of the blind path lives here: when a photo counts as blur-free, how low a self-check may
score before a photo comes back unchanged, how much of the restoration is applied, and what the estimator is told.
:meth:`BlindRestorer.from_file` is the one way from a model file to a blind restorer (``deblur restore``,
``deblur bench --blind`` and ``benchmarks/`` all use it). Why each value is what it is: ``models/deblur_default.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from deblur.config import check_kernel_bound
from deblur.errors import ConfigError
from deblur.nets.critic import pessimistic_gain
from deblur.ops.deconv import estimate_noise
from deblur.ops.estimate import KernelEstimate, central_mass, estimate_with_check, luminance
from deblur.ops.estimate.edges import align_to_data, middle_window
from deblur.ops.estimate.hypotheses import estimation_window, kernel_hypotheses
from deblur.restoration.models import WithKernel, load_critic, load_restorer
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


AUTO_KERNEL_BOUND = 99
"""The kernel bound of ``--kernel-size auto`` with a critic: hypotheses of every size up to it compete."""

MIN_GAIN = 2.5
"""A photo whose best hypothesis the critic predicts to gain less than this (dB over the input) comes back
unchanged: below it, a predicted gain is within the critic's error of none (chosen on development sets of
``photos/val20`` with uneven camera shake, the critic's hardest case, so that no photo came back more than 0.3 dB
worse; see ``models/deblur_critic.md``)."""

FULL_GAIN = 4.0
"""From this predicted gain (dB) on, the whole restoration is applied; between :data:`MIN_GAIN` and this, a share
growing linearly with the prediction (a smaller predicted gain is a less certain one)."""

ALIGN_WEIGHT = 2e-3
"""The prior weight of the quick deconvolution that aligns the chosen kernel with the data (whole pixels)."""

JUDGE_SIDE = 128
"""The side of the crops on which the critic judges each hypothesis's restoration."""

JUDGE_CROPS = 3
"""How many crops (the most detailed, apart) each hypothesis is judged on: its predicted gain is the mean of their
predictions less their spread (a hypothesis that helps one part of the photo and harms another is no uniform blur's
kernel)."""


@dataclass
class BlindEstimate:
    """What blind restoration found for one image: the estimator's whole result and how much was applied."""

    found: KernelEstimate  # the estimator's result: kernel, self-check confidence, method, ...
    blur_free: bool  # no blur worth removing: the kernel is a delta and the image is returned as it is
    applied: float  # how much of the restoration was applied: 0 (the input returned) to the strength asked for
    reason: str = ""  # why the image was returned unchanged without an estimate ("" when the estimator ran)
    predicted_gain: float | None = None  # the critic's predicted gain of the chosen hypothesis (dB; None: no critic)
    candidates: dict[str, float] = field(default_factory=dict)  # every hypothesis's predicted gain (dB)

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

    It never trusts an estimate blindly. With a ``critic`` (the default model's), every kernel hypothesis is judged
    by its predicted gain, and the best one is applied at a share of ``strength`` that grows with that gain (none
    below :data:`MIN_GAIN`). Without one, an image found blur-free, or whose self-check confidence is below
    ``min_confidence``, comes back unchanged, and ``strength`` blends the result toward the input
    (``input + strength (restored - input)``). ``box`` ``(top, left, height, width)`` is where to estimate.
    """

    def __init__(
        self,
        net: nn.Module,
        kernel_size: int | None = None,
        strength: float = DEFAULT_STRENGTH,
        min_confidence: float = MIN_CONFIDENCE,
        name: str = "this model",
        critic: nn.Module | None = None,
        box: tuple[int, int, int, int] | None = None,
    ) -> None:
        check_kernel_bound(kernel_size)
        if not 0 <= strength <= 1:
            raise ConfigError(f"strength must be between 0 and 1, got {strength}")
        if getattr(net, "estimator", None) is None:
            raise ConfigError(f"{name} has no kernel estimator: it cannot restore blind (export it with --blind)")
        check_kernel_bound(net.estimator.get("max_size"), "the model's kernel bound")
        if box is not None and (len(box) != 4 or min(box[2:]) < 2 * MIN_KERNEL_FIT or min(box[:2]) < 0):
            raise ConfigError(f"the estimation region must be TOP,LEFT,HEIGHT,WIDTH inside the photo, got {box}")
        self.net, self.kernel_size, self.strength, self.min_confidence = net, kernel_size, strength, min_confidence
        self.critic, self.box = critic, box

    @classmethod
    def from_model(
        cls,
        net: nn.Module,
        info: dict[str, Any],
        kernel_size: int | None = None,
        strength: float | None = None,
        min_confidence: float | None = None,
        name: str = "this model",
        critic: nn.Module | None = None,
        box: tuple[int, int, int, int] | None = None,
    ) -> BlindRestorer:
        """A loaded model and its metadata, with the settings its file recommends unless given here."""
        chosen = blind_settings(info)
        strength = chosen["strength"] if strength is None else strength
        min_confidence = chosen["min_confidence"] if min_confidence is None else min_confidence
        return cls(net, kernel_size, strength, min_confidence, name, critic, box)

    @classmethod
    def from_file(
        cls,
        model: str | Path | None = None,
        device: str | torch.device = "cpu",
        kernel_size: int | None = None,
        strength: float | None = None,
        min_confidence: float | None = None,
        box: tuple[int, int, int, int] | None = None,
    ) -> BlindRestorer:
        """A blind restorer from a model file (None: the shipped default) and the critic it names, as
        :meth:`from_model`."""
        net, info = load_restorer(model, device)
        name = str(model) if model is not None else "the default model"
        critic = load_critic(info, model, device)
        return cls.from_model(net, info, kernel_size, strength, min_confidence, name, critic, box)

    def estimate(self, image: torch.Tensor) -> BlindEstimate:
        """The kernel of one image ``(1, 3, H, W)`` and what to do with it.

        No estimate is made (the image comes back unchanged, with a ``reason``) at strength 0 and for an image
        whose shorter side is below ``2 * MIN_KERNEL_FIT`` px; a smaller image than the kernel bound allows gets a
        smaller bound (at most half its shorter side). An image without enough detail is blur-free. With a critic,
        every kernel hypothesis is judged by it (:meth:`judge`) and the best one applied by its predicted gain;
        without one, the estimator's self-check decides.
        """
        options = dict(self.net.estimator)
        if self.kernel_size is not None:
            options["max_size"] = self.kernel_size
        default_bound = AUTO_KERNEL_BOUND if self.critic is not None else DEFAULT_KERNEL_BOUND
        bound = options.setdefault("max_size", default_bound)
        side = min(image.shape[-2:])
        if self.strength == 0:
            return _unchanged(bound, "strength 0")
        if side < 2 * MIN_KERNEL_FIT:
            return _unchanged(bound, f"too small to estimate a blur (its shorter side is {side} px)")
        if side <= bound + 1:  # the estimator pads each level by its kernel's side: it must stay below the image's
            options["max_size"] = min(bound, (side // 2) - (1 - side // 2 % 2))
        gray = luminance(image.float().cpu())[0, 0]
        if self.box is not None:
            top, left, height, width = self.box
            if top + height > gray.shape[0] or left + width > gray.shape[1]:
                raise ConfigError(
                    f"the estimation region {self.box} (top, left, height, width) reaches outside the "
                    f"{gray.shape[1]}x{gray.shape[0]} photo"
                )
        if not _detailed(gray, options.get("region", 512)):
            return BlindEstimate(_delta_estimate(options["max_size"]), True, 0.0)
        if self.critic is not None:
            return self._estimate_judged(image, gray, options["max_size"], options.get("region", 512))
        found = estimate_with_check(gray, **options, **NO_BLUR)
        blur_free = bool(found.kernel.max() >= 1 - 1e-6)
        applied = 0.0 if blur_free or found.confidence < self.min_confidence else self.strength
        return BlindEstimate(found, blur_free, applied)

    def _estimate_judged(self, image: torch.Tensor, gray: torch.Tensor, bound: int, region: int) -> BlindEstimate:
        """Every hypothesis of :func:`kernel_hypotheses` judged by the critic; the best applied by its gain."""
        hypotheses = kernel_hypotheses(gray, bound, region, self.box)
        if not hypotheses:
            return _unchanged(bound, "too small to estimate a blur")
        gains = self.judge(image, hypotheses)
        best = max(gains, key=gains.get)
        gain = gains[best]
        trust = min(max((gain - MIN_GAIN) / (FULL_GAIN - MIN_GAIN), 0.0), 1.0)
        # a kernel whose centre of mass is off (faint parts cut or misplaced) shifts the whole photo, which the
        # critic's measurements cannot see: the coarse content of the data says where the middle is
        window = estimation_window(gray, region, self.box)
        kernel = align_to_data(window, hypotheses[best], ALIGN_WEIGHT) if min(window.shape) > 32 else hypotheses[best]
        found = KernelEstimate(kernel, trust, False, central_mass(kernel), best)
        return BlindEstimate(found, False, self.strength * trust, "", gain, gains)

    @torch.no_grad()
    def judge(self, image: torch.Tensor, hypotheses: dict[str, torch.Tensor]) -> dict[str, float]:
        """The critic's predicted gain (dB over the input) of restoring ``(1, 3, H, W)`` with each kernel: over the
        image's :data:`JUDGE_CROPS` most detailed crops of :data:`JUDGE_SIDE` px, each restored with the context its
        kernel reaches, the mean prediction less the predictions' standard deviation."""
        if self.critic is None:
            raise ConfigError("judging hypotheses needs a critic")
        device = module_device(self.net)
        reach = max(k.shape[-1] for k in hypotheses.values()) // 2 + 16
        photo = image[0].float().cpu()
        where = judge_crops(photo, JUDGE_SIDE, JUDGE_CROPS, reach)
        blurred = where.crops(where.windows(photo)).to(device)
        gains = {}
        for name, kernel in hypotheses.items():
            # each kernel restores its crops with the context it reaches, no more (a small kernel's costs less)
            own = where.reaching(kernel.shape[-1] // 2 + 16, *photo.shape[-2:])
            context = own.windows(photo).to(device)
            kernels = kernel.float()[None].expand(len(context), -1, -1).to(device)
            restored = own.crops(self.net(context, kernels).float().clamp(0, 1))
            gains[name] = pessimistic_gain(self.critic(blurred, restored, kernels).float())
        return gains

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


@dataclass
class JudgeCrops:
    """Where the critic looks: ``side`` x ``side`` crops at ``(top, left)``, each inside a context window of one
    size (``height`` x ``width``, at ``(context_top, context_left)``) that gives the restoration the reach of the
    kernel. ``places`` holds ``(context_top, context_left, top, left)`` per crop."""

    places: list[tuple[int, int, int, int]]
    side: int
    height: int
    width: int

    def reaching(self, reach: int, image_height: int, image_width: int) -> JudgeCrops:
        """The same crops within context windows that reach ``reach`` px around them (where the image allows)."""
        height, width = min(image_height, self.side + 2 * reach), min(image_width, self.side + 2 * reach)
        places = [
            (min(max(0, top - reach), image_height - height), min(max(0, left - reach), image_width - width), top, left)
            for _, _, top, left in self.places
        ]
        return JudgeCrops(places, self.side, height, width)

    def windows(self, image: torch.Tensor) -> torch.Tensor:
        """The context windows of ``(3, H, W)``: ``(N, 3, height, width)``."""
        return torch.stack([image[:, t : t + self.height, c : c + self.width] for t, c, _, _ in self.places])

    def crops(self, windows: torch.Tensor) -> torch.Tensor:
        """The judged crops of context windows (or of their restorations): ``(N, 3, side, side)``."""
        side = self.side
        return torch.stack(
            [
                w[:, top - t : top - t + side, left - c : left - c + side]
                for w, (t, c, top, left) in zip(windows, self.places, strict=True)
            ]
        )


def judge_crops(image: torch.Tensor, side: int, count: int, reach: int) -> JudgeCrops:
    """Up to ``count`` crops of ``(3, H, W)`` for the critic, the most detailed first, none overlapping another,
    each within a context window reaching ``reach`` px around it where the image allows."""
    height, width = image.shape[-2:]
    side = min(side, height, width)
    context_height, context_width = min(height, side + 2 * reach), min(width, side + 2 * reach)
    gray = luminance(image[None].float())[0, 0]
    detail = F.pad((gray[:, 1:] - gray[:, :-1])[:-1].abs() + (gray[1:, :] - gray[:-1, :])[:, :-1].abs(), (0, 1, 0, 1))
    stride = max(1, side // 4)
    score = F.avg_pool2d(detail[None, None], side, stride=stride)[0, 0]
    places = []
    for _ in range(count):
        index = int(score.argmax())
        row, col = divmod(index, score.shape[1])
        if score[row, col] == -math.inf:
            break
        top, left = row * stride, col * stride
        context_top = min(max(0, top - reach), height - context_height)
        context_left = min(max(0, left - reach), width - context_width)
        places.append((context_top, context_left, top, left))
        score[max(0, row - 3) : row + 4, max(0, col - 3) : col + 4] = -math.inf  # the next one apart from it
    return JudgeCrops(places, side, context_height, context_width)


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
