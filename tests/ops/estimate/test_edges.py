"""deblur.ops.estimate.edges: the gradient-domain kernel fits, the support step's faint trails, what "no blur" means
for a kernel, and the edge-based estimator's shape and settings."""

from __future__ import annotations

import pytest
import torch

from deblur.ops.conv import blur
from deblur.ops.estimate import (
    EdgeSettings,
    central_mass,
    estimate_one,
    fit_kernel,
    fit_on_support,
    kernel_agreement,
    luminance,
    middle_window,
)
from deblur.ops.fft import gradients
from deblur.synth.kernels import line_kernels
from tests.conftest import blur_with_noise, photo_crop


def test_values_central_mass() -> None:
    delta = torch.zeros(7, 7)
    delta[3, 3] = 1
    assert central_mass(delta) == 1.0
    assert central_mass(torch.ones(5, 5)) == pytest.approx(9 / 25)


def test_values_middle_window() -> None:
    image = torch.arange(6.0 * 8).reshape(6, 8)
    assert torch.equal(middle_window(image, 4), image[1:5, 2:6])
    assert torch.equal(middle_window(image, 7), image[:, :7])  # all of the smaller side


def test_values_fit_kernel_recovers_an_exact_blur() -> None:
    """Given the sharp gradients and their exact blur, the closed-form fit finds the kernel."""
    gray = luminance(photo_crop())[0, 0]
    kernel = line_kernels(torch.tensor([7.0]), torch.tensor([45.0]), 11)
    px, py = gradients(gray)
    gx, gy = (blur(g[None, None], kernel, padding="same")[0, 0] for g in (px, py))
    fitted = fit_kernel(px, py, gx, gy, 11, 1e-4, 0.05)
    assert fitted.shape == (11, 11) and float(fitted.sum()) == pytest.approx(1.0) and bool((fitted >= 0).all())
    assert kernel_agreement(fitted, kernel[0]) > 0.95


def test_values_support_fit_recovers_a_kernel_with_a_faint_trail() -> None:
    """The non-negative fit on a grown support keeps a faint trail that a thresholded closed-form fit cuts."""
    gray = luminance(photo_crop())[0, 0]
    kernel = torch.zeros(15, 15)
    kernel[7, 3] = 0.6  # a bright dwell point ...
    kernel[7, 4:12] = 0.05  # ... and a faint trail: the centre of mass is 2.6 px right of the dwell point
    px, py = gradients(gray)
    gx, gy = (blur(g[None, None], kernel[None], padding="same")[0, 0] for g in (px, py))
    columns = torch.arange(15, dtype=torch.float32)
    cut = fit_kernel(px, py, gx, gy, 15, 1e-4, 0.15)
    start = torch.zeros(15, 15)
    start[7, 3] = 1  # what a thresholded estimate keeps: the dwell point alone
    fitted = fit_on_support(px, py, gx, gy, start, dilate=8, beta=1e-4, steps=300)
    assert bool((fitted >= 0).all()) and abs(float(fitted.sum()) - 1) < 0.05
    assert float((fitted - kernel).abs().max()) < 0.02
    centre = float((fitted.sum(0) * columns).sum() / fitted.sum())
    true_centre = float((kernel.sum(0) * columns).sum())
    assert abs(centre - true_centre) < 0.2
    assert abs(float((cut.sum(0) * columns).sum()) - true_centre) > abs(centre - true_centre)
    # nothing outside the grown support: a 1 px growth of the dwell point reaches column 4 at most
    assert torch.equal(fit_on_support(px, py, gx, gy, start, dilate=1, beta=1e-4, steps=50)[:, 6:], torch.zeros(15, 9))


def test_shape_estimate_one_with_light_settings() -> None:
    kernel = line_kernels(torch.tensor([7.0]), torch.tensor([0.0]), 11)
    gray = luminance(blur_with_noise(photo_crop(), kernel))[0, 0]
    settings = EdgeSettings(iterations=2, refine=1, support_steps=0, align=False)
    estimated, latent = estimate_one(gray, 11, region=128, settings=settings)
    assert estimated.shape == (11, 11) and latent.shape == (128, 128)
    assert float(estimated.sum()) == pytest.approx(1.0) and bool((estimated >= 0).all())


def test_exception_edge_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        EdgeSettings().iterations = 3  # type: ignore[misc]
