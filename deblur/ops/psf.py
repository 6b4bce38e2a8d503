"""Point-spread-function builders shared by synthesis and estimation: parametric kernels ``(B, k, k)``, odd ``k``,
non-negative, summing to 1, centred on the middle pixel (Gaussian, defocus disk). :mod:`deblur.synth.kernels`
re-exports them beside its random samplers; :mod:`deblur.ops.estimate` searches over them.
"""

from __future__ import annotations

import torch

from deblur.ops.conv import check_kernel_size

__all__ = ["disk_kernels", "gaussian_kernels", "normalize_kernels"]


def _coords(size: int, device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel offsets from the middle: ``(y, x)``, each ``(k, k)``."""
    r = torch.arange(size, device=device, dtype=torch.float32) - size // 2
    return torch.meshgrid(r, r, indexing="ij")


def normalize_kernels(kernels: torch.Tensor) -> torch.Tensor:
    """Divide each kernel of ``(B, k, k)`` by its sum."""
    return kernels / kernels.sum(dim=(-2, -1), keepdim=True)


def gaussian_kernels(sigma_x: torch.Tensor, sigma_y: torch.Tensor, angle: torch.Tensor, size: int) -> torch.Tensor:
    """Anisotropic Gaussian with standard deviations ``sigma_x`` along ``angle`` and ``sigma_y`` across it.

    kornia's ``get_gaussian_kernel2d`` builds axis-aligned Gaussians (and is used for the isotropic kind); a
    rotated ellipse needs the full quadratic form, evaluated here on the same integer grid.

    Args:
        sigma_x, sigma_y: ``(B,)`` standard deviations in pixels (clamped to at least 0.05).
        angle: ``(B,)`` rotation of the ``sigma_x`` axis in degrees, counter-clockwise as displayed.
        size: odd kernel side; the Gaussian is truncated there and renormalised.

    Returns:
        ``(B, k, k)`` kernels.
    """
    check_kernel_size(size)
    y, x = _coords(size, sigma_x.device)
    theta = torch.deg2rad(angle.float())[:, None, None]
    along = x * torch.cos(theta) - y * torch.sin(theta)
    across = x * torch.sin(theta) + y * torch.cos(theta)
    sx = sigma_x.float().clamp(min=0.05)[:, None, None]
    sy = sigma_y.float().clamp(min=0.05)[:, None, None]
    return normalize_kernels(torch.exp(-0.5 * ((along / sx) ** 2 + (across / sy) ** 2)))


def disk_kernels(radius: torch.Tensor, size: int) -> torch.Tensor:
    """Defocus: a uniform disk of ``radius`` pixels, anti-aliased at its rim.

    Each pixel's weight is its approximate area inside the circle, ``clamp(radius + 1/2 - distance, 0, 1)``,
    exact for a straight edge through the pixel. Radius 0 gives a delta.

    Args:
        radius: ``(B,)`` radii in pixels, at most ``size // 2``.
        size: odd kernel side.

    Returns:
        ``(B, k, k)`` kernels.
    """
    check_kernel_size(size)
    y, x = _coords(size, radius.device)
    distance = torch.sqrt(x**2 + y**2)
    radius = radius.float().clamp(0, size // 2)[:, None, None]
    return normalize_kernels((radius + 0.5 - distance).clamp(0, 1))
