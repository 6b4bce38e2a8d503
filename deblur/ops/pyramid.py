"""Image pyramids: one Gaussian pyramid step down (:func:`pyramid_down`) and up (:func:`pyramid_up`), kornia's
``pyrdown`` and ``pyrup`` (a 5x5 binomial blur with reflected borders, and bilinear halving or doubling); the
Laplacian pyramid of Burt & Adelson (1983) as LAPGAN (Denton et al. 2015) uses it, :func:`laplacian_pyramid` (and
its Module twin :class:`LaplacianPyramid`), which splits an image into a coarse image and band-pass images
``h_k = I_k - up(I_{k+1})``; and :func:`collapse_pyramid`, which adds the bands back and rebuilds the image.
Images are ``(B, C, H, W)`` with sides divisible by ``2^levels``.
"""

from __future__ import annotations

import kornia
import torch

__all__ = [
    "LaplacianPyramid",
    "collapse_pyramid",
    "laplacian_pyramid",
    "pyramid_down",
    "pyramid_up",
]


def pyramid_down(image: torch.Tensor) -> torch.Tensor:
    """One Gaussian pyramid step down: blur with the 5x5 binomial kernel ``[1, 4, 6, 4, 1]^2 / 256`` (reflected
    borders), then halve by bilinear resampling, which for even sides is the mean of each 2x2 block.

    Shape:
        ``(B, C, H, W) -> (B, C, H / 2, W / 2)``.

    Example:
        >>> pyramid_down(torch.ones(1, 3, 8, 8)).shape
        torch.Size([1, 3, 4, 4])
    """
    return kornia.geometry.transform.pyrdown(image)


def pyramid_up(image: torch.Tensor) -> torch.Tensor:
    """One Gaussian pyramid step up: double the size by bilinear resampling, then blur with the same 5x5 kernel.

    Shape:
        ``(B, C, H, W) -> (B, C, 2H, 2W)``.

    Example:
        >>> pyramid_up(torch.ones(1, 3, 4, 4)).shape
        torch.Size([1, 3, 8, 8])
    """
    return kornia.geometry.transform.pyrup(image)


def laplacian_pyramid(image: torch.Tensor, levels: int) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """Coarse image, conditionings ``up(I_{k+1})`` and bands ``h_k``, the last two listed coarse to fine.

    ``coarse`` plus the bands rebuild the image exactly: ``I_k = up(I_{k+1}) + h_k`` (see :func:`collapse_pyramid`).

    Args:
        image: ``(B, C, H, W)``, ``H`` and ``W`` divisible by ``2^levels``.
        levels: number of band-pass levels (0: the image itself is the coarse image).

    Returns:
        ``(coarse, conditions, bands)``: ``coarse`` is ``(B, C, H / 2^levels, W / 2^levels)``; ``conditions[i]``
        and ``bands[i]`` are ``(B, C, H / 2^(levels - 1 - i), W / 2^(levels - 1 - i))``.

    Example:
        >>> coarse, conditions, bands = laplacian_pyramid(torch.rand(1, 1, 16, 16), 2)
        >>> tuple(coarse.shape), [tuple(b.shape[-2:]) for b in bands]
        ((1, 1, 4, 4), [(8, 8), (16, 16)])
    """
    gaussians = [image]
    for _ in range(levels):
        gaussians.append(pyramid_down(gaussians[-1]))
    conditions, bands = [], []
    for k in range(levels, 0, -1):
        up = pyramid_up(gaussians[k])
        conditions.append(up)
        bands.append(gaussians[k - 1] - up)
    return gaussians[-1], conditions, bands


def collapse_pyramid(coarse: torch.Tensor, bands: list[torch.Tensor]) -> torch.Tensor:
    """The image a Laplacian pyramid describes: ``I_k = up(I_{k+1}) + h_k``, from the coarse image up.

    Args:
        coarse: the coarsest image ``(B, C, h, w)``.
        bands: band-pass images, coarse to fine, each twice the size of the one before.

    Returns:
        ``(B, C, h 2^L, w 2^L)`` for ``L = len(bands)``.

    Example:
        >>> image = torch.rand(2, 3, 16, 16)
        >>> coarse, _, bands = laplacian_pyramid(image, 2)
        >>> bool(torch.allclose(collapse_pyramid(coarse, bands), image, atol=1e-5))
        True
    """
    image = coarse
    for band in bands:
        image = pyramid_up(image) + band
    return image


class LaplacianPyramid(torch.nn.Module):
    """Module twin of :func:`laplacian_pyramid` with a fixed number of levels.

    Example:
        >>> coarse, conditions, bands = LaplacianPyramid(1)(torch.rand(1, 3, 8, 8))
        >>> tuple(coarse.shape), len(bands)
        ((1, 3, 4, 4), 1)
    """

    def __init__(self, levels: int) -> None:
        super().__init__()
        self.levels = levels

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        return laplacian_pyramid(image, self.levels)
