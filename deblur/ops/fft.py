"""FFT helpers shared by the convolution, deconvolution and kernel-estimation ops: transform lengths that FFT
libraries handle fast (:func:`fast_fft_length`), the grid a deconvolution solves on (:func:`deconv_grid`), the
transfer function of a centred kernel (:func:`psf_to_otf`), and the forward differences used as gradients
(:func:`gradients`, its adjoint :func:`adjoint_gradients` and their power spectrum :func:`gradient_power`). The
differences are circular, so that their FFT is exactly ``gradient_power``'s transfer function.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

__all__ = [
    "adjoint_gradients",
    "deconv_grid",
    "fast_fft_length",
    "gradient_power",
    "gradients",
    "psf_to_otf",
]


@functools.lru_cache(maxsize=512)
def fast_fft_length(n: int) -> int:
    """Smallest integer >= n whose prime factors are 2, 3 and 5 only (pocketfft and cuFFT are several times slower
    on lengths with large prime factors).

    Example:
        >>> fast_fft_length(292), fast_fft_length(320)
        (300, 320)
    """
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


def deconv_grid(blurred: torch.Tensor, kernel: torch.Tensor) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """The FFT grid of a deconvolution: the observation plus ``k // 2`` on every side, rounded up to a fast length;
    and the padding ``(left, right, top, bottom)`` that puts the observation in it.

    Example:
        >>> deconv_grid(torch.zeros(1, 3, 40, 50), torch.zeros(1, 5, 7))
        ((45, 60), (3, 7, 2, 3))
    """
    height, width = blurred.shape[-2:]
    rh, rw = kernel.shape[-2] // 2, kernel.shape[-1] // 2
    size = (fast_fft_length(height + 2 * rh), fast_fft_length(width + 2 * rw))
    return size, (rw, size[1] - width - rw, rh, size[0] - height - rh)


def psf_to_otf(kernel: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """The optical transfer function of centred kernels on an ``shape`` grid: ``rfft2`` of the kernel zero-padded
    and rolled so that its centre sits at the origin (MATLAB's ``psf2otf``).

    Shape:
        ``(B, kh, kw) -> (B, 1, H, W // 2 + 1)`` complex.

    Example:
        >>> otf = psf_to_otf(torch.ones(1, 3, 3) / 9, (8, 8))
        >>> round(float(otf[0, 0, 0, 0].real), 6)  # the DC gain of a kernel summing to 1
        1.0
    """
    height, width = shape
    kh, kw = kernel.shape[-2:]
    padded = F.pad(kernel, (0, width - kw, 0, height - kh))
    padded = torch.roll(padded, shifts=(-(kh // 2), -(kw // 2)), dims=(-2, -1))
    return torch.fft.rfft2(padded)[:, None]


def gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Circular forward differences ``x[i + 1] - x[i]`` along the width and the height (slices and a concatenation,
    which is faster on CPUs than ``torch.roll``, which copies).

    Shape:
        ``(..., H, W) -> (..., H, W), (..., H, W)``.

    Example:
        >>> gx, gy = gradients(torch.tensor([[0.0, 1.0, 3.0]]))
        >>> gx.tolist(), gy.tolist()
        ([[1.0, 2.0, -3.0]], [[0.0, 0.0, 0.0]])
    """
    gx = torch.cat([x[..., 1:] - x[..., :-1], x[..., :1] - x[..., -1:]], dim=-1)
    gy = torch.cat([x[..., 1:, :] - x[..., :-1, :], x[..., :1, :] - x[..., -1:, :]], dim=-2)
    return gx, gy


def adjoint_gradients(gx: torch.Tensor, gy: torch.Tensor) -> torch.Tensor:
    """The adjoint of :func:`gradients` (a negated divergence), ``g[i - 1] - g[i]`` summed over both directions: its
    FFT is ``conj(Dx) Gx + conj(Dy) Gy``, so one transform serves both directions.

    Shape:
        ``(..., H, W), (..., H, W) -> (..., H, W)``.

    Example:
        >>> adjoint_gradients(torch.tensor([[1.0, 2.0, -3.0]]), torch.zeros(1, 3)).tolist()
        [[-4.0, -1.0, 5.0]]
    """
    return torch.cat([gx[..., -1:] - gx[..., :1], gx[..., :-1] - gx[..., 1:]], dim=-1) + torch.cat(
        [gy[..., -1:, :] - gy[..., :1, :], gy[..., :-1, :] - gy[..., 1:, :]], dim=-2
    )


def gradient_power(size: tuple[int, int], like: torch.Tensor) -> torch.Tensor:
    """``|Dx|^2 + |Dy|^2`` on an ``size`` grid: the power of the transfer functions of :func:`gradients`. Each is
    ``exp(i theta) - 1``, of power ``4 sin^2(theta / 2)``: closed form, no FFT. In ``like``'s dtype and device.

    Shape:
        ``-> (1, 1, H, W // 2 + 1)``.

    Example:
        >>> gradient_power((4, 4), torch.zeros(1))[0, 0].round().tolist()
        [[0.0, 2.0, 4.0], [2.0, 4.0, 6.0], [4.0, 6.0, 8.0], [2.0, 4.0, 6.0]]
    """
    height, width = size
    options = {"dtype": like.dtype, "device": like.device}
    across = torch.arange(width // 2 + 1, **options).mul_(math.pi / width).sin_().pow_(2).mul_(4)
    down = torch.arange(height, **options).mul_(math.pi / height).sin_().pow_(2).mul_(4)
    return (down[:, None] + across[None, :])[None, None]
