"""deblur.ops.fft: fast transform lengths, the deconvolution grid, transfer functions against a circular convolution,
the forward differences, their adjoint and their power spectrum."""

from __future__ import annotations

import pytest
import torch

from deblur.ops.fft import adjoint_gradients, deconv_grid, fast_fft_length, gradient_power, gradients, psf_to_otf


def _image(shape: tuple[int, ...] = (2, 3, 12, 15), seed: int = 0) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_values_fast_fft_length() -> None:
    assert [fast_fft_length(n) for n in (1, 7, 11, 292, 320, 1021)] == [1, 8, 12, 300, 320, 1024]


def test_values_deconv_grid() -> None:
    size, pad = deconv_grid(torch.zeros(1, 3, 40, 50), torch.zeros(1, 5, 7))
    assert size == (45, 60) and pad == (3, 7, 2, 3)
    left, right, top, bottom = pad
    assert (40 + top + bottom, 50 + left + right) == size  # the padding fills the grid exactly


def test_values_psf_to_otf_is_a_circular_convolution() -> None:
    """Multiplying by the OTF convolves circularly with the kernel about its centre: a delta maps to the kernel."""
    kernel = _image((1, 3, 5), seed=1)
    otf = psf_to_otf(kernel, (8, 10))
    assert otf.shape == (1, 1, 8, 6)
    delta = torch.zeros(1, 1, 8, 10, dtype=torch.float64)
    delta[..., 4, 5] = 1
    blurred = torch.fft.irfft2(torch.fft.rfft2(delta) * otf, s=(8, 10))
    torch.testing.assert_close(blurred[0, 0, 3:6, 3:8], kernel[0])
    assert float(blurred[0, 0].sum()) == pytest.approx(float(kernel.sum()))


def test_values_gradients() -> None:
    x = _image()
    gx, gy = gradients(x)
    torch.testing.assert_close(gx, torch.roll(x, -1, -1) - x)
    torch.testing.assert_close(gy, torch.roll(x, -1, -2) - x)


def test_values_adjoint_gradients_is_the_adjoint() -> None:
    """<D x, g> = <x, D* g> for both directions together."""
    x, gx, gy = _image(seed=0), _image(seed=1), _image(seed=2)
    dx, dy = gradients(x)
    inner = (dx * gx).sum() + (dy * gy).sum()
    torch.testing.assert_close(inner, (x * adjoint_gradients(gx, gy)).sum())


@pytest.mark.parametrize("size", [(30, 40), (31, 45)])
def test_values_gradient_power_closed_form_matches_the_fft_of_the_differences(size: tuple[int, int]) -> None:
    """The ADMM solves' |Dx|^2 + |Dy|^2 in closed form equals the power of the difference filters' OTFs."""
    dx = psf_to_otf(torch.tensor([[[1.0, -1.0, 0.0]]]), size)
    dy = psf_to_otf(torch.tensor([[[1.0], [-1.0], [0.0]]]), size)
    expected = dx.abs().pow(2) + dy.abs().pow(2)
    torch.testing.assert_close(gradient_power(size, torch.zeros(1)), expected, atol=1e-5, rtol=0)


def test_values_gradient_power_is_the_spectrum_of_gradients() -> None:
    """The power of :func:`gradients`' output is ``gradient_power`` times the image's: the same differences."""
    x = _image((1, 1, 12, 15))
    gx, gy = gradients(x)
    power = torch.fft.rfft2(gx).abs().pow(2) + torch.fft.rfft2(gy).abs().pow(2)
    expected = gradient_power((12, 15), x) * torch.fft.rfft2(x).abs().pow(2)
    torch.testing.assert_close(power, expected)
    assert gradient_power((12, 15), x).dtype == torch.float64
