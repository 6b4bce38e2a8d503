"""Degradations: blur against scipy, noise and JPEG statistics, parameter sampling and bit-exact replay."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch

from deblur.config import SynthConfig
from deblur.errors import ConfigError
from deblur.synth.degrade import (
    Blur,
    add_noise,
    blur,
    boost_highlights,
    choose_conv_method,
    crop_valid,
    degrade,
    jpeg_compress,
    make_pairs,
    sample_params,
)
from deblur.synth.kernels import SAMPLERS


def _image(batch: int = 2, size: tuple[int, int] = (32, 40), dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.rand(batch, 3, *size, generator=torch.Generator().manual_seed(1), dtype=dtype)


@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_delta_leaves_image_unchanged(method: str, padding: str) -> None:
    image = _image()
    delta = torch.zeros(2, 7, 7)
    delta[:, 3, 3] = 1.0
    out = blur(image, delta, padding=padding, method=method)
    expected = image if padding == "same" else crop_valid(image, 7)
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("size", [3, 9, 15])
def test_values_match_scipy(method: str, padding: str, size: int) -> None:
    image = _image(3)
    kernels = SAMPLERS["trajectory"](3, size, torch.Generator().manual_seed(size))
    out = blur(image, kernels, padding=padding, method=method)
    half = size // 2
    for b in range(3):
        for c in range(3):
            x = image[b, c].double().numpy()
            if padding == "same":
                x = np.pad(x, half, mode="reflect")  # reflect without repeating the edge, like torch's 'reflect'
            reference = scipy.signal.convolve(x, kernels[b].double().numpy(), mode="valid")
            np.testing.assert_allclose(out[b, c].numpy(), reference, atol=1e-5, rtol=0)


def test_shape_valid() -> None:
    out = blur(_image(size=(30, 41)), SAMPLERS["motion"](2, 11), padding="valid")
    assert out.shape == (2, 3, 20, 31)


def test_shared_kernel_broadcasts() -> None:
    image = _image()
    kernel = SAMPLERS["gaussian"](1, 5, torch.Generator().manual_seed(0))
    torch.testing.assert_close(blur(image, kernel), blur(image, kernel.expand(2, -1, -1)))


def test_module_matches_function() -> None:
    image, kernels = _image(), SAMPLERS["defocus"](2, 9, torch.Generator().manual_seed(0))
    torch.testing.assert_close(Blur(kernels)(image), blur(image, kernels))


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_gradcheck(method: str) -> None:
    image = torch.rand(1, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    kernel = torch.rand(1, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, k: blur(x, k, method=method), (image, kernel))


def test_choose_conv_method() -> None:
    assert choose_conv_method(3, "cpu") == "direct"
    assert choose_conv_method(65, "cpu") == "fft"
    # devices without a measured crossover (no GPU measured yet) follow the CPU's
    assert all(choose_conv_method(k, "cuda") == choose_conv_method(k, "cpu") for k in range(3, 66, 2))
    assert all(choose_conv_method(k, "mps") == choose_conv_method(k, "cpu") for k in range(3, 66, 2))


def test_exception_too_small() -> None:
    with pytest.raises(ConfigError, match="too small"):
        blur(torch.rand(1, 3, 10, 10), SAMPLERS["motion"](1, 31))
    with pytest.raises(ConfigError, match="smaller than"):
        blur(torch.rand(1, 3, 10, 10), SAMPLERS["motion"](1, 11), padding="valid")


def test_noise_statistics() -> None:
    image = torch.full((2, 3, 128, 128), 0.5)
    generator = torch.Generator().manual_seed(0)
    noisy = add_noise(image, torch.tensor([0.0, 0.05]), generator=generator)
    assert torch.equal(noisy[0], image[0])
    assert (noisy[1] - 0.5).std().item() == pytest.approx(0.05, rel=0.03)
    # Poisson-Gaussian: mean kept, variance a * x + sigma^2
    photon = add_noise(image, torch.tensor([0.0, 0.0]), torch.tensor([0.01, 0.0]), generator)
    assert photon[0].mean().item() == pytest.approx(0.5, abs=2e-3)
    assert photon[0].var().item() == pytest.approx(0.01 * 0.5, rel=0.05)
    assert torch.equal(photon[1], image[1])


def test_jpeg() -> None:
    image = torch.nn.functional.interpolate(_image(2, (16, 16)), size=(64, 64), mode="bilinear")
    out = jpeg_compress(image, torch.tensor([0, 50]))
    assert torch.equal(out[0], image[0])
    difference = (out[1] - image[1]).abs().mean().item()
    assert 1e-4 < difference < 0.05


def test_boost_highlights_continuous() -> None:
    ramp = torch.linspace(0, 1, 101).view(1, 1, 1, 101).expand(1, 3, 1, 101)
    boosted = boost_highlights(ramp, torch.tensor([3.0]), 0.9)
    torch.testing.assert_close(boosted[..., :90], ramp[..., :90])
    assert boosted[0, 0, 0, -1].item() == pytest.approx(3.0)
    assert (boosted[..., 1:] - boosted[..., :-1]).max() < 0.25  # no jump at the threshold


def _full_config(**changes: object) -> SynthConfig:
    defaults: dict = {
        "kernels": ("motion", "trajectory", "gaussian", "anisotropic", "defocus"),
        "size": 9,
        "noise": (0.0, 0.02),
        "poisson": (0.0, 0.01),
        "jpeg_prob": 0.5,
        "saturation_prob": 0.5,
        "linear_light": True,
    }
    defaults.update(changes)
    return SynthConfig(**defaults)


def test_seed_reproduces_bit_identical() -> None:
    image = _image(8)
    first = make_pairs(image, _full_config(), torch.Generator().manual_seed(3))
    again = make_pairs(image, _full_config(), torch.Generator().manual_seed(3))
    assert torch.equal(first[0], again[0])
    assert first[2].records() == again[2].records()
    other = make_pairs(image, _full_config(), torch.Generator().manual_seed(4))
    assert not torch.equal(first[0], other[0])


def test_replay_from_params() -> None:
    image = _image(4)
    params = sample_params(_full_config(), 4, torch.Generator().manual_seed(0))
    assert torch.equal(degrade(image, params), degrade(image, params))


def test_sample_params_mixes_kinds() -> None:
    params = sample_params(_full_config(jpeg_prob=1.0, saturation_prob=0.0), 64, torch.Generator().manual_seed(0))
    assert set(params.kinds) == {"motion", "trajectory", "gaussian", "anisotropic", "defocus"}
    assert ((params.jpeg_quality >= 60) & (params.jpeg_quality <= 95)).all()
    assert (params.highlight_gain == 1).all()
    assert ((params.noise_sigma >= 0) & (params.noise_sigma <= 0.02)).all()
    assert len(params.records()) == 64


def test_valid_pairs_aligned() -> None:
    image = _image(2, (40, 48))
    blurred, sharp, _ = make_pairs(image, _full_config(valid=True), torch.Generator().manual_seed(0))
    assert blurred.shape == sharp.shape == (2, 3, 32, 40)


def test_constant_image_stays_constant() -> None:
    # blur (in linear light too) of a flat image is the same flat image
    image = torch.full((2, 3, 24, 24), 0.3)
    config = _full_config(noise=(0.0, 0.0), poisson=(0.0, 0.0), jpeg_prob=0.0, saturation_prob=0.0)
    blurred, _, _ = make_pairs(image, config, torch.Generator().manual_seed(0))
    torch.testing.assert_close(blurred, image, atol=1e-5, rtol=0)


def test_output_range() -> None:
    blurred, _, _ = make_pairs(_image(8), _full_config(noise=(0.2, 0.2)), torch.Generator().manual_seed(0))
    assert blurred.min() >= 0 and blurred.max() <= 1
