"""Blur kernels: deterministic builders and random samplers.

A kernel batch is a float32 tensor ``(B, k, k)`` with odd ``k``, non-negative, summing to 1 and centred: its
centre of mass lies within half a pixel of the middle pixel, so blurring does not shift the image (a network that
learns from shifted pairs learns to shift). Builders turn per-sample parameters into kernels
(``line_kernels(length, angle, size)``); samplers draw the parameters from an explicit :class:`torch.Generator`
and call a builder, with one signature for every kind::

    sampler(batch, size, generator=None, device=None, **ranges) -> Tensor (B, k, k)

Parameters are drawn on the generator's device (the CPU by default), so one seed gives the same kernels on every
device. Geometry: ``x`` grows to the right, ``y`` downwards, angles are in degrees counter-clockwise as displayed.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable

import kornia
import torch
import torchvision

from deblur.ops.conv import blur, check_kernel_size
from deblur.ops.psf import (  # noqa: F401 (re-exported)
    _coords,
    center_of_mass,
    disk_kernels,
    gaussian_kernels,
    normalize_kernels,
)

KernelSampler = Callable[..., torch.Tensor]


def rasterize_path(points: torch.Tensor, size: int, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Splat weighted points onto a kernel grid with bilinear weights (sub-pixel accurate).

    The points are first moved so that their weighted mean sits on the middle pixel; bilinear splatting keeps
    the mean, so the kernel's centre of mass is exactly centred. Paths that would leave the grid are shrunk about
    that centre to fit.

    Args:
        points: ``(B, N, 2)`` positions ``(x, y)`` in pixels, any origin.
        size: odd kernel side ``k``.
        weights: ``(B, N)`` non-negative weights (time spent at each point); ``None`` means equal.

    Returns:
        ``(B, k, k)`` kernels summing to 1.
    """
    check_kernel_size(size)
    batch, count, _ = points.shape
    points = points.float()
    if weights is None:
        weights = torch.ones(batch, count, device=points.device)
    weights = weights.float() / weights.float().sum(dim=1, keepdim=True)
    centered = points - (points * weights[..., None]).sum(dim=1, keepdim=True)
    half = size // 2
    extent = (centered.abs().amax(dim=-1) * (weights > 0)).amax(dim=1)  # (B,) Chebyshev radius of the path
    centered = centered * (half / extent.clamp(min=half))[:, None, None]
    x, y = centered[..., 0] + half, centered[..., 1] + half
    x0, y0 = x.floor().clamp(0, size - 2), y.floor().clamp(0, size - 2)
    fx, fy = x - x0, y - y0
    base = (torch.arange(batch, device=points.device) * size * size)[:, None]
    flat = torch.zeros(batch * size * size, device=points.device)
    for dy, dx, share in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        index = base + ((y0 + dy) * size + (x0 + dx)).long()
        flat.index_add_(0, index.reshape(-1), (share * weights).reshape(-1))
    return normalize_kernels(flat.view(batch, size, size).clamp_min(0))


def line_kernels(length: torch.Tensor, angle: torch.Tensor, size: int) -> torch.Tensor:
    """Linear motion: a segment of ``length`` pixels through the middle at ``angle`` degrees.

    kornia's ``get_motion_kernel2d`` draws a line exactly as long as the kernel, one length per call, and rotates
    it by resampling; a training batch needs per-sample sub-pixel lengths shorter than the canvas, so the segment
    is rasterised here with the same bilinear splatting as camera-shake paths.

    Args:
        length: ``(B,)`` lengths in pixels, at most ``size - 1`` (longer ones are shrunk to fit); 0 gives a delta.
        angle: ``(B,)`` angles in degrees, counter-clockwise as displayed.
        size: odd kernel side.

    Returns:
        ``(B, k, k)`` kernels.

    Example:
        >>> line_kernels(torch.tensor([2.0]), torch.tensor([0.0]), 3)[0, 1]
        tensor([0.2500, 0.5000, 0.2500])
    """
    check_kernel_size(size)
    count = 8 * size  # samples 1/8 px apart at most: the midpoint rule is then exact to ~1e-4
    t = (torch.arange(count, device=length.device, dtype=torch.float32) + 0.5) / count - 0.5  # (N,) in (-1/2, 1/2)
    theta = torch.deg2rad(angle.float())
    along = length.float()[:, None] * t  # (B, N)
    points = torch.stack([along * torch.cos(theta)[:, None], -along * torch.sin(theta)[:, None]], dim=-1)
    return rasterize_path(points, size)


def shake_paths(anxiety: torch.Tensor, generator: torch.Generator | None = None, steps: int = 96) -> torch.Tensor:
    """Random camera-shake trajectories, after Boracchi & Foi (2012), "Modeling the performance of image
    restoration from motion blur", IEEE TIP 21(8), the model DeblurGAN used.

    A particle moves at constant speed; at each step its velocity gains a Gaussian random term, a centripetal pull
    towards the start (the hand returning), and, rarely, an impulsive jump that turns it roughly around (pressing
    the shutter). The walk runs in the paper's units, a path 64 px long; callers scale it to the size they need.
    The original takes 2000 steps; this one takes ``steps`` and rescales
    the per-step terms to keep the path statistics (diffusion by ``sqrt(2000 / steps)``, drift and jump rate by
    ``2000 / steps``).

    Args:
        anxiety: ``(B,)`` Boracchi & Foi's anxiety (their default 0.005).
        generator: source of randomness; the walk runs on its device.
        steps: number of steps.

    Returns:
        ``(B, steps + 1, 2)`` positions ``(x, y)``, starting at the origin, 64 units of path in all.
    """
    device = anxiety.device
    batch = anxiety.shape[0]
    ratio = 2000.0 / steps
    speed = 64.0 / steps  # the paper's MaxTotalLength of 64 px
    u = torch.rand(batch, 4, generator=generator, device=device)
    centripetal = 0.7 * u[:, 0] * ratio * anxiety * speed
    gaussian_term = 10.0 * u[:, 1] * math.sqrt(ratio) * anxiety * speed
    big_shake_prob = 0.2 * u[:, 2] * anxiety * ratio
    kicks = torch.randn(batch, steps, 2, generator=generator, device=device)
    kicks = torch.complex(kicks[..., 0], kicks[..., 1]) * gaussian_term[:, None]
    jumps = torch.rand(batch, steps, 2, generator=generator, device=device)
    # an abrupt shake adds twice the velocity turned by about 180 degrees: the motion roughly reverses
    turns = torch.where(
        jumps[..., 0] < big_shake_prob[:, None],
        torch.polar(torch.full_like(jumps[..., 1], 2.0), math.pi + (jumps[..., 1] - 0.5)),
        torch.zeros((), dtype=torch.complex64, device=device),
    )
    velocity = torch.polar(torch.full_like(u[:, 3], speed), 2 * math.pi * u[:, 3])
    position = torch.zeros(batch, dtype=torch.complex64, device=device)
    path = [position]
    for t in range(steps):
        velocity = velocity + velocity * turns[:, t] + kicks[:, t] - centripetal * position
        velocity = velocity * (speed / velocity.abs().clamp(min=1e-12))
        position = position + velocity
        path.append(position)
    path = torch.stack(path, dim=1)
    return torch.stack([path.real, path.imag], dim=-1)


def sample_uniform(batch: int, value_range: tuple[float, float], generator: torch.Generator | None) -> torch.Tensor:
    """``(batch,)`` values drawn uniformly from ``[low, high)`` on the generator's device."""
    device = generator.device if generator is not None else None
    low, high = value_range
    return low + (high - low) * torch.rand(batch, generator=generator, device=device)


def _sampler(draw: Callable[..., torch.Tensor]) -> KernelSampler:
    """Make ``draw(batch, size, generator, **ranges)`` a sampler of the common signature (see the module docstring):
    the size is checked before anything is drawn, and the kernels are moved to ``device`` at the end.

    The sampler returns ``(batch, size, size)`` kernels on ``device``; its signature (as ``inspect`` and ``help``
    show it) is ``draw``'s with ``device=None`` after ``generator``.
    """

    @functools.wraps(draw)
    def sampler(
        batch: int,
        size: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        **ranges: tuple[float, float],
    ) -> torch.Tensor:
        check_kernel_size(size)
        return draw(batch, size, generator, **ranges).to(device)

    signature = inspect.signature(draw)
    parameters = list(signature.parameters.values())  # batch, size, generator, then the keyword-only ranges
    device = inspect.Parameter(
        "device", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation="torch.device | str | None"
    )
    sampler.__signature__ = signature.replace(parameters=[*parameters[:3], device, *parameters[3:]])
    return sampler


@_sampler
def random_motion_kernels(
    batch: int, size: int, generator: torch.Generator | None = None, *, length: tuple[float, float] = (0.2, 1.0)
) -> torch.Tensor:
    """Linear motion with uniform random length (fraction of ``size - 1``) and direction.

    Example:
        >>> random_motion_kernels(4, 9, torch.Generator().manual_seed(0)).shape
        torch.Size([4, 9, 9])
    """
    pixels = sample_uniform(batch, length, generator) * (size - 1)
    angle = sample_uniform(batch, (0.0, 180.0), generator)
    return line_kernels(pixels, angle, size)


@_sampler
def random_trajectory_kernels(
    batch: int,
    size: int,
    generator: torch.Generator | None = None,
    *,
    extent: tuple[float, float] = (0.3, 1.0),
    exposure: tuple[float, float] = (0.5, 1.0),
    anxiety: tuple[float, float] = (0.001, 0.005),
    dwell: tuple[float, float] = (0.0, 0.0),
) -> torch.Tensor:
    """Camera shake: a random Boracchi-Foi trajectory, of which the first ``exposure`` fraction is recorded.

    Args:
        extent: the recorded path's larger bounding-box side, as a fraction of ``size - 1``.
        exposure: fraction of the path the shutter stays open for; shorter exposures give simpler kernels.
        anxiety: range of Boracchi & Foi's anxiety: larger values give more erratic, curled paths.
        dwell: range of the strength ``d`` of an uneven speed along the path: the time spent at each point is
            multiplied by ``exp(d g(t))``, ``g`` a smooth random profile of unit variance (8 knots over the path).
            Real camera shake lingers where the hand turns and sweeps fast between, giving bright dots joined by
            faint trails; ``d = 0`` (the default) keeps the walk's own speed and draws no extra random numbers, so
            the default's kernels do not depend on this option.
    """
    target = sample_uniform(batch, extent, generator) * (size - 1)
    fraction = sample_uniform(batch, exposure, generator)
    paths = shake_paths(sample_uniform(batch, anxiety, generator), generator)  # (B, S + 1, 2)
    # resample the polyline so consecutive points are at most 1/4 px apart: the splat then draws a solid stroke
    count = 4 * size
    paths = torch.nn.functional.interpolate(paths.transpose(1, 2), size=count, mode="linear", align_corners=True)
    paths = paths.transpose(1, 2)
    time = torch.linspace(0, 1, count, device=paths.device)
    weights = (time[None, :] <= fraction[:, None]).float()  # the shutter records the first `exposure` of the path
    if dwell[1] > 0:
        strength = sample_uniform(batch, dwell, generator).to(paths.device)
        knots = torch.randn(batch, 1, 8, generator=generator).to(paths.device)
        profile = torch.nn.functional.interpolate(knots, size=count, mode="linear", align_corners=True)[:, 0]
        weights = weights * torch.exp(strength[:, None] * profile)
    kept = weights[..., None] > 0
    span = torch.where(kept, paths, -math.inf).amax(dim=1) - torch.where(kept, paths, math.inf).amin(dim=1)
    paths = paths * (target / span.amax(dim=-1).clamp(min=1e-6))[:, None, None]
    return rasterize_path(paths, size, weights)


@_sampler
def random_gaussian_kernels(
    batch: int, size: int, generator: torch.Generator | None = None, *, sigma: tuple[float, float] = (0.05, 0.33)
) -> torch.Tensor:
    """Isotropic Gaussian blur (kornia ``get_gaussian_kernel2d``), sigma a fraction of ``size // 2``."""
    pixels = (sample_uniform(batch, sigma, generator) * (size // 2)).clamp(min=0.05)
    kernels = kornia.filters.get_gaussian_kernel2d(size, torch.stack([pixels, pixels], dim=-1))
    return normalize_kernels(kernels)


@_sampler
def random_anisotropic_kernels(
    batch: int, size: int, generator: torch.Generator | None = None, *, sigma: tuple[float, float] = (0.05, 0.33)
) -> torch.Tensor:
    """Anisotropic Gaussian blur: independent sigmas (fractions of ``size // 2``) along a random direction."""
    sigma_x = sample_uniform(batch, sigma, generator) * (size // 2)
    sigma_y = sample_uniform(batch, sigma, generator) * (size // 2)
    angle = sample_uniform(batch, (0.0, 180.0), generator)
    return gaussian_kernels(sigma_x, sigma_y, angle, size)


@_sampler
def random_defocus_kernels(
    batch: int, size: int, generator: torch.Generator | None = None, *, radius: tuple[float, float] = (0.15, 1.0)
) -> torch.Tensor:
    """Defocus disks with a radius drawn as a fraction of ``size // 2``."""
    return disk_kernels(sample_uniform(batch, radius, generator) * (size // 2), size)


SAMPLERS: dict[str, KernelSampler] = {
    "motion": random_motion_kernels,
    "trajectory": random_trajectory_kernels,
    "gaussian": random_gaussian_kernels,
    "anisotropic": random_anisotropic_kernels,
    "defocus": random_defocus_kernels,
}
"""Built-in kernel kinds, each ``sampler(batch, size, generator, device, **ranges) -> (B, k, k)``."""


def perturb_kernels(
    kernels: torch.Tensor, strength: float | torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Kernels as an estimator would get them wrong: the errors a model must tolerate when its kernel is estimated.

    Per sample, at ``strength`` ``s`` in [0, 1] (0 leaves a kernel as it is, 1 is the strongest):

    * extent scaled by a factor drawn from ``1 +- 0.15 s`` (bilinear resampling about the middle pixel);
    * smoothed by a Gaussian of standard deviation up to ``s`` pixels;
    * a spurious faint trail: a line through the middle, up to half the canvas long, holding up to ``10 s`` % of
      the mass;
    * shifted by up to ``round(2 s)`` whole pixels along each axis.

    All draws come from ``generator`` (on the CPU), so a seed gives the same errors on every device.

    Args:
        kernels: ``(B, k, k)``, odd ``k``.
        strength: a number or ``(B,)``.

    Returns:
        ``(B, k, k)`` kernels, non-negative and summing to 1 (no longer exactly centred, by design).

    Example:
        >>> k = line_kernels(torch.tensor([8.0]), torch.tensor([30.0]), 15)
        >>> bool(torch.equal(perturb_kernels(k, 0.0, torch.Generator().manual_seed(0)), k))
        True
        >>> round(float(perturb_kernels(k, 1.0, torch.Generator().manual_seed(0)).sum()), 4)
        1.0
    """
    batch, size = kernels.shape[0], kernels.shape[-1]
    device = kernels.device
    s = torch.as_tensor(strength, dtype=torch.float32).flatten().expand(batch).clamp(0, 1)
    draws = torch.rand(batch, 7, generator=generator)  # scale, sigma, trail mass, length, angle, shift y, shift x
    scale = 1 + 0.15 * s * (2 * draws[:, 0] - 1)
    theta = torch.zeros(batch, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 / scale  # output pixel p samples the input at p / scale about the middle
    grid = torch.nn.functional.affine_grid(theta, [batch, 1, size, size], align_corners=True).to(device)
    out = torch.nn.functional.grid_sample(kernels[:, None].float(), grid, align_corners=True)[:, 0].clamp_min(0)
    out = normalize_kernels(out + 1e-12)
    sigma = (s * draws[:, 1]).clamp(min=1e-3)
    smoothing = kornia.filters.get_gaussian_kernel2d(5, torch.stack([sigma, sigma], dim=-1)).to(device)
    out = blur(out[:, None], smoothing, border="constant", method="direct")[:, 0]
    trail = line_kernels(draws[:, 3] * (size - 1) / 2, draws[:, 4] * 180, size).to(device)
    mass = (0.1 * s * draws[:, 2]).to(device)[:, None, None]
    out = (1 - mass) * out + mass * trail
    reach = torch.round(2 * s)
    shifts = torch.round((2 * draws[:, 5:] - 1) * reach[:, None]).long().tolist()
    out = torch.stack([torch.roll(kernel, shift, dims=(0, 1)) for kernel, shift in zip(out, shifts, strict=True)])
    exact = (s == 0).to(device)[:, None, None]
    return torch.where(exact, kernels, normalize_kernels(out.clamp_min(0)))


def kernel_grid(kernels: torch.Tensor, nrow: int | None = None, zoom: int = 4) -> torch.Tensor:
    """A picture of a kernel batch: each kernel scaled to its own maximum, tiled, enlarged ``zoom`` times.

    Args:
        kernels: ``(B, k, k)``.
        nrow: kernels per row (default: a square-ish grid).
        zoom: nearest-neighbour enlargement, so single pixels stay visible.

    Returns:
        A float RGB image ``(3, H, W)`` in [0, 1].
    """
    peaks = kernels.amax(dim=(-2, -1), keepdim=True).clamp(min=1e-12)
    tiles = (kernels / peaks)[:, None].float().cpu()
    tiles = torch.nn.functional.interpolate(tiles, scale_factor=zoom, mode="nearest")
    nrow = nrow or math.ceil(math.sqrt(kernels.shape[0]))
    return torchvision.utils.make_grid(tiles, nrow=nrow, padding=zoom, pad_value=0.25)


__all__ = [
    "SAMPLERS",
    "center_of_mass",
    "disk_kernels",
    "gaussian_kernels",
    "kernel_grid",
    "line_kernels",
    "perturb_kernels",
    "random_anisotropic_kernels",
    "random_defocus_kernels",
    "random_gaussian_kernels",
    "random_motion_kernels",
    "random_trajectory_kernels",
    "rasterize_path",
    "shake_paths",
]
