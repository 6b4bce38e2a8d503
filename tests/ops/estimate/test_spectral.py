"""deblur.ops.estimate.spectral: the Welch power spectrum, the isotropic candidates, the spectral search for defocus
and Gaussian blur, and the spectral error of a kernel."""

from __future__ import annotations

import pytest
import torch

from deblur.ops.estimate import luminance, parametric_estimate, parametric_kernels, spectral_error, welch_power
from deblur.synth.kernels import disk_kernels, gaussian_kernels, line_kernels
from tests.conftest import blur_with_noise, photo_crop


@pytest.mark.parametrize(("shape", "tile"), [((300, 280), 256), ((100, 90), 256), ((100, 90), 64)])
def test_shape_welch_power(shape: tuple[int, int], tile: int) -> None:
    power = welch_power(torch.rand(shape, generator=torch.Generator().manual_seed(0)), tile)
    assert power.shape == (tile, tile) and bool((power >= 0).all())


def test_values_welch_power_of_a_flat_image_is_zero() -> None:
    assert torch.equal(welch_power(torch.full((300, 300), 0.5)), torch.zeros(256, 256))  # the tiles' means removed


def test_values_parametric_kernels() -> None:
    names, kernels = parametric_kernels(15)
    assert len(names) == len(kernels) == 13 + 30  # radii 1 to 7 by 0.5, 30 sigmas
    assert names[0] == "defocus r=1" and names[-1] == "gaussian sigma=2.50"
    torch.testing.assert_close(kernels.sum((1, 2)), torch.ones(len(kernels)))


@pytest.mark.parametrize("radius", [4.0, 6.0])
def test_values_parametric_estimate_finds_a_defocus_disk(radius: float) -> None:
    gray = luminance(blur_with_noise(photo_crop(), disk_kernels(torch.tensor([radius]), 15)))[0, 0]
    name, kernel, power = parametric_estimate(gray, 15)
    assert name == f"defocus r={radius:g}" and kernel.shape == (15, 15) and power.shape == (256, 256)


def test_values_parametric_estimate_finds_a_gaussian() -> None:
    sigma = torch.tensor([1.5])
    gray = luminance(blur_with_noise(photo_crop(), gaussian_kernels(sigma, sigma, torch.zeros(1), 15)))[0, 0]
    name, _, _ = parametric_estimate(gray, 15)
    assert name.startswith("gaussian sigma=") and abs(float(name.split("=")[1]) - 1.5) < 0.4


def test_values_spectral_error_prefers_the_true_motion_direction() -> None:
    motion = line_kernels(torch.tensor([11.0]), torch.tensor([0.0]), 15)[0]
    gray = luminance(blur_with_noise(photo_crop(), motion[None]))[0, 0]
    power = welch_power(gray)
    delta = torch.zeros(15, 15)
    delta[7, 7] = 1
    assert spectral_error(power, motion) < spectral_error(power, delta) < spectral_error(power, motion.T)
