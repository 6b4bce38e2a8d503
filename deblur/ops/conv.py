"""Blur as a convolution: :func:`blur` (and its Module twin :class:`Blur`) convolves each image of a batch
``(B, C, H, W)`` with its own kernel ``(B, k, k)``, with ``"same"`` or ``"valid"`` padding, by kornia's ``filter2d``
for small kernels and ``fft_conv`` for large ones (:func:`choose_conv_method`, from a measured crossover);
:func:`crop_valid` (and :class:`CropValid`) crops a sharp image to the extent of a valid convolution's output, and
:func:`check_kernel_size` is the one check of a kernel side. It is a true convolution: a point of light draws the
kernel itself.
"""

from __future__ import annotations

import kornia
import torch

from deblur.errors import ConfigError
from deblur.ops.fft import fast_fft_length

__all__ = [
    "FFT_FROM_KERNEL_SIZE",
    "Blur",
    "CropValid",
    "blur",
    "check_kernel_size",
    "choose_conv_method",
    "crop_valid",
]

FFT_FROM_KERNEL_SIZE = {"cpu": 31}
"""Smallest kernel side for which ``method="auto"`` uses FFT convolution, per device type: the crossover that
``benchmarks/synth_speed.py`` measures. Devices without an entry use the CPU's value."""


def check_kernel_size(size: int) -> None:
    """Raise ``ConfigError`` unless ``size`` is an odd integer of at least 3.

    Example:
        >>> check_kernel_size(31)
        >>> check_kernel_size(4)
        Traceback (most recent call last):
        ...
        deblur.errors.ConfigError: kernel size must be an odd integer >= 3, got 4
    """
    if not isinstance(size, int) or size < 3 or size % 2 == 0:
        raise ConfigError(f"kernel size must be an odd integer >= 3, got {size!r}")


def choose_conv_method(size: int, device: torch.device | str) -> str:
    """``"direct"`` or ``"fft"``: whichever is faster for a ``size`` kernel on ``device`` (measured crossover).

    Example:
        >>> choose_conv_method(5, "cpu"), choose_conv_method(65, "cpu")
        ('direct', 'fft')
    """
    device_type = torch.device(device).type
    return "fft" if size >= FFT_FROM_KERNEL_SIZE.get(device_type, FFT_FROM_KERNEL_SIZE["cpu"]) else "direct"


def blur(
    image: torch.Tensor, kernels: torch.Tensor, padding: str = "same", border: str = "reflect", method: str = "auto"
) -> torch.Tensor:
    """Convolve each image of a batch with its own kernel.

    Args:
        image: ``(B, C, H, W)``.
        kernels: ``(B, k, k)`` one kernel per sample, or ``(1, k, k)`` shared; odd ``k``.
        padding: ``"same"`` keeps ``H x W`` (borders extended by ``border``); ``"valid"`` gives
            ``(H - k + 1) x (W - k + 1)``, only pixels whose whole neighbourhood is inside the image.
        border: how ``"same"`` extends the image: ``reflect``, ``replicate``, ``circular`` or ``constant``.
        method: ``"direct"`` (kornia ``filter2d``), ``"fft"`` (kornia ``fft_conv``) or ``"auto"``.

    Returns:
        The blurred batch, in the input's dtype and device.

    Raises:
        ValueError: tensors of the wrong rank.
        ConfigError: an even or too small kernel, an image too small for it, or an unknown method.

    Shape:
        ``(B, C, H, W), (B, k, k) -> (B, C, H, W)``, or ``(B, C, H - k + 1, W - k + 1)`` with ``padding="valid"``.

    Example:
        >>> x = torch.zeros(1, 1, 5, 5); x[..., 2, 2] = 1.0
        >>> k = torch.arange(9.0).reshape(1, 3, 3) / 36
        >>> bool(torch.allclose(blur(x, k)[0, 0, 1:4, 1:4], k[0]))
        True
        >>> blur(x, k, padding="valid").shape
        torch.Size([1, 1, 3, 3])
    """
    if image.ndim != 4 or kernels.ndim != 3:
        raise ValueError(
            f"expected image (B, C, H, W) and kernels (B, k, k), got {tuple(image.shape)} and {tuple(kernels.shape)}"
        )
    size = kernels.shape[-1]
    check_kernel_size(size)
    half = size // 2
    if padding == "same" and border == "reflect" and min(image.shape[-2:]) <= half:
        raise ConfigError(
            f"a {image.shape[-2]}x{image.shape[-1]} image is too small for a {size} px kernel with reflect borders"
        )
    if padding == "valid" and min(image.shape[-2:]) < size:
        raise ConfigError(f"a {image.shape[-2]}x{image.shape[-1]} image is smaller than the {size} px kernel")
    if method == "auto":
        method = choose_conv_method(size, image.device)
    if method not in ("direct", "fft"):
        raise ConfigError(f"method must be auto, direct or fft, got {method!r}")
    kernels = kernels.to(image)
    if method == "direct":
        return kornia.filters.filter2d(image, kernels, border_type=border, padding=padding, behaviour="conv")
    # FFT: pad here, to the border plus a few rows and columns that make the transform length 5-smooth (pocketfft
    # and cuFFT are several times slower on lengths with large prime factors), then crop the extra rows away
    height, width = image.shape[-2:]
    out_h, out_w = (height, width) if padding == "same" else (height - size + 1, width - size + 1)
    if padding == "same":
        image = torch.nn.functional.pad(image, (half, half, half, half), mode=border)
    padded_h, padded_w = image.shape[-2:]
    # zeros: these rows and columns feed only outputs that are cropped away
    image = torch.nn.functional.pad(
        image, (0, fast_fft_length(padded_w) - padded_w, 0, fast_fft_length(padded_h) - padded_h)
    )
    out = kornia.filters.fft_conv(image, kernels, padding="valid", behaviour="conv")
    return out[..., :out_h, :out_w]


class Blur(torch.nn.Module):
    """Module twin of :func:`blur` with a fixed kernel batch (a buffer, so it follows ``.to(device)``).

    Example:
        >>> kernel = torch.full((1, 3, 3), 1 / 9)
        >>> Blur(kernel)(torch.ones(2, 3, 8, 8)).shape
        torch.Size([2, 3, 8, 8])
    """

    def __init__(
        self, kernels: torch.Tensor, padding: str = "same", border: str = "reflect", method: str = "auto"
    ) -> None:
        super().__init__()
        self.register_buffer("kernels", kernels)
        self.padding, self.border, self.method = padding, border, method

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return blur(image, self.kernels, self.padding, self.border, self.method)


def crop_valid(image: torch.Tensor, size: int) -> torch.Tensor:
    """Crop ``size // 2`` pixels from every side: the sharp counterpart of a valid convolution's output.

    Shape:
        ``(..., H, W) -> (..., H - 2 (k // 2), W - 2 (k // 2))``.

    Example:
        >>> crop_valid(torch.zeros(1, 3, 10, 12), 5).shape
        torch.Size([1, 3, 6, 8])
    """
    half = size // 2
    return image[..., half : image.shape[-2] - half, half : image.shape[-1] - half]


class CropValid(torch.nn.Module):
    """Module twin of :func:`crop_valid` for a ``size`` px kernel.

    Example:
        >>> CropValid(3)(torch.zeros(2, 3, 8, 8)).shape
        torch.Size([2, 3, 6, 6])
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return crop_valid(image, self.size)
