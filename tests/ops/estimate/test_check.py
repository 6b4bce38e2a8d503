"""deblur.ops.estimate.check: blind kernels against the true ones, the no-blur decision and its thresholds, the
left/right self-check's confidence, luminance and kernel agreement."""

from __future__ import annotations

import pytest
import skimage.data
import torch

from deblur.ops.estimate import (
    estimate_kernel,
    estimate_with_check,
    kernel_agreement,
    luminance,
)
from deblur.synth.kernels import disk_kernels, line_kernels, random_trajectory_kernels
from tests.conftest import blur_with_noise, photo_crop


def test_values_luminance() -> None:
    image = torch.zeros(1, 3, 2, 2)
    image[:, 0] = 1
    torch.testing.assert_close(luminance(image), torch.full((1, 1, 2, 2), 0.299))
    gray = torch.rand(2, 1, 4, 4)
    assert luminance(gray) is gray


def test_values_kernel_agreement() -> None:
    kernel = torch.zeros(9, 9)
    kernel[4, 2:7] = 0.2
    assert kernel_agreement(kernel, kernel) == pytest.approx(1.0)
    assert kernel_agreement(kernel, torch.roll(kernel, 3, 0)) == pytest.approx(1.0)  # within reach
    assert kernel_agreement(kernel, torch.roll(kernel, 3, 0), reach=2) == 0.0
    assert kernel_agreement(kernel, kernel.T) == pytest.approx(0.2)  # the streaks cross at one pixel of five


@pytest.mark.parametrize(
    ("kind", "kernel", "least"),
    [
        ("motion", line_kernels(torch.tensor([9.0]), torch.tensor([30.0]), 15), 0.8),
        ("defocus", disk_kernels(torch.tensor([3.0]), 15), 0.9),
        ("shake", random_trajectory_kernels(1, 15, torch.Generator().manual_seed(0)), 0.75),
    ],
)
def test_values_estimated_kernel_matches_the_true_one(kind: str, kernel: torch.Tensor, least: float) -> None:
    kernels, confidence = estimate_kernel(blur_with_noise(photo_crop(), kernel), max_size=15)
    assert kernels.shape == (1, 15, 15) and torch.allclose(kernels.sum((1, 2)), torch.ones(1))
    assert bool((kernels >= 0).all())
    assert kernel_agreement(kernels[0], kernel[0]) > least, kind
    assert 0.7 < float(confidence[0]) <= 1.0 + 1e-6  # the left and right halves agree on a uniform blur


def test_values_estimated_kernel_is_centred_by_its_centre_of_mass() -> None:
    kernel = torch.zeros(1, 15, 15)
    kernel[0, 7, 7:14] = 1 / 7  # a one-sided streak: its centre of mass is 3 px right of the middle
    kernels, _ = estimate_kernel(blur_with_noise(photo_crop(), kernel), max_size=15)
    columns = torch.arange(15, dtype=torch.float32)
    assert abs(float((kernels[0].sum(0) * columns).sum()) - 7) <= 0.5
    assert abs(float((kernels[0].sum(1) * columns).sum()) - 7) <= 0.5


@pytest.mark.parametrize("name", ["camera", "astronaut"])
def test_values_sharp_photo_is_found_blur_free_with_a_delta_kernel(name: str) -> None:
    estimate = estimate_with_check(luminance(photo_crop(name))[0, 0], 15)
    assert estimate.blur_free and estimate.central_mass >= 0.8
    delta = torch.zeros(15, 15)
    delta[7, 7] = 1
    assert torch.equal(estimate.kernel, delta)


@pytest.mark.parametrize(("name", "size"), [("coffee", 15), ("chelsea", 15), ("chelsea", 31)])
def test_values_support_step_leaves_a_sharp_photo_blur_free(name: str, size: int) -> None:
    """The support step grows faint trails only where blur was found: before it skipped concentrated kernels,
    these sharp crops came out as blurred with confident kernels (0.77-0.97) and would have been deconvolved."""
    estimate = estimate_with_check(luminance(photo_crop(name))[0, 0], size)
    assert estimate.blur_free and estimate.method == "none" and estimate.confidence == 1.0


def test_values_thresholds_are_arguments() -> None:
    """The no-blur decision follows the thresholds given: where no kernel is concentrated enough (a central mass
    above 1), the sharp photo that gets a delta by default (above) gets the edge-based kernel."""
    kernels, _ = estimate_kernel(photo_crop("astronaut"), 15, no_blur_mass=1.5)
    assert float(kernels[0, 7, 7]) < 1  # not the delta of "no blur"


def test_values_disagreeing_halves_lower_the_confidence() -> None:
    image = torch.from_numpy(skimage.data.camera()).float().div(255)[None, None].expand(1, 3, -1, -1)
    sharp = image[..., 100:356, 16:496].contiguous()  # 256 x 480: the two parts checked overlap by a third
    left = blur_with_noise(sharp, line_kernels(torch.tensor([11.0]), torch.tensor([0.0]), 15))
    right = blur_with_noise(sharp, line_kernels(torch.tensor([11.0]), torch.tensor([90.0]), 15))
    half = left.shape[-1] // 2
    mixed = torch.cat([left[..., :half], right[..., half:]], dim=-1)  # two different blurs: not a uniform one
    _, uniform = estimate_kernel(left, max_size=15)
    _, varying = estimate_kernel(mixed, max_size=15)
    assert float(varying[0]) < float(uniform[0]) - 0.05  # measured: 0.81 against 0.90


def test_estimate_kernel_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="odd and at least 7"):
        estimate_kernel(torch.rand(1, 3, 64, 64), max_size=16)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        estimate_kernel(torch.rand(3, 64, 64))
    with pytest.raises(TypeError, match="bogus"):  # options are EdgeSettings fields
        estimate_kernel(torch.rand(1, 3, 64, 64), max_size=15, bogus=1)
