"""The Parzen-window estimator against a direct formula, and the sigma selection of the protocol."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from deblur.parzen import parzen_evaluate, parzen_log_likelihood


def _direct(centres: np.ndarray, points: np.ndarray, sigma: float) -> np.ndarray:
    """log (1/n) sum_i N(x; mu_i, sigma^2 I), one point at a time, with scipy's logsumexp."""
    from scipy.special import logsumexp

    d = centres.shape[1]
    out = []
    for x in points:
        exponents = -((x - centres) ** 2).sum(axis=1) / (2 * sigma**2)
        out.append(logsumexp(exponents) - math.log(len(centres)) - d / 2 * math.log(2 * math.pi * sigma**2))
    return np.array(out)


@pytest.mark.parametrize("sigma", [0.05, 0.2, 1.0])
def test_values_against_direct_formula(sigma: float) -> None:
    rng = np.random.default_rng(0)
    centres, points = rng.random((30, 6)), rng.random((7, 6))
    ours = parzen_log_likelihood(torch.from_numpy(centres), torch.from_numpy(points), sigma, batch_size=3)
    np.testing.assert_allclose(ours.numpy(), _direct(centres, points, sigma), rtol=1e-10, atol=1e-8)


def test_several_sigmas_at_once() -> None:
    centres, points = torch.rand(20, 4, dtype=torch.float64), torch.rand(5, 4, dtype=torch.float64)
    both = parzen_log_likelihood(centres, points, [0.1, 0.3])
    torch.testing.assert_close(both[1], parzen_log_likelihood(centres, points, 0.3))
    assert both.dtype == torch.float64 and both.shape == (2, 5)


def test_float32_images_scored_in_float64() -> None:
    centres = torch.rand(50, 1, 4, 4)
    ours = parzen_log_likelihood(centres, centres[:3], 0.1)
    reference = _direct(centres.double().flatten(1).numpy(), centres[:3].double().flatten(1).numpy(), 0.1)
    np.testing.assert_allclose(ours.numpy(), reference, rtol=1e-9)


def test_protocol_picks_interior_sigma() -> None:
    generator = torch.Generator().manual_seed(0)
    samples, val, test = (
        0.5 + 0.1 * torch.randn(n, 8, generator=generator, dtype=torch.float64) for n in (400, 200, 200)
    )
    result = parzen_evaluate(samples, val, test, sigmas=[0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64])
    assert 0.02 <= result.sigma <= 0.32
    assert result.stderr > 0 and result.n_test == 200
    expected = float(parzen_log_likelihood(samples, test, result.sigma).mean())
    assert result.mean == pytest.approx(expected)


def test_protocol_extends_grid_when_optimum_at_edge() -> None:
    generator = torch.Generator().manual_seed(0)
    samples, val, test = (torch.randn(n, 2, generator=generator, dtype=torch.float64) for n in (300, 100, 100))
    result = parzen_evaluate(samples, val, test, sigmas=[0.001, 0.002, 0.004])  # far too narrow
    assert result.sigma > 0.004
