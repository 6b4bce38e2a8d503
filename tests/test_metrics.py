"""PSNR and SSIM against scikit-image (the documented conventions), and the Y-channel conversion."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from deblur.metrics import crop_border, psnr, rgb_to_y, ssim


@pytest.mark.parametrize("shape", [(2, 3, 40, 50), (1, 1, 11, 30)])
def test_values_against_scikit_image(shape: tuple[int, ...]) -> None:
    generator = torch.Generator().manual_seed(0)
    target = torch.rand(shape, generator=generator)
    prediction = (target + 0.1 * torch.randn(shape, generator=generator)).clamp(0, 1)
    for i in range(shape[0]):
        a, b = prediction[i].numpy(), target[i].numpy()
        reference = structural_similarity(
            a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=0
        )
        assert float(ssim(prediction, target)[i]) == pytest.approx(reference, abs=1e-4)
        assert float(psnr(prediction, target)[i]) == pytest.approx(peak_signal_noise_ratio(b, a, data_range=1), 1e-5)


def test_values_identical_images() -> None:
    x = torch.rand(1, 3, 16, 16)
    assert float(ssim(x, x)[0]) == pytest.approx(1.0)
    assert torch.isinf(psnr(x, x)).all()


def test_values_y_channel_matches_scikit_image() -> None:
    rgb = np.random.default_rng(0).random((8, 8, 3))
    expected = rgb2ycbcr(rgb)[..., 0] / 255.0
    got = rgb_to_y(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0, 0].numpy()
    assert np.allclose(got, expected, atol=1e-6)


def test_exception_too_small_for_ssim() -> None:
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))


def test_shape_crop_border() -> None:
    assert crop_border(torch.rand(1, 3, 20, 30), 4).shape == (1, 3, 12, 22)
