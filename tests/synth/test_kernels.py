"""Kernel builders and samplers: every kind and size is a proper, centred blur kernel; values against references."""

from __future__ import annotations

import inspect

import kornia
import pytest
import torch

from deblur.errors import ConfigError
from deblur.synth.kernels import (
    SAMPLERS,
    center_of_mass,
    disk_kernels,
    gaussian_kernels,
    kernel_grid,
    line_kernels,
    perturb_kernels,
    rasterize_path,
    shake_paths,
)

SIZES = list(range(3, 66, 2))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", sorted(SAMPLERS))
def test_properties(kind: str, size: int) -> None:
    kernels = SAMPLERS[kind](6, size, torch.Generator().manual_seed(size))
    assert kernels.shape == (6, size, size)
    assert kernels.dtype == torch.float32
    assert torch.isfinite(kernels).all()
    assert (kernels >= 0).all()
    torch.testing.assert_close(kernels.sum(dim=(-2, -1)), torch.ones(6), atol=1e-5, rtol=0)
    assert center_of_mass(kernels).abs().max() <= 0.5


@pytest.mark.parametrize("kind", sorted(SAMPLERS))
def test_seed_reproduces(kind: str) -> None:
    first = SAMPLERS[kind](4, 21, torch.Generator().manual_seed(7))
    again = SAMPLERS[kind](4, 21, torch.Generator().manual_seed(7))
    other = SAMPLERS[kind](4, 21, torch.Generator().manual_seed(8))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


@pytest.mark.parametrize("kind", sorted(SAMPLERS))
def test_device_argument(kind: str) -> None:
    kernels = SAMPLERS[kind](2, 9, torch.Generator().manual_seed(0), "cpu")
    assert kernels.device.type == "cpu"


@pytest.mark.parametrize("kind", sorted(SAMPLERS))
def test_signature(kind: str) -> None:
    parameters = inspect.signature(SAMPLERS[kind]).parameters
    assert list(parameters)[:4] == ["batch", "size", "generator", "device"]
    assert parameters["generator"].default is None and parameters["device"].default is None
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(parameters.values())[4:])  # the ranges
    assert SAMPLERS[kind].__name__ == f"random_{kind}_kernels" and SAMPLERS[kind].__doc__


def test_values_ranges_are_used() -> None:
    full = SAMPLERS["motion"](3, 9, torch.Generator().manual_seed(0), length=(1.0, 1.0))
    short = SAMPLERS["motion"](3, 9, torch.Generator().manual_seed(0), length=(0.0, 0.0))
    assert (full > 0).sum(dim=(-2, -1)).min() >= 8  # a segment across the whole canvas
    assert torch.equal(short, line_kernels(torch.zeros(3), torch.zeros(3), 9))  # zero length: a delta


@pytest.mark.parametrize("size", [0, 1, 2, 4, 30, 3.0])
def test_exception_bad_size(size: int) -> None:
    with pytest.raises(ConfigError, match="odd integer"):
        SAMPLERS["motion"](1, size)


def test_values_line_hand_computed() -> None:
    # a horizontal segment from -1 to 1 px: the bilinear weights integrate a tent over it -> 1/4, 1/2, 1/4
    kernel = line_kernels(torch.tensor([2.0]), torch.tensor([0.0]), 5)[0]
    expected = torch.zeros(5, 5)
    expected[2, 1:4] = torch.tensor([0.25, 0.5, 0.25])
    torch.testing.assert_close(kernel, expected, atol=1e-4, rtol=0)


def test_values_line_vertical_and_zero_length() -> None:
    vertical = line_kernels(torch.tensor([2.0]), torch.tensor([90.0]), 5)[0]
    torch.testing.assert_close(vertical[1:4, 2], torch.tensor([0.25, 0.5, 0.25]), atol=1e-4, rtol=0)
    delta = line_kernels(torch.tensor([0.0]), torch.tensor([33.0]), 5)[0]
    assert delta[2, 2] == pytest.approx(1.0)


def test_values_line_diagonal_hand_computed() -> None:
    # 45 degrees counter-clockwise as displayed runs from (x, y) = (-1, 1) to (1, -1), up and to the right.
    # Integrating the bilinear weights tent(x - i) * tent(y - j) along it: 1/3 in the middle, 1/6 at the ends,
    # 1/12 on the four edge neighbours of the middle, nothing on the other diagonal.
    kernel = line_kernels(torch.tensor([2.0 * 2**0.5]), torch.tensor([45.0]), 5)[0]
    expected = torch.zeros(5, 5)
    expected[2, 2] = 1 / 3
    expected[1, 3] = expected[3, 1] = 1 / 6
    expected[1, 2] = expected[2, 1] = expected[2, 3] = expected[3, 2] = 1 / 12
    torch.testing.assert_close(kernel, expected, atol=1e-3, rtol=0)


def test_values_rasterize_subpixel() -> None:
    # one point at +0.25 px in x: weights 0.75 / 0.25 between the middle pixel and its right neighbour,
    # but centring moves a lone point back to the middle
    single = rasterize_path(torch.tensor([[[0.25, 0.0]]]), 3)[0]
    assert single[1, 1] == pytest.approx(1.0)
    # two points 1.5 px apart: mean at the middle, each 0.75 px away -> splat 1/4 and 3/4 on either side
    pair = rasterize_path(torch.tensor([[[-0.75, 0.0], [0.75, 0.0]]]), 5)[0]
    torch.testing.assert_close(pair[2, 1:4], torch.tensor([0.375, 0.25, 0.375]), atol=1e-6, rtol=0)


def test_values_rasterize_shrinks_to_fit() -> None:
    kernel = rasterize_path(torch.tensor([[[-10.0, 0.0], [10.0, 0.0]]]), 5)[0]
    torch.testing.assert_close(kernel.sum(), torch.tensor(1.0))
    assert kernel[2, 0] == pytest.approx(0.5) and kernel[2, 4] == pytest.approx(0.5)


def test_values_gaussian_matches_kornia() -> None:
    sigma = torch.tensor([0.7, 1.5, 3.0])
    ours = gaussian_kernels(sigma, sigma * 0.5, torch.zeros(3), 11)
    # kornia's sigma is (sigma_y, sigma_x)
    reference = kornia.filters.get_gaussian_kernel2d(11, torch.stack([sigma * 0.5, sigma], dim=-1))
    torch.testing.assert_close(ours, reference, atol=1e-6, rtol=1e-5)


def test_values_gaussian_rotation_swaps_axes() -> None:
    sx, sy = torch.tensor([3.0]), torch.tensor([1.0])
    rotated = gaussian_kernels(sx, sy, torch.tensor([90.0]), 15)
    swapped = gaussian_kernels(sy, sx, torch.tensor([0.0]), 15)
    torch.testing.assert_close(rotated, swapped, atol=1e-6, rtol=1e-5)


def test_values_disk() -> None:
    delta = disk_kernels(torch.tensor([0.0]), 5)[0]
    assert delta[2, 2] == pytest.approx(1.0)
    disk = disk_kernels(torch.tensor([3.0]), 9)[0]
    # coverage: full inside (distance <= 2.5), zero outside (distance >= 3.5), symmetric
    assert disk[4, 4] == pytest.approx(disk[4, 6]) and disk[4, 8] == 0
    torch.testing.assert_close(disk, disk.flip(-1))
    torch.testing.assert_close(disk, disk.T)
    # area: the sum of raw coverages approximates pi r^2
    raw_total = 1.0 / disk[4, 4]
    assert abs(raw_total - torch.pi * 9) < 0.05 * torch.pi * 9


def test_shake_paths_constant_speed() -> None:
    paths = shake_paths(torch.full((3,), 0.005), torch.Generator().manual_seed(0), steps=64)
    assert paths.shape == (3, 65, 2)
    assert torch.equal(paths[:, 0], torch.zeros(3, 2))
    steps = (paths[:, 1:] - paths[:, :-1]).norm(dim=-1)
    torch.testing.assert_close(steps, torch.full_like(steps, 1.0), atol=1e-4, rtol=0)  # 64 units in 64 steps


def test_trajectory_extent_fills_canvas() -> None:
    kernels = SAMPLERS["trajectory"](16, 31, torch.Generator().manual_seed(0), extent=(1.0, 1.0))
    occupied = kernels > 1e-4
    rows, cols = occupied.any(dim=-1), occupied.any(dim=-2)
    spans = torch.maximum(rows.sum(-1), cols.sum(-1))
    assert (spans >= 20).all()  # a full-extent path spans most of the 31 px canvas


def test_values_trajectory_dwell_uneven_speed() -> None:
    """dwell = 0 draws nothing more (seeds keep their kernels); dwell > 0 gives bright dots joined by faint
    trails, still centred kernels summing to 1."""
    plain = SAMPLERS["trajectory"](8, 27, torch.Generator().manual_seed(3))
    zero = SAMPLERS["trajectory"](8, 27, torch.Generator().manual_seed(3), dwell=(0.0, 0.0))
    uneven = SAMPLERS["trajectory"](8, 27, torch.Generator().manual_seed(3), dwell=(1.5, 1.5))
    assert torch.equal(plain, zero)
    torch.testing.assert_close(uneven.sum(dim=(-2, -1)), torch.ones(8))
    assert center_of_mass(uneven).abs().max() < 1e-3 and uneven.min() >= 0

    def contrast(kernels: torch.Tensor) -> float:  # median over kernels of max / median of the drawn pixels
        return float(torch.stack([k.max() / k[k > 1e-6].median() for k in kernels]).median())

    assert contrast(uneven) > 2 * contrast(plain)


def test_exception_dwell_range() -> None:
    from deblur.config import SynthConfig

    with pytest.raises(ConfigError, match="dwell"):
        SynthConfig(dwell=(0.0, 5.0))


def test_kernel_grid_shape() -> None:
    grid = kernel_grid(torch.rand(6, 5, 5), nrow=3, zoom=2)
    assert grid.shape[0] == 3
    assert grid.shape[1] == 2 * (2 * 5 + 2) + 2 and grid.shape[2] == 3 * (2 * 5 + 2) + 2
    assert grid.min() >= 0 and grid.max() <= 1


def test_values_perturb_kernels_errors_grow_with_strength_and_stay_kernels() -> None:
    kernels = SAMPLERS["trajectory"](8, 25, torch.Generator().manual_seed(3))
    errors = []
    for strength in (0.0, 0.25, 0.5, 1.0):
        out = perturb_kernels(kernels, strength, torch.Generator().manual_seed(4))
        assert out.shape == kernels.shape and (out >= 0).all()
        torch.testing.assert_close(out.sum(dim=(-2, -1)), torch.ones(8))
        errors.append(float((out - kernels).abs().sum(dim=(-2, -1)).mean()))
    assert errors[0] == 0.0  # strength 0: the true kernel, unchanged
    assert errors[1] < errors[2] < errors[3]
    # the same seed gives the same errors; a per-sample strength leaves the strength-0 samples alone
    again = perturb_kernels(kernels, 1.0, torch.Generator().manual_seed(4))
    assert torch.equal(again, perturb_kernels(kernels, 1.0, torch.Generator().manual_seed(4)))
    mixed = perturb_kernels(kernels, torch.tensor([0.0, 1.0] * 4), torch.Generator().manual_seed(4))
    assert torch.equal(mixed[0::2], kernels[0::2]) and not torch.equal(mixed[1::2], kernels[1::2])


def test_values_perturb_kernels_shifts_at_most_two_pixels() -> None:
    delta = torch.zeros(64, 15, 15)
    delta[:, 7, 7] = 1.0
    out = perturb_kernels(delta, 1.0, torch.Generator().manual_seed(0))
    offsets = center_of_mass(out)
    assert offsets.abs().max() <= 2.0 + 0.5  # whole-pixel shifts of at most 2, plus the faint trail's pull
    assert (offsets.abs() > 0.5).any()  # some kernels do move


def test_center_kernels_moves_the_centre_of_mass_and_keeps_every_weight() -> None:
    from deblur.ops.psf import center_kernels

    true = line_kernels(torch.tensor([6.0, 0.0]), torch.tensor([30.0, 0.0]), 15)
    shifted = torch.stack([torch.roll(true[0], (2, -1), dims=(0, 1)), torch.roll(true[1], (0, 3), dims=(0, 1))])
    grown = center_kernels(shifted)
    assert grown.shape == (2, 21, 21)  # widened by twice the largest shift (3)
    torch.testing.assert_close(grown, torch.nn.functional.pad(true, [3] * 4))  # exactly the centred kernels
    assert center_kernels(true) is true  # centred already: the same tensor, no new canvas
    kept = center_kernels(shifted, grow=False)
    torch.testing.assert_close(kept, true)  # nothing fell off these canvases
    edge = torch.zeros(1, 5, 5)
    edge[0, 0, 0], edge[0, 0, 1] = 0.75, 0.25  # mass in a corner: the fixed canvas drops what leaves it
    moved = center_kernels(edge, grow=False)
    assert moved.shape == (1, 5, 5) and abs(float(moved.sum()) - 1) < 1e-6 and float(moved[0, 2, 2]) > 0
    assert float(center_kernels(edge).sum()) == pytest.approx(1.0)


def test_center_kernel_values() -> None:
    from deblur.ops.psf import center_kernel

    kernel = torch.zeros(3, 6, dtype=torch.float64)
    kernel[0, 4] = kernel[0, 5] = 0.5  # centre of mass half-way between columns 4 and 5: rounds to the even one
    centred = center_kernel(kernel)
    assert centred.dtype == torch.float64
    torch.testing.assert_close(centred, torch.tensor([[0, 0, 0], [0, 0.5, 0.5], [0, 0, 0]], dtype=torch.float64))
    uneven = torch.zeros(4, 9)
    uneven[3, 0], uneven[0, 8] = 0.25, 0.75  # even height, far apart: the canvas grows to hold both
    grown = center_kernel(uneven)
    assert grown.shape == (13, 13) and center_of_mass(grown[None]).abs().max() <= 0.5
    assert sorted(grown[grown > 0].tolist()) == [0.25, 0.75]
    assert center_kernel(torch.zeros(2, 2)).shape == (1, 1)  # no mass, no centre: an empty 1 x 1 canvas
