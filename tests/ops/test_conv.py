"""deblur.ops.conv: blur against scipy and by hand, both methods and paddings, gradients, Module twins, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch

from deblur.errors import ConfigError
from deblur.ops.conv import (
    FFT_FROM_KERNEL_SIZE,
    Blur,
    CropValid,
    blur,
    check_kernel_size,
    choose_conv_method,
    crop_valid,
)


def _image(batch: int = 2, size: tuple[int, int] = (32, 40), dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.rand(batch, 3, *size, generator=torch.Generator().manual_seed(1), dtype=dtype)


def _kernels(batch: int, size: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Random non-negative kernels summing to 1: asymmetric, so convolution and correlation differ."""
    kernels = torch.rand(batch, size, size, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    return kernels / kernels.sum(dim=(-2, -1), keepdim=True)


@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
def test_smoke(method: str) -> None:
    out = blur(_image(), _kernels(2, 5), method=method)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()


@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_shape(method: str, padding: str) -> None:
    out = blur(_image(size=(30, 41)), _kernels(2, 11), padding=padding, method=method)
    assert out.shape == ((2, 3, 30, 41) if padding == "same" else (2, 3, 20, 31))
    assert crop_valid(_image(size=(30, 41)), 11).shape == (2, 3, 20, 31)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_follows_input_dtype(dtype: torch.dtype) -> None:
    assert blur(_image(dtype=dtype), _kernels(2, 5)).dtype == dtype  # kernels are cast to the image's dtype


@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_values_delta_leaves_image_unchanged(method: str, padding: str) -> None:
    image = _image()
    delta = torch.zeros(2, 7, 7)
    delta[:, 3, 3] = 1.0
    out = blur(image, delta, padding=padding, method=method)
    expected = image if padding == "same" else crop_valid(image, 7)
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_values_point_draws_the_kernel(method: str) -> None:
    # a true convolution: a point of light draws the kernel itself, not its mirror image
    image = torch.zeros(1, 1, 9, 9)
    image[..., 4, 4] = 1.0
    kernel = _kernels(1, 3)
    out = blur(image, kernel, method=method)
    torch.testing.assert_close(out[0, 0, 3:6, 3:6], kernel[0], atol=1e-6, rtol=0)


@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("size", [3, 9, 15])
def test_values_match_scipy(method: str, padding: str, size: int) -> None:
    image = _image(3)
    kernels = _kernels(3, size, seed=size)
    out = blur(image, kernels, padding=padding, method=method)
    half = size // 2
    for b in range(3):
        for c in range(3):
            x = image[b, c].double().numpy()
            if padding == "same":
                x = np.pad(x, half, mode="reflect")  # reflect without repeating the edge, like torch's 'reflect'
            reference = scipy.signal.convolve(x, kernels[b].double().numpy(), mode="valid")
            np.testing.assert_allclose(out[b, c].numpy(), reference, atol=1e-5, rtol=0)


@pytest.mark.parametrize("size", [3, 31, 45])
def test_values_direct_matches_fft(size: int) -> None:
    image, kernels = _image(2, (64, 50)), _kernels(2, size, seed=size)
    for padding in ("same", "valid"):
        torch.testing.assert_close(
            blur(image, kernels, padding, method="fft"),
            blur(image, kernels, padding, method="direct"),
            atol=1e-5,
            rtol=0,
        )


def test_values_shared_kernel_broadcasts() -> None:
    image, kernel = _image(), _kernels(1, 5)
    torch.testing.assert_close(blur(image, kernel), blur(image, kernel.expand(2, -1, -1)))


def test_values_crop_valid() -> None:
    image = torch.arange(7.0 * 8).view(1, 1, 7, 8)
    assert torch.equal(crop_valid(image, 5), image[..., 2:5, 2:6])


def test_values_choose_conv_method() -> None:
    crossover = FFT_FROM_KERNEL_SIZE["cpu"]
    assert choose_conv_method(3, "cpu") == "direct" and choose_conv_method(65, "cpu") == "fft"
    assert choose_conv_method(crossover - 2, "cpu") == "direct" and choose_conv_method(crossover, "cpu") == "fft"
    # devices without a measured crossover (no GPU measured yet) follow the CPU's
    assert all(choose_conv_method(k, "cuda") == choose_conv_method(k, "cpu") for k in range(3, 66, 2))
    assert all(choose_conv_method(k, "mps") == choose_conv_method(k, "cpu") for k in range(3, 66, 2))


@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_gradcheck(method: str, padding: str) -> None:
    image = torch.rand(1, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    kernel = torch.rand(1, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, k: blur(x, k, padding=padding, method=method), (image, kernel))


def test_module_matches_function() -> None:
    image, kernels = _image(), _kernels(2, 9)
    torch.testing.assert_close(Blur(kernels)(image), blur(image, kernels))
    torch.testing.assert_close(Blur(kernels, "valid", method="fft")(image), blur(image, kernels, "valid", method="fft"))
    assert torch.equal(CropValid(9)(image), crop_valid(image, 9))
    assert "kernels" in dict(Blur(kernels).named_buffers())  # moves with .to(device)


def test_exception_too_small() -> None:
    with pytest.raises(ConfigError, match="too small"):
        blur(torch.rand(1, 3, 10, 10), _kernels(1, 31))
    with pytest.raises(ConfigError, match="smaller than"):
        blur(torch.rand(1, 3, 10, 10), _kernels(1, 11), padding="valid")


def test_exception_bad_arguments() -> None:
    with pytest.raises(ValueError, match="expected image"):
        blur(torch.rand(3, 10, 10), _kernels(1, 3))
    with pytest.raises(ValueError, match="expected image"):
        blur(torch.rand(1, 3, 10, 10), _kernels(1, 3)[0])
    with pytest.raises(ConfigError, match="odd integer"):
        blur(torch.rand(1, 3, 10, 10), torch.ones(1, 4, 4) / 16)
    with pytest.raises(ConfigError, match="method must be"):
        blur(torch.rand(1, 3, 10, 10), _kernels(1, 3), method="winograd")


@pytest.mark.parametrize("size", [0, 1, 2, 4, 30, 3.0, "5"])
def test_exception_check_kernel_size(size: object) -> None:
    with pytest.raises(ConfigError, match="odd integer"):
        check_kernel_size(size)  # type: ignore[arg-type]
    check_kernel_size(3)
