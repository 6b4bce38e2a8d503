"""The physics of blur, in torch and kornia only: the bottom layer, importing nothing else from ``deblur`` but
``deblur.errors``. ``conv`` convolves a batch with per-sample kernels (:func:`blur`, valid or same padding, direct or
FFT) and crops sharp images to a valid convolution's extent (:func:`crop_valid`); ``deconv`` inverts it given the
kernel (Wiener, hyper-Laplacian with an unknown border, Richardson-Lucy); ``pyramid`` builds and collapses
Laplacian pyramids. Every op is a function on batched tensors ``(B, C, H, W)`` with a thin ``nn.Module`` twin
(``blur`` and ``Blur``), and follows its inputs' device and dtype.
"""

from __future__ import annotations

from deblur.ops.conv import (
    FFT_FROM_KERNEL_SIZE,
    Blur,
    CropValid,
    blur,
    check_kernel_size,
    choose_conv_method,
    crop_valid,
)
from deblur.ops.deconv import (
    HLDeconv,
    RichardsonLucy,
    WienerDeconv,
    estimate_noise,
    hl_deconv,
    psf_to_otf,
    richardson_lucy,
    wiener_deconv,
)
from deblur.ops.pyramid import LaplacianPyramid, collapse_pyramid, laplacian_pyramid, pyramid_down, pyramid_up

__all__ = [
    "FFT_FROM_KERNEL_SIZE",
    "Blur",
    "CropValid",
    "HLDeconv",
    "RichardsonLucy",
    "WienerDeconv",
    "estimate_noise",
    "hl_deconv",
    "psf_to_otf",
    "richardson_lucy",
    "wiener_deconv",
    "LaplacianPyramid",
    "blur",
    "check_kernel_size",
    "choose_conv_method",
    "collapse_pyramid",
    "crop_valid",
    "laplacian_pyramid",
    "pyramid_down",
    "pyramid_up",
]
