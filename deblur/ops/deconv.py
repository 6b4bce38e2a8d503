"""Non-blind deconvolution in ``torch.fft``: batched images ``(B, C, H, W)`` with per-sample kernels ``(B, kh, kw)``,
differentiable, on any device.

Three methods, each a function with an ``nn.Module`` twin:

* :func:`wiener_deconv`: Wiener filtering with a noise-to-signal ratio given or estimated from the image
  (:func:`estimate_noise`), on an edge-tapered, padded image.
* :func:`hl_deconv`: deconvolution with a hyper-Laplacian prior on image gradients, ``|grad x|^alpha`` with
  ``alpha = 2/3`` by default (Krishnan & Fergus, NeurIPS 2009), with continuation of the penalty weight. The border
  is treated as unknown: the observation is taken to be the *valid* part of ``k * x`` for a latent image ``x`` that
  extends ``k // 2`` pixels beyond it on every side, and a masked data term solved by ADMM (an extra splitting
  variable ``u = k * x``, Almeida & Figueiredo 2013) keeps the FFTs exact without assuming a periodic or reflected
  scene. This is right for the "valid" benchmark protocol and for real photos alike, whose borders were blurred
  with scene content outside the frame; edge tapering (``boundary="taper"``) is also available.
* :func:`richardson_lucy`: the Richardson-Lucy iterations on a reflect-padded image.

All return an image of the observation's size. Kernels are true-convolution kernels (``blurred = k * sharp``, as
:func:`deblur.ops.conv.blur`), odd-sized, non-negative and summing to 1.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from deblur.ops.fft import adjoint_gradients, deconv_grid, gradient_power, gradients, psf_to_otf

__all__ = [
    "HLDeconv",
    "RichardsonLucy",
    "WienerDeconv",
    "estimate_noise",
    "hl_deconv",
    "richardson_lucy",
    "wiener_deconv",
]


def _check(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    if image.ndim != 4 or kernel.ndim != 3:
        raise ValueError(
            f"expected image (B, C, H, W) and kernels (B, kh, kw), got {tuple(image.shape)} and {tuple(kernel.shape)}"
        )
    if kernel.shape[0] not in (1, image.shape[0]):
        raise ValueError(f"{kernel.shape[0]} kernels for a batch of {image.shape[0]} images")
    if kernel.shape[-1] % 2 == 0 or kernel.shape[-2] % 2 == 0:
        raise ValueError(f"kernels must have odd sides, got {tuple(kernel.shape[-2:])}")
    return kernel.to(image)


def estimate_noise(image: torch.Tensor) -> torch.Tensor:
    """Standard deviation of white Gaussian noise in each image, from the mean absolute response to a Laplacian
    difference mask that cancels smooth content (Immerkaer 1996, "Fast noise variance estimation").

    Shape:
        ``(B, C, H, W) -> (B,)``, the mean over channels.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> noisy = 0.5 + 0.02 * torch.randn(1, 3, 128, 128, generator=g)
        >>> round(float(estimate_noise(noisy)), 3)
        0.02
    """
    # the mask [[1, -2, 1], [-2, 4, -2], [1, -2, 1]] is the outer product of two second differences: applied as
    # slices it is several times faster on the CPU than a one-channel convolution
    rows = image[..., 2:, :] - 2 * image[..., 1:-1, :] + image[..., :-2, :]
    response = rows[..., 2:] - 2 * rows[..., 1:-1] + rows[..., :-2]
    return response.abs().mean(dim=(2, 3)).mean(1) * math.sqrt(math.pi / 2) / 6


def _taper_weights(kernel: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """MATLAB's ``edgetaper`` weights per sample ``(B, 1, H, W)``: 1 inside, falling towards the border as the
    autocorrelation of the kernel's projections."""
    weights = []
    for axis, length in ((-1, shape[0]), (-2, shape[1])):  # rows use the projection onto the vertical axis
        projection = kernel.sum(axis)  # (B, k)
        size = projection.shape[-1]
        correlation = F.conv1d(
            projection[None], projection[:, None].flip(-1), padding=size - 1, groups=len(projection)
        )[0]
        correlation = correlation / correlation.amax(-1, keepdim=True)
        profile = torch.zeros(len(projection), length, dtype=kernel.dtype, device=kernel.device)
        profile[:, :size] = correlation[:, size - 1 :]
        profile[:, length - size + 1 :] = correlation[:, : size - 1]
        weights.append(1.0 - profile)
    return (weights[0][:, :, None] * weights[1][:, None, :])[:, None]


def _crop(x: torch.Tensor, pad: tuple[int, int, int, int], like: torch.Tensor) -> torch.Tensor:
    return x[..., pad[2] : pad[2] + like.shape[-2], pad[0] : pad[0] + like.shape[-1]]


def _tapered(
    blurred: torch.Tensor, kernel: torch.Tensor, size: tuple[int, int], pad: tuple[int, int, int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The observation reflect-padded to the FFT grid and tapered towards its circular blur near the grid's edges
    (MATLAB's ``edgetaper``), so that a periodic deconvolution does not ring; and the kernels' OTF."""
    otf = psf_to_otf(kernel, size)
    padded = F.pad(blurred, pad, mode="reflect")
    alpha = _taper_weights(kernel, size)
    circular = torch.fft.irfft2(torch.fft.rfft2(padded) * otf, s=size)
    return alpha * padded + (1 - alpha) * circular, otf


def wiener_deconv(
    blurred: torch.Tensor,
    kernel: torch.Tensor,
    nsr: float | torch.Tensor | None = None,
    boundary: str = "taper",
) -> torch.Tensor:
    """Wiener deconvolution: ``X = conj(K) Y / (|K|^2 + nsr)``, per sample.

    Args:
        blurred: ``(B, C, H, W)``.
        kernel: ``(B, kh, kw)`` or ``(1, kh, kw)`` shared.
        nsr: noise-to-signal power ratio, a number or ``(B,)``; None estimates it per image as
            ``(sigma / 0.25)^2`` from :func:`estimate_noise` (natural images have about 0.25 of signal spread),
            with a floor of 1e-4.
        boundary: ``taper`` (reflect-pad and edge-taper: for photos and valid observations) or ``circular`` (the
            image is periodic, as scikit-image's ``wiener`` assumes).

    Returns:
        The restored batch, the same shape (not clipped).
    """
    kernel = _check(blurred, kernel)
    blurred = blurred.contiguous()  # as in hl_deconv: a channels_last image makes every FFT strided
    if nsr is None:
        nsr = (estimate_noise(blurred) / 0.25).pow(2).clamp(min=1e-4)
    nsr = torch.as_tensor(nsr, dtype=blurred.dtype, device=blurred.device).reshape(-1, 1, 1, 1)
    if boundary == "circular":
        size, pad = tuple(blurred.shape[-2:]), (0, 0, 0, 0)
        padded, otf = blurred, psf_to_otf(kernel, size)
    elif boundary == "taper":
        size, pad = deconv_grid(blurred, kernel)
        padded, otf = _tapered(blurred, kernel, size, pad)
    else:
        raise ValueError(f"boundary must be taper or circular, got {boundary!r}")
    restored = torch.fft.irfft2(torch.fft.rfft2(padded) * otf.conj() / (otf.abs().pow(2) + nsr), s=size)
    return _crop(restored, pad, blurred)


def _shrink(value: torch.Tensor, threshold: float, alpha: float) -> torch.Tensor:
    """The generalised shrinkage of Chartrand (2012) for ``|w|^alpha``: soft thresholding at ``alpha = 1``, and a
    close, cheap stand-in for the exact hyper-Laplacian proximal step at ``alpha < 1``.

    ``sign(v) max(|v| - t^(2 - alpha) |v|^(alpha - 1), 0)``, written as ``v relu(1 - t^(2 - alpha) |v|^(alpha - 2))``:
    the same values in fewer passes over the image.
    """
    scale = value.abs().clamp(min=1e-12).pow(alpha - 2).mul(-(threshold ** (2 - alpha))).add(1).clamp(min=0)
    return value * scale


def _gradients_into(x: torch.Tensor, gx: torch.Tensor, gy: torch.Tensor) -> None:
    """:func:`~deblur.ops.fft.gradients` written into ``gx`` and ``gy`` (no gradient)."""
    torch.sub(x[..., 1:], x[..., :-1], out=gx[..., :-1])
    torch.sub(x[..., :1], x[..., -1:], out=gx[..., -1:])
    torch.sub(x[..., 1:, :], x[..., :-1, :], out=gy[..., :-1, :])
    torch.sub(x[..., :1, :], x[..., -1:, :], out=gy[..., -1:, :])


def _adjoint_gradients_into(gx: torch.Tensor, gy: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """:func:`~deblur.ops.fft.adjoint_gradients` written into ``out`` (no gradient)."""
    torch.sub(gx[..., -1:], gx[..., :1], out=out[..., :1])
    torch.sub(gx[..., :-1], gx[..., 1:], out=out[..., 1:])
    out[..., :1, :] += gy[..., -1:, :] - gy[..., :1, :]
    out[..., 1:, :] += gy[..., :-1, :] - gy[..., 1:, :]
    return out


def _shrink_into(value: torch.Tensor, out: torch.Tensor, threshold: float, alpha: float) -> torch.Tensor:
    """:func:`_shrink` written into ``out`` (no gradient). ``(threshold / |v|)^(2 - alpha)`` is computed as
    ``exp((2 - alpha) log(...))``: the same values, faster than ``pow_`` with a fractional exponent on the CPU."""
    torch.abs(value, out=out).clamp_(min=1e-12).reciprocal_().mul_(threshold).log_().mul_(2 - alpha).exp_()
    return out.neg_().add_(1).clamp_(min=0).mul_(value)


def hl_deconv(
    blurred: torch.Tensor,
    kernel: torch.Tensor,
    weight: float | torch.Tensor | None = 7e-4,
    alpha: float = 2 / 3,
    boundary: str = "masked",
    iterations: int = 10,
    beta_start: float = 1.0,
    beta_max: float = 256.0,
    residual: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Deconvolution with a hyper-Laplacian prior on the gradients (Krishnan & Fergus, NeurIPS 2009).

    Minimises ``1/2 ||M (k * x) - y||^2 + weight * sum |grad x|^alpha``. With ``boundary="masked"`` the latent
    ``x`` extends ``k // 2`` pixels beyond the observation ``y`` on every side and ``M`` keeps the observed pixels:
    the border is unknown, not reflected or periodic. It is solved by ADMM with the splits ``u = k * x`` and
    ``v = grad x`` (Almeida & Figueiredo 2013), so every step stays an exact FFT solve or a pixelwise update; the
    gradient penalty ``beta`` grows geometrically from ``beta_start`` to ``beta_max`` over the iterations.
    ``boundary="taper"`` instead edge-tapers a reflect-padded observation and runs the original half-quadratic
    splitting with the same continuation (faster, but worse on valid observations).

    Args:
        blurred: ``(B, C, H, W)`` observations.
        kernel: ``(B, kh, kw)`` or ``(1, kh, kw)`` true-convolution kernels, odd sides.
        weight: prior weight, a number or ``(B,)``; about ``7 sigma^2`` for noise of standard deviation
            ``sigma`` (the default suits about 1% noise); None: ``7 sigma^2`` from :func:`estimate_noise`, at
            least 1e-4.
        alpha: exponent of the gradient prior (2/3: natural images; 1: total variation).
        boundary: ``masked`` or ``taper``.
        iterations: ADMM / half-quadratic steps.
        beta_start, beta_max: the continuation of the gradient penalty.
        residual: also return the re-blur residual ``k * x - y`` on the observed pixels (masked boundary only; it
            comes free from the last iteration). Given the true kernel it stays near the noise; given a wrong one
            it grows along edges, so it tells how far the kernel can be trusted.

    Returns:
        ``(B, C, H, W)``: the latent image on the observation's pixels (not clipped); with ``residual``, the pair
        ``(latent, residual)``.

    Example:
        >>> x = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))
        >>> delta = torch.zeros(1, 3, 3); delta[0, 1, 1] = 1
        >>> bool((hl_deconv(x, delta, weight=1e-6) - x).abs().max() < 1e-2)
        True
    """
    kernel = _check(blurred, kernel)
    if residual and boundary != "masked":
        raise ValueError("residual needs the masked boundary")
    blurred = blurred.contiguous()  # channels_last images (as restore passes them) make every FFT strided
    if weight is None:
        weight = (7 * estimate_noise(blurred).pow(2)).clamp(min=1e-4)
    data = 1 / torch.as_tensor(weight, dtype=blurred.dtype, device=blurred.device).reshape(-1, 1, 1, 1)
    size, pad = deconv_grid(blurred, kernel)
    difference_power = gradient_power(size, blurred)
    rate = (beta_max / beta_start) ** (1 / max(iterations - 1, 1))
    if boundary == "taper":
        observed, otf = _tapered(blurred, kernel, size, pad)
        kty, otf_power = otf.conj() * torch.fft.rfft2(observed), otf.abs().pow(2)
        x, beta = observed, beta_start
        for _ in range(iterations):
            gx, gy = gradients(x)
            wx, wy = _shrink(gx, 1 / beta, alpha), _shrink(gy, 1 / beta, alpha)
            numerator = data * kty + beta * torch.fft.rfft2(adjoint_gradients(wx, wy))
            x = torch.fft.irfft2(numerator / (data * otf_power + beta * difference_power), s=size)
            beta *= rate
        return _crop(x, pad, blurred)
    if boundary != "masked":
        raise ValueError(f"boundary must be masked or taper, got {boundary!r}")
    otf = psf_to_otf(kernel, size)
    otf_power = otf.abs().pow(2)
    rho = data  # the penalty of u = k * x, in the units of the data term: a well-balanced split
    mask = F.pad(torch.ones_like(blurred[:1, :1]), pad)
    inverse = 1 / (data * mask + rho)  # the pixelwise u-step: u = (data M y + rho (k * x + du)) / (data M + rho)
    observed, rho_inverse = data * mask * F.pad(blurred, pad) * inverse, rho * inverse
    x = F.pad(blurred, pad, mode="replicate")
    if torch.is_grad_enabled() and any(t.requires_grad for t in (blurred, kernel, data)):
        admm = _masked_admm
    else:
        admm = _masked_admm_inplace  # the same steps, faster where no gradient is recorded
    spectra = (otf, rho * otf.conj(), rho * otf_power, difference_power)
    problem = _ADMMProblem(observed, rho_inverse, spectra, size)
    x, blurred_x = admm(x, problem, _ADMMSchedule(iterations, beta_start, rate, alpha))
    if residual:
        return _crop(x, pad, blurred), _crop(blurred_x, pad, blurred) - blurred
    return _crop(x, pad, blurred)


class _ADMMProblem(NamedTuple):
    """What :func:`hl_deconv`'s ADMM solves: the observation, the data weight, the spectra, the FFT grid size."""

    observed: torch.Tensor
    rho_inverse: torch.Tensor
    spectra: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
    size: tuple[int, int]


class _ADMMSchedule(NamedTuple):
    """How it iterates: the count, the starting gradient penalty, its growth rate, the prior's exponent."""

    iterations: int
    beta: float
    rate: float
    alpha: float


def _masked_admm(x: torch.Tensor, problem: _ADMMProblem, schedule: _ADMMSchedule) -> tuple[torch.Tensor, torch.Tensor]:
    """The ADMM iterations of :func:`hl_deconv`'s masked data term, differentiable (see there): the latent image
    and its blur ``k * x`` on the FFT grid."""
    observed, rho_inverse, spectra, size = problem
    iterations, beta, rate, alpha = schedule
    otf, rho_otf_conj, rho_otf_power, difference_power = spectra
    blurred_x = torch.fft.irfft2(torch.fft.rfft2(x) * otf, s=size)
    gx, gy = gradients(x)
    du, dgx, dgy = torch.zeros_like(x), torch.zeros_like(x), torch.zeros_like(x)  # scaled dual variables
    for _ in range(iterations):
        u = observed + rho_inverse * (blurred_x + du)
        vx, vy = _shrink(gx + dgx, 1 / beta, alpha), _shrink(gy + dgy, 1 / beta, alpha)
        numerator = rho_otf_conj * torch.fft.rfft2(u - du) + beta * torch.fft.rfft2(
            adjoint_gradients(vx - dgx, vy - dgy)
        )
        spectrum = numerator / (rho_otf_power + beta * difference_power)
        x = torch.fft.irfft2(spectrum, s=size)
        blurred_x = torch.fft.irfft2(spectrum * otf, s=size)
        gx, gy = gradients(x)
        du = du + (blurred_x - u)
        # the gradient penalty grows; its scaled dual shrinks in proportion, so the unscaled dual is unchanged
        dgx, dgy = (dgx + gx - vx) / rate, (dgy + gy - vy) / rate
        beta *= rate
    return x, blurred_x


def _masked_admm_inplace(
    x: torch.Tensor, problem: _ADMMProblem, schedule: _ADMMSchedule
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`_masked_admm` with in-place updates of preallocated buffers: no gradient, fewer allocations (each
    fresh image-sized buffer costs page faults comparable to the arithmetic on it)."""
    observed, rho_inverse, spectra, size = problem
    iterations, beta, rate, alpha = schedule
    otf, rho_otf_conj, rho_otf_power, difference_power = spectra
    blurred_x = torch.fft.irfft2(torch.fft.rfft2(x) * otf, s=size)
    gx, gy = torch.empty_like(x), torch.empty_like(x)
    _gradients_into(x, gx, gy)
    du, dgx, dgy = torch.zeros_like(x), torch.zeros_like(x), torch.zeros_like(x)
    u, tx, ty, vx, vy = (torch.empty_like(x) for _ in range(5))
    for _ in range(iterations):
        torch.add(blurred_x, du, out=u).mul_(rho_inverse).add_(observed)
        torch.add(gx, dgx, out=tx)
        torch.add(gy, dgy, out=ty)
        _shrink_into(tx, vx, 1 / beta, alpha)
        _shrink_into(ty, vy, 1 / beta, alpha)
        numerator = torch.fft.rfft2(torch.sub(u, du, out=tx)).mul_(rho_otf_conj)
        _adjoint_gradients_into(vx.sub_(dgx), vy.sub_(dgy), out=ty)
        numerator.add_(torch.fft.rfft2(ty).mul_(beta)).div_(rho_otf_power + beta * difference_power)
        x = torch.fft.irfft2(numerator, s=size)
        blurred_x = torch.fft.irfft2(numerator.mul_(otf), s=size)
        vx.add_(dgx)
        vy.add_(dgy)
        _gradients_into(x, gx, gy)
        du.add_(blurred_x).sub_(u)
        dgx.add_(gx).sub_(vx).div_(rate)
        dgy.add_(gy).sub_(vy).div_(rate)
        beta *= rate
    return x, blurred_x


def richardson_lucy(
    blurred: torch.Tensor,
    kernel: torch.Tensor,
    iterations: int = 20,
    start: torch.Tensor | None = None,
    eps: float = 1e-12,
) -> torch.Tensor:
    """Richardson-Lucy deconvolution on a reflect-padded image: ``x <- x * (k' * (y / (k * x)))``, from ``start``
    (the observation itself when None; scikit-image starts from 0.5 everywhere).

    Example:
        >>> x = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0)) + 0.1
        >>> delta = torch.zeros(1, 3, 3); delta[0, 1, 1] = 1
        >>> bool(torch.allclose(richardson_lucy(x, delta, 5), x, atol=1e-5))
        True
    """
    kernel = _check(blurred, kernel)
    batch, channels = blurred.shape[:2]
    kh, kw = kernel.shape[-2:]
    weights = kernel.expand(batch, kh, kw)
    flat = weights.repeat_interleave(channels, 0)[:, None]  # (B*C, 1, kh, kw): one group per channel
    padded = F.pad(blurred, (kw, kw, kh, kh), mode="reflect").clamp(min=0)
    grouped = padded.reshape(1, batch * channels, *padded.shape[-2:])
    first = blurred if start is None else start.to(blurred).expand_as(blurred)
    estimate = F.pad(first, (kw, kw, kh, kh), mode="reflect").reshape(grouped.shape)

    def convolve(image: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
        padded_image = F.pad(image, (kw // 2, kw // 2, kh // 2, kh // 2), mode="replicate")
        return F.conv2d(padded_image, taps, groups=batch * channels)

    forward, adjoint = flat.flip(-1, -2), flat  # conv2d correlates: a flipped kernel convolves
    for _ in range(iterations):
        ratio = grouped / convolve(estimate, forward).clamp(min=eps)
        estimate = estimate * convolve(ratio, adjoint)
    out = estimate.reshape(batch, channels, *padded.shape[-2:])
    return out[..., kh : kh + blurred.shape[-2], kw : kw + blurred.shape[-1]]


class WienerDeconv(torch.nn.Module):
    """Module twin of :func:`wiener_deconv`: ``module(blurred, kernel)``."""

    def __init__(self, nsr: float | None = None) -> None:
        super().__init__()
        self.nsr = nsr

    def forward(self, blurred: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        return wiener_deconv(blurred, kernel, self.nsr)


class HLDeconv(torch.nn.Module):
    """Module twin of :func:`hl_deconv`: ``module(blurred, kernel, weight=None)`` (None: the module's weight)."""

    def __init__(self, weight: float | None = 7e-4, alpha: float = 2 / 3, **options: object) -> None:
        super().__init__()
        self.weight, self.alpha, self.options = weight, alpha, options

    def forward(self, blurred: torch.Tensor, kernel: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        return hl_deconv(blurred, kernel, self.weight if weight is None else weight, self.alpha, **self.options)


class RichardsonLucy(torch.nn.Module):
    """Module twin of :func:`richardson_lucy`."""

    def __init__(self, iterations: int = 20) -> None:
        super().__init__()
        self.iterations = iterations

    def forward(self, blurred: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        return richardson_lucy(blurred, kernel, self.iterations)
