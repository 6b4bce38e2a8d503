"""Gaussian Parzen-window log-likelihood, the evaluation of Table 1 in Goodfellow et al. (2014).

A Gaussian kernel of width ``sigma`` is put on each of ``n`` samples ``mu_i`` (from a generator, or real images
for the reference a perfect generator would reach) in ``d`` dimensions; the log-likelihood of a point ``x`` is::

    log p(x) = logsumexp_i( -||x - mu_i||^2 / (2 sigma^2) ) - log n - (d / 2) log(2 pi sigma^2)

``sigma`` is chosen on a validation set by maximising its mean log-likelihood over a grid, then the test set is
scored: mean and standard error of the mean, in nats. Distances are computed in float64 in batches (a matrix
product per batch), on the CPU or a GPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

DEFAULT_SIGMAS = tuple(float(s) for s in np.logspace(np.log10(0.05), np.log10(0.5), 41))


def _squared_distances(points: torch.Tensor, centres: torch.Tensor, centre_norms: torch.Tensor) -> torch.Tensor:
    """``||x - mu||^2`` for every pair, ``(len(points), len(centres))``, float64, clamped at 0."""
    return (points.pow(2).sum(1, keepdim=True) + centre_norms[None, :] - 2.0 * points @ centres.T).clamp_min_(0)


def parzen_log_likelihood(
    centres: torch.Tensor, points: torch.Tensor, sigmas: float | tuple[float, ...] | list[float], batch_size: int = 1000
) -> torch.Tensor:
    """Log-likelihood of each point under Gaussian Parzen windows of each width.

    Args:
        centres: ``(n, ...)`` kernel centres (generated samples), flattened to ``(n, d)``.
        points: ``(m, ...)`` points to score, same ``d``.
        sigmas: one width or several; distances are computed once for all of them.
        batch_size: points per batch (memory: ``batch_size x n`` float64 values).

    Returns:
        ``(len(sigmas), m)`` float64 log-likelihoods in nats (``(m,)`` for a single width).

    Example:
        >>> centres = torch.zeros(1, 2)
        >>> lp = parzen_log_likelihood(centres, torch.zeros(1, 2), 1.0)
        >>> round(float(lp[0]), 4) == round(-math.log(2 * math.pi), 4)
        True
    """
    single = isinstance(sigmas, (int, float))
    sigma = torch.tensor([sigmas] if single else list(sigmas), dtype=torch.float64, device=centres.device)
    centres = centres.reshape(len(centres), -1).to(torch.float64)
    points = points.reshape(len(points), -1).to(device=centres.device, dtype=torch.float64)
    n, d = centres.shape
    norms = centres.pow(2).sum(1)
    constant = -math.log(n) - 0.5 * d * torch.log(2 * math.pi * sigma**2)  # (S,)
    out = []
    for start in range(0, len(points), batch_size):
        distances = _squared_distances(points[start : start + batch_size], centres, norms)  # (b, n)
        scaled = -distances[None] / (2 * sigma[:, None, None] ** 2)  # (S, b, n)
        out.append(torch.logsumexp(scaled, dim=-1) + constant[:, None])
    result = torch.cat(out, dim=1).cpu()
    return result[0] if single else result


@dataclass(frozen=True)
class ParzenResult:
    """Mean test log-likelihood with its standard error, at the width chosen on the validation set."""

    mean: float
    stderr: float
    sigma: float
    val_mean: float
    n_samples: int
    n_test: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "mean": self.mean,
            "stderr": self.stderr,
            "sigma": self.sigma,
            "val_mean": self.val_mean,
            "n_samples": self.n_samples,
            "n_test": self.n_test,
        }


def parzen_evaluate(
    samples: torch.Tensor,
    val: torch.Tensor,
    test: torch.Tensor,
    sigmas: tuple[float, ...] | list[float] = DEFAULT_SIGMAS,
    batch_size: int = 1000,
) -> ParzenResult:
    """The 2014 protocol: choose ``sigma`` on ``val`` over a grid, then score ``test`` (mean and standard error).

    Args:
        samples: ``(n, ...)`` generator samples (10,000 in the paper), values on the data's scale ([0, 1]).
        val: validation images, never seen in training.
        test: test images.
        sigmas: the grid of widths; the chosen one must not be at either end, or the grid is widened.
        batch_size: points per distance batch.
    """
    sigmas = tuple(sigmas)
    val_ll = parzen_log_likelihood(samples, val, sigmas, batch_size).mean(dim=1)
    best = int(torch.argmax(val_ll))
    while best in (0, len(sigmas) - 1):  # the optimum lies outside the grid: extend it by a factor of 2
        sigmas = tuple(s / 2 for s in sigmas[:4]) + sigmas if best == 0 else sigmas + tuple(s * 2 for s in sigmas[-4:])
        val_ll = parzen_log_likelihood(samples, val, sigmas, batch_size).mean(dim=1)
        best = int(torch.argmax(val_ll))
    sigma = sigmas[best]
    test_ll = parzen_log_likelihood(samples, test, sigma, batch_size)
    return ParzenResult(
        mean=float(test_ll.mean()),
        stderr=float(test_ll.std(unbiased=True) / math.sqrt(len(test_ll))),
        sigma=sigma,
        val_mean=float(val_ll[best]),
        n_samples=len(samples),
        n_test=len(test_ll),
    )
