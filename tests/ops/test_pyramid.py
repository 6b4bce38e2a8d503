"""deblur.ops.pyramid: pyramid steps against a hand-built reference, exact rebuild, gradients, Module twin."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from deblur.ops.pyramid import LaplacianPyramid, collapse_pyramid, laplacian_pyramid, pyramid_down, pyramid_up

BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=torch.float64) / 16


def _image(shape: tuple[int, ...] = (2, 3, 32, 32), dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(0), dtype=dtype)


def _binomial_blur(image: torch.Tensor) -> torch.Tensor:
    """The 5x5 binomial blur with reflected borders, written out: the reference for the pyramid steps."""
    channels = image.shape[1]
    weight = (BINOMIAL[:, None] * BINOMIAL[None, :]).to(image).expand(channels, 1, 5, 5)
    return F.conv2d(F.pad(image, (2, 2, 2, 2), mode="reflect"), weight, groups=channels)


def test_smoke() -> None:
    coarse, conditions, bands = laplacian_pyramid(_image(), 2)
    assert all(torch.isfinite(t).all() for t in (coarse, *conditions, *bands))


@pytest.mark.parametrize("levels", [0, 1, 3])
def test_shape(levels: int) -> None:
    coarse, conditions, bands = laplacian_pyramid(_image((2, 1, 16, 24)), levels)
    assert coarse.shape == (2, 1, 16 // 2**levels, 24 // 2**levels)
    sides = [(16 // 2 ** (levels - 1 - i), 24 // 2 ** (levels - 1 - i)) for i in range(levels)]
    assert [tuple(b.shape[-2:]) for b in bands] == [tuple(c.shape[-2:]) for c in conditions] == sides
    assert pyramid_down(_image()).shape == (2, 3, 16, 16) and pyramid_up(_image()).shape == (2, 3, 64, 64)


def test_values_pyramid_down_by_hand() -> None:
    image = _image((1, 2, 12, 16), torch.float64)
    expected = F.avg_pool2d(_binomial_blur(image), 2)  # bilinear halving of an even side: the mean of 2x2 blocks
    torch.testing.assert_close(pyramid_down(image), expected, atol=1e-12, rtol=0)


def test_values_pyramid_up_by_hand() -> None:
    image = _image((1, 2, 6, 8), torch.float64)
    expected = _binomial_blur(F.interpolate(image, scale_factor=2, mode="bilinear", align_corners=False))
    torch.testing.assert_close(pyramid_up(image), expected, atol=1e-12, rtol=0)


def test_values_constant_image() -> None:
    image = torch.full((1, 3, 16, 16), 0.25)
    coarse, conditions, bands = laplacian_pyramid(image, 2)
    torch.testing.assert_close(coarse, torch.full((1, 3, 4, 4), 0.25))
    assert all(band.abs().max() < 1e-6 for band in bands)


def test_values_rebuilds_image() -> None:
    image = _image((2, 1, 32, 32))
    coarse, conditions, bands = laplacian_pyramid(image, 2)
    rebuilt = coarse
    for band in bands:
        rebuilt = pyramid_up(rebuilt) + band
    torch.testing.assert_close(rebuilt, image, atol=1e-5, rtol=0)
    torch.testing.assert_close(collapse_pyramid(coarse, bands), image, atol=1e-5, rtol=0)
    torch.testing.assert_close(conditions[-1] + bands[-1], image, atol=1e-6, rtol=0)
    torch.testing.assert_close(conditions[0], pyramid_up(coarse))
    assert torch.equal(collapse_pyramid(image, []), image)


def test_gradcheck() -> None:
    image = _image((1, 1, 8, 8), torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(pyramid_down, (image,))
    assert torch.autograd.gradcheck(pyramid_up, (image,))
    assert torch.autograd.gradcheck(lambda x: torch.cat([b.flatten() for b in laplacian_pyramid(x, 2)[2]]), (image,))


def test_module_matches_function() -> None:
    image = _image()
    coarse, conditions, bands = LaplacianPyramid(2)(image)
    expected = laplacian_pyramid(image, 2)
    assert torch.equal(coarse, expected[0])
    assert all(torch.equal(a, b) for a, b in zip([*conditions, *bands], [*expected[1], *expected[2]], strict=True))
