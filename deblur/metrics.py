"""Image-quality metrics with fixed, documented conventions: per-image values, then the caller averages.

Both take ``(B, C, H, W)`` tensors in ``[0, data_range]`` and return ``(B,)``.

- :func:`psnr`: ``10 log10(data_range^2 / MSE)`` over all pixels and channels of each image.
- :func:`ssim`: Wang et al. (2004) with an 11x11 Gaussian window of sigma 1.5, ``K1 = 0.01``, ``K2 = 0.03``,
  population (not sample) covariances, computed per channel on the *valid* part of the image (no padding) and
  averaged over channels and positions; this equals scikit-image's ``structural_similarity(...,
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=0)``.
- :func:`rgb_to_y`: the ITU-R BT.601 luma used by the deblurring and super-resolution literature (Y in [16, 235]
  for 8-bit, returned here on the [0, 1] scale).
"""

from __future__ import annotations

import kornia
import torch


def psnr(prediction: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio of each image, in dB.

    Example:
        >>> round(float(psnr(torch.zeros(1, 1, 4, 4), torch.full((1, 1, 4, 4), 0.1))[0]), 4)
        20.0
    """
    mse = (prediction.double() - target.double()).pow(2).flatten(1).mean(1)
    return (10 * torch.log10(data_range**2 / mse)).float()


def ssim(prediction: torch.Tensor, target: torch.Tensor, data_range: float = 1.0, sigma: float = 1.5) -> torch.Tensor:
    """Structural similarity of each image (see the module docstring for the conventions)."""
    size = 2 * int(3.5 * sigma + 0.5) + 1  # scikit-image's window for truncate=3.5
    window = kornia.filters.get_gaussian_kernel1d(size, sigma, dtype=torch.float64)  # (1, k): separable, two 1-D passes
    x, y = prediction.double(), target.double()
    if min(x.shape[-2:]) < size:
        raise ValueError(f"SSIM needs images of at least {size}x{size} pixels, got {tuple(x.shape[-2:])}")

    def mean(t: torch.Tensor) -> torch.Tensor:
        return kornia.filters.filter2d_separable(t, window, window, padding="valid")

    mu_x, mu_y = mean(x), mean(y)
    var_x, var_y, cov = mean(x * x) - mu_x**2, mean(y * y) - mu_y**2, mean(x * y) - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    value = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return value.flatten(1).mean(1).float()


def rgb_to_y(image: torch.Tensor) -> torch.Tensor:
    """BT.601 luma ``(B, 1, H, W)`` of RGB images in [0, 1], as MATLAB's ``rgb2ycbcr`` (scaled to [0, 1])."""
    weights = torch.tensor([65.481, 128.553, 24.966], dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
    return ((image * weights).sum(1, keepdim=True) + 16.0) / 255.0


def crop_border(image: torch.Tensor, border: int) -> torch.Tensor:
    """Drop ``border`` pixels on every side (papers crop to ignore boundary effects)."""
    return image[..., border : image.shape[-2] - border, border : image.shape[-1] - border] if border else image


__all__ = ["crop_border", "psnr", "rgb_to_y", "ssim"]
