"""Point-spread-function builders shared by synthesis and estimation: parametric kernels ``(B, k, k)``, odd ``k``,
non-negative, summing to 1, centred on the middle pixel (Gaussian, defocus disk). :mod:`deblur.synth.kernels`
re-exports them beside its random samplers; :mod:`deblur.ops.estimate` searches over them. Also the centre of mass
of kernels and their centring on it, deblur's convention for where a kernel sits.
"""

from __future__ import annotations

import torch

from deblur.ops.conv import check_kernel_size

__all__ = ["center_kernel", "center_kernels", "center_of_mass", "disk_kernels", "gaussian_kernels", "normalize_kernels"]


def _coords(size: int, device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel offsets from the middle: ``(y, x)``, each ``(k, k)``."""
    r = torch.arange(size, device=device, dtype=torch.float32) - size // 2
    return torch.meshgrid(r, r, indexing="ij")


def normalize_kernels(kernels: torch.Tensor) -> torch.Tensor:
    """Divide each kernel of ``(B, k, k)`` by its sum."""
    return kernels / kernels.sum(dim=(-2, -1), keepdim=True)


def center_of_mass(kernels: torch.Tensor) -> torch.Tensor:
    """Offsets ``(B, 2)`` as ``(dy, dx)`` of each kernel's centre of mass from its middle pixel.

    Example:
        >>> k = torch.zeros(1, 3, 3); k[0, 1, 2] = 1.0
        >>> center_of_mass(k).tolist()
        [[0.0, 1.0]]
    """
    y, x = _coords(kernels.shape[-1], kernels.device)
    mass = kernels.sum(dim=(-2, -1))
    return torch.stack([(kernels * y).sum(dim=(-2, -1)) / mass, (kernels * x).sum(dim=(-2, -1)) / mass], dim=-1)


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


def center_kernels(kernels: torch.Tensor, grow: bool = True) -> torch.Tensor:
    """Shift each kernel of ``(B, k, k)`` by whole pixels so that its centre of mass is the middle pixel (to within
    half a pixel): the convention every kernel in deblur follows (kernel files, synthesis, estimation).

    A kernel's position is not identifiable from a blurred photo (a kernel shifted by ``d`` and the image shifted back
    by ``d`` blur to the same photo), so this convention is what ties a restored image to its blurred one.

    Args:
        kernels: ``(B, k, k)``, odd ``k``.
        grow: widen the canvas by twice the largest shift so no mass is lost (``(B, k + 2s, k + 2s)``; the same
            tensor back when every kernel is already centred); False keeps ``k``, drops the mass shifted out (zeros
            shifted in) and divides each kernel by its sum.

    Example:
        >>> k = torch.zeros(1, 3, 3); k[0, 1, 2] = 1.0
        >>> center_kernels(k)[0].nonzero().tolist()
        [[2, 2]]
    """
    size = kernels.shape[-1]
    # a kernel of zero mass has no centre (NaN): it stays where it is
    shifts = center_of_mass(kernels).nan_to_num(0.0).round().long().neg().tolist()
    reach = max((abs(v) for pair in shifts for v in pair), default=0)
    if reach == 0 and grow:
        return kernels
    padded = torch.nn.functional.pad(kernels, [reach] * 4)
    out = torch.stack([torch.roll(kernel, shift, dims=(0, 1)) for kernel, shift in zip(padded, shifts, strict=True)])
    if grow:
        return out
    out = out[..., reach : reach + size, reach : reach + size]
    return out / out.sum(dim=(-2, -1), keepdim=True).clamp(min=1e-12)


def center_kernel(kernel: torch.Tensor) -> torch.Tensor:
    """One kernel ``(h, w)`` of any size, even or non-square (as read from a file), centred by
    :func:`center_kernels` on the smallest odd square canvas that holds all its weight.

    Example:
        >>> center_kernel(torch.tensor([[0.0, 0.0, 1.0, 0.0]])).tolist()
        [[1.0]]
        >>> center_kernel(torch.tensor([[0.0, 0.5, 0.5, 0.0]]))[1].tolist()
        [0.5, 0.5, 0.0]
    """
    height, width = kernel.shape
    # a side of 4n + 1 puts the canvas's middle on an even row and column of the kernel as given, so that a centre
    # of mass exactly half-way between two pixels rounds (half to even) to the pixel it rounds to there
    side = (max(height, width) + 2) // 4 * 4 + 1
    canvas = kernel.new_zeros(side, side)
    canvas[:height, :width] = kernel
    centred = center_kernels(canvas[None])[0]
    middle = centred.shape[-1] // 2
    rows, cols = centred.nonzero(as_tuple=True)
    half = int(torch.cat([rows, cols]).sub(middle).abs().max()) if len(rows) else 0
    return centred[middle - half : middle + half + 1, middle - half : middle + half + 1].contiguous()
