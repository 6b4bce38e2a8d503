"""Several kernel hypotheses per image, since no single estimator is right for every blur: the ℓ0 estimator
(:mod:`~deblur.ops.estimate.l0`; camera shake) at full size and, for kernels beyond :data:`FULL_SIZE_BOUND`, at half
size on a window twice as wide, the edge-based estimator (:mod:`~deblur.ops.estimate.edges`; linear motion), and the
best isotropic kernel of the spectral search (:mod:`~deblur.ops.estimate.spectral`; defocus, Gaussian). Each works on a
window chosen for its edges (:func:`edge_window`) or given by the caller. Which hypothesis to trust, if any, is
decided downstream, by restoring with each and judging the results (:mod:`deblur.restoration.blind`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from deblur.ops.estimate.edges import EdgeSettings, estimate_one
from deblur.ops.estimate.l0 import L0Settings, l0_estimate, resize_kernels
from deblur.ops.estimate.spectral import parametric_estimate
from deblur.ops.psf import center_kernels

__all__ = ["FULL_SIZE_BOUND", "SMALLER_BOUNDS", "edge_window", "estimation_window", "kernel_hypotheses"]

FULL_SIZE_BOUND = 47
"""The largest kernel side estimated at full size; a larger bound is estimated on a half-size window (the cost of
the ℓ0 estimator grows with the kernel's area, and wide blurs have little fine detail to lose)."""


SMALLER_BOUNDS = (31,)
"""Tighter bounds the ℓ0 estimator also runs at (in one batch): it estimates best with a bound near the true size."""


EDGE_SETTINGS = EdgeSettings(iterations=3)
"""The edge-based hypothesis's settings: three rounds a level (its linear-motion kernels are as good as with five;
the ℓ0 hypotheses cover camera shake)."""


def _crop_to(kernel: torch.Tensor, side: int) -> torch.Tensor:
    """The middle ``side`` x ``side`` of a centred kernel, renormalised (what lies outside is the rare mass the
    final centring moved beyond the bound)."""
    offset = (kernel.shape[-1] - side) // 2
    cropped = kernel[offset : offset + side, offset : offset + side]
    return cropped / cropped.sum().clamp(min=1e-12)


def edge_window(gray: torch.Tensor, region: int) -> tuple[int, int]:
    """The top-left corner of the ``region`` x ``region`` window of ``(H, W)`` with the most strong edges (the
    pixels whose gradient is among the image's top 10%), where kernel estimation has most to fit; ``(0, 0)`` edges
    of a smaller side. Scored on an 8x coarser grid, so it costs a few ms."""
    height, width = gray.shape
    if height <= region and width <= region:
        return 0, 0
    step = 8
    small = F.avg_pool2d(gray[None, None], step, step)[0, 0] if min(height, width) >= 2 * step else gray
    gx = small[:, 1:] - small[:, :-1]
    gy = small[1:, :] - small[:-1, :]
    magnitude = gx[:-1].pow(2) + gy[:, :-1].pow(2)
    strong = ((magnitude >= torch.quantile(magnitude.flatten(), 0.9)) & (magnitude > 1e-8)).float()
    side_y = min(region // step, strong.shape[0])
    side_x = min(region // step, strong.shape[1])
    counts = F.avg_pool2d(strong[None, None], (side_y, side_x), 1)[0, 0]
    # ties go to the window nearest the middle: photographers frame their subject there
    rows = torch.arange(counts.shape[0], dtype=counts.dtype)[:, None] - (counts.shape[0] - 1) / 2
    cols = torch.arange(counts.shape[1], dtype=counts.dtype)[None, :] - (counts.shape[1] - 1) / 2
    score = counts - 1e-4 * (rows.pow(2) + cols.pow(2)).sqrt()
    index = int(score.argmax())
    top, left = divmod(index, counts.shape[1])
    top = min(top * step, max(0, height - region))
    left = min(left * step, max(0, width - region))
    return top, left


def estimation_window(gray: torch.Tensor, region: int, box: tuple[int, int, int, int] | None) -> torch.Tensor:
    """The estimation window: the caller's ``box`` ``(top, left, height, width)``, else :func:`edge_window`'s."""
    if box is not None:
        top, left, height, width = box
        return gray[top : top + height, left : left + width]
    top, left = edge_window(gray, region)
    return gray[top : top + region, left : left + region]


def kernel_hypotheses(
    gray: torch.Tensor,
    max_size: int = 99,
    region: int = 512,
    box: tuple[int, int, int, int] | None = None,
    settings: L0Settings | None = None,
) -> dict[str, torch.Tensor]:
    """Kernel hypotheses for one luminance image ``(H, W)`` in [0, 1], each ``(k, k)`` with odd ``k <= max_size``,
    centred by its centre of mass and summing to 1, keyed by a name saying where it came from (``"l0 31"``,
    ``"l0 47"``, ``"l0 97 half"``, ``"edges 47"``, ``"defocus r=..."`` or ``"gaussian sigma=..."``).

    The window is ``box`` ``(top, left, height, width)`` when given, else the ``region`` x ``region`` window with
    the most edges; the half-size ℓ0 estimate of a bound above :data:`FULL_SIZE_BOUND` looks at a window twice as
    wide, scaled down by 2.
    """
    if max_size < 7 or max_size % 2 == 0:
        raise ValueError(f"max_size must be odd and at least 7, got {max_size}")
    gray = gray.float()
    window = estimation_window(gray, region, box)
    side = min(window.shape)
    full = min(max_size, FULL_SIZE_BOUND, side // 2 - (side // 2 + 1) % 2)
    hypotheses: dict[str, torch.Tensor] = {}
    if full >= 7:
        bounds = [b for b in SMALLER_BOUNDS if b < full] + [full]
        for bound, kernel in zip(bounds, l0_estimate(window, bounds, settings), strict=True):
            hypotheses[f"l0 {bound}"] = _crop_to(kernel, bound)  # centred already: each fits its own bound
        hypotheses[f"edges {full}"] = estimate_one(window, full, max(window.shape), EDGE_SETTINGS)[0]
        name, kernel, _ = parametric_estimate(window, full)
        hypotheses[name] = kernel
    if max_size > FULL_SIZE_BOUND:
        wide = gray if box is not None else estimation_window(gray, 2 * region, None)
        if box is not None:
            top, left, height, width = box
            grow_y, grow_x = height // 2, width // 2
            wide = gray[max(0, top - grow_y) : top + height + grow_y, max(0, left - grow_x) : left + width + grow_x]
        half = F.interpolate(wide[None, None], scale_factor=0.5, mode="bilinear", antialias=True)[0, 0]
        bound = min(
            (max_size + 1) // 2 - (1 - (max_size + 1) // 2 % 2), min(half.shape) // 2 - (min(half.shape) // 2 + 1) % 2
        )
        if bound >= 7:
            small = l0_estimate(half, [bound], settings)
            grown = center_kernels(resize_kernels(small, 2 * bound - 1), grow=False)[0]
            hypotheses[f"l0 {2 * bound - 1} half"] = grown
    return hypotheses
