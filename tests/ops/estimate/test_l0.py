"""deblur.ops.estimate.l0 and .hypotheses: the ℓ0 estimator and the hypothesis set recover known kernels of each
kind from clean synthetic blur; the seam padding, the batch of size bounds, saturated pixels kept out of the fit."""

from __future__ import annotations

import pytest
import torch

from deblur.ops.estimate import kernel_agreement, luminance
from deblur.ops.estimate.hypotheses import edge_window, kernel_hypotheses
from deblur.ops.estimate.l0 import L0Settings, l0_estimate, wrap_pad
from deblur.ops.psf import center_kernels
from deblur.synth.kernels import disk_kernels, gaussian_kernels, line_kernels, random_trajectory_kernels
from tests.conftest import blur_with_noise, photo_crop

KERNELS = {
    "motion": line_kernels(torch.tensor([11.0]), torch.tensor([30.0]), 15),
    "trajectory": center_kernels(random_trajectory_kernels(1, 15, torch.Generator().manual_seed(0))),
    "gaussian": gaussian_kernels(torch.tensor([2.0]), torch.tensor([2.0]), torch.zeros(1), 15),
    "defocus": disk_kernels(torch.tensor([4.0]), 15),
}


def _padded(kernel: torch.Tensor, size: int) -> torch.Tensor:
    pad = (size - kernel.shape[-1]) // 2
    return torch.nn.functional.pad(kernel, (pad, pad, pad, pad))


def test_values_wrap_pad_has_no_seam() -> None:
    y = torch.rand(20, 30)
    out = wrap_pad(y, (32, 40))
    assert out.shape == (32, 40)
    torch.testing.assert_close(out[:20, :30], y)
    # the blended band joins the last row to the first and the last column to the first
    steps = (out[19:, :30].diff(dim=0).abs().max(), out[:20, 29:].diff(dim=1).abs().max())
    jump = max(float((y[-1] - y[0]).abs().max()), float((y[:, -1] - y[:, 0]).abs().max()))
    assert max(float(s) for s in steps) <= jump / 11 + 1e-6  # a ramp: at least 11 steps to wrap around


def test_values_l0_recovers_linear_motion() -> None:
    kind = "motion"
    kernel = KERNELS[kind]
    gray = luminance(blur_with_noise(photo_crop(), kernel))[0, 0]
    found = l0_estimate(gray, [15])
    assert found.shape == (1, 15, 15)
    assert torch.allclose(found.sum((1, 2)), torch.ones(1)) and bool((found >= 0).all())
    assert kernel_agreement(found[0], kernel[0]) >= 0.9, kind


@pytest.mark.parametrize("kind", list(KERNELS))
def test_values_hypotheses_hold_the_true_kernel_of_each_kind(kind: str) -> None:
    kernel = KERNELS[kind]
    gray = luminance(blur_with_noise(photo_crop(), kernel))[0, 0]
    hypotheses = kernel_hypotheses(gray, max_size=15)
    assert {name.split()[0] for name in hypotheses} >= {"l0", "edges"}
    for name, found in hypotheses.items():
        assert found.shape[-1] % 2 == 1 and abs(float(found.sum()) - 1) < 1e-4, name
    best = max(kernel_agreement(_padded(found, 15), kernel[0]) for found in hypotheses.values())
    assert best >= 0.9, (kind, {name: kernel_agreement(_padded(k, 15), kernel[0]) for name, k in hypotheses.items()})


def test_values_bounds_run_as_one_batch_each_within_its_own() -> None:
    gray = luminance(blur_with_noise(photo_crop(), KERNELS["motion"]))[0, 0][:128, :128]
    settings = L0Settings(iterations=2)
    found = l0_estimate(gray, [9, 15], settings)
    assert found.shape == (2, 15, 15)
    rows, cols = found[0].sum(1).nonzero(), found[0].sum(0).nonzero()
    assert int(rows.max() - rows.min()) < 9 and int(cols.max() - cols.min()) < 9  # the 9 px bound's support
    with pytest.raises(ValueError, match="odd"):
        l0_estimate(gray, [8])


def test_values_saturated_pixels_stay_out_of_the_kernel_fit() -> None:
    sharp = photo_crop().clone()
    kernel = KERNELS["motion"]
    generator = torch.Generator().manual_seed(0)
    for _ in range(4):  # point lights far brighter than white: their blurred streaks clip at 1
        top, left = torch.randint(20, 230, (2,), generator=generator).tolist()
        sharp[..., top : top + 3, left : left + 3] = 6.0
    gray = luminance(blur_with_noise(sharp, kernel))[0, 0]
    masked = kernel_agreement(l0_estimate(gray, [15])[0], kernel[0])
    unmasked = kernel_agreement(l0_estimate(gray, [15], L0Settings(saturation=2.0))[0], kernel[0])
    assert masked >= 0.88 and masked > unmasked + 0.01


def test_values_large_bound_adds_a_half_size_hypothesis() -> None:
    gray = luminance(blur_with_noise(photo_crop(), KERNELS["defocus"]))[0, 0]
    hypotheses = kernel_hypotheses(gray, max_size=61, region=128)
    large = [name for name in hypotheses if name.endswith("half")]
    assert len(large) == 1 and hypotheses[large[0]].shape[-1] <= 61
    with pytest.raises(ValueError, match="odd"):
        kernel_hypotheses(gray, max_size=20)


def test_values_edge_window_finds_the_detailed_part() -> None:
    gray = torch.zeros(300, 400)
    gray[200:260, 300:380] = torch.rand(60, 80, generator=torch.Generator().manual_seed(0))
    top, left = edge_window(gray, 128)
    assert top <= 200 and top + 128 >= 260 and left <= 300 and left + 128 >= 380
    assert edge_window(gray, 512) == (0, 0)
