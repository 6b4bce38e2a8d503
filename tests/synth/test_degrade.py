"""Degradations: noise and JPEG statistics, parameter sampling and bit-exact replay, pairs in range for any settings
(blur itself: tests/ops)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from deblur.config import SynthConfig
from deblur.synth.degrade import add_noise, boost_highlights, degrade, jpeg_compress, make_pairs, sample_params


def _image(batch: int = 2, size: tuple[int, int] = (32, 40), dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.rand(batch, 3, *size, generator=torch.Generator().manual_seed(1), dtype=dtype)


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


def test_convolution_ops_keep_their_old_import_path() -> None:
    # the ops moved to deblur.ops.conv; the old path stays importable until every caller has moved
    import importlib

    import deblur.ops.conv
    import deblur.synth

    old = importlib.import_module("deblur.synth.degrade")  # the attribute deblur.synth.degrade is the function
    for name in ("blur", "Blur", "crop_valid", "choose_conv_method", "FFT_FROM_KERNEL_SIZE"):
        assert getattr(old, name) is getattr(deblur.ops.conv, name)
    assert deblur.synth.blur is deblur.ops.conv.blur and deblur.synth.crop_valid is deblur.ops.conv.crop_valid


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 3),
    height=st.integers(16, 48),
    width=st.integers(16, 48),
    size=st.sampled_from([3, 7, 15]),
    kind=st.sampled_from(["motion", "trajectory", "gaussian", "anisotropic", "defocus"]),
    valid=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_synth_pairs_are_finite_aligned_and_in_range(batch, height, width, size, kind, valid, seed) -> None:
    import torch

    from deblur.config import SynthConfig
    from deblur.synth import make_pairs

    generator = torch.Generator().manual_seed(seed)
    sharp = torch.rand(batch, 3, height, width, generator=generator)
    config = SynthConfig(kernels=(kind,), size=size, noise=(0.0, 0.02), jpeg_prob=0.5, valid=valid)
    blurred, target, _ = make_pairs(sharp, config, generator)
    expected = (height - size + 1, width - size + 1) if valid else (height, width)
    assert blurred.shape == target.shape == (batch, 3, *expected)
    assert torch.isfinite(blurred).all() and blurred.min() >= 0 and blurred.max() <= 1
