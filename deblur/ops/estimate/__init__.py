"""Blind estimation of a spatially uniform blur kernel from the image alone:
``estimate_kernel(blurred) -> (kernels, confidence)``. ``edges`` holds the edge-based estimator (shock-filter edge
prediction and gradient-domain kernel fits, coarse to fine), ``spectral`` the power-spectrum model and the search over
defocus and Gaussian kernels, and ``check`` the self-check that picks between them, decides whether there is any blur
to remove and says how far to trust the kernel.
"""

from deblur.ops.estimate.check import (
    BLUR_MARGIN,
    MIN_OVERRULING_SPREAD,
    KernelEstimate,
    estimate_kernel,
    estimate_with_check,
    kernel_agreement,
    luminance,
)
from deblur.ops.estimate.edges import (
    NO_BLUR_MASS,
    EdgeSettings,
    central_mass,
    estimate_one,
    fit_kernel,
    fit_on_support,
    middle_window,
)
from deblur.ops.estimate.spectral import (
    SPECTRUM_TILE,
    parametric_estimate,
    parametric_kernels,
    spectral_error,
    welch_power,
)

__all__ = [
    "BLUR_MARGIN",
    "MIN_OVERRULING_SPREAD",
    "NO_BLUR_MASS",
    "SPECTRUM_TILE",
    "EdgeSettings",
    "KernelEstimate",
    "central_mass",
    "estimate_kernel",
    "estimate_one",
    "estimate_with_check",
    "fit_kernel",
    "fit_on_support",
    "kernel_agreement",
    "luminance",
    "middle_window",
    "parametric_estimate",
    "parametric_kernels",
    "spectral_error",
    "welch_power",
]
