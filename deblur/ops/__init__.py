"""The physics of blur, in torch and kornia only: the bottom layer, importing nothing else from ``deblur`` but
``deblur.errors``. ``conv`` convolves a batch with per-sample kernels (:func:`blur`, valid or same padding, direct or
FFT) and crops sharp images to a valid convolution's extent (:func:`crop_valid`); ``deconv`` inverts it given the
kernel (Wiener, hyper-Laplacian with an unknown border, Richardson-Lucy); ``fft`` holds the FFT helpers they share
(fast transform lengths, kernels' transfer functions, finite-difference gradients); ``pyramid`` builds and collapses
Laplacian pyramids. Every op is a function on batched tensors ``(B, C, H, W)`` with a thin ``nn.Module`` twin
(``blur`` and ``Blur``), and follows its inputs' device and dtype.
"""

from deblur.ops import conv, deconv, fft, pyramid
from deblur.ops.conv import *  # noqa: F403 - the names listed in conv.__all__
from deblur.ops.deconv import *  # noqa: F403 - the names listed in deconv.__all__
from deblur.ops.fft import *  # noqa: F403 - the names listed in fft.__all__
from deblur.ops.pyramid import *  # noqa: F403 - the names listed in pyramid.__all__

__all__ = [*conv.__all__, *deconv.__all__, *fft.__all__, *pyramid.__all__]
