"""Non-blind deconvolution (deblur.ops.deconv): shapes, the identity for a delta kernel, agreement with
scikit-image's Wiener and Richardson-Lucy, gradients, recovery of a known image, and the Module twins."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deblur.metrics import psnr
from deblur.ops.conv import blur, crop_valid
from deblur.ops.deconv import (
    HLDeconv,
    RichardsonLucy,
    WienerDeconv,
    estimate_noise,
    hl_deconv,
    richardson_lucy,
    wiener_deconv,
)
from deblur.ops.fft import psf_to_otf


def _image(seed: int = 0, size: int = 48, channels: int = 3) -> torch.Tensor:
    """A smooth random image with edges: blurred noise plus a bright square."""
    g = torch.Generator().manual_seed(seed)
    x = F.avg_pool2d(torch.rand(1, channels, size + 4, size + 4, generator=g), 5, 1)
    x[..., size // 4 : size // 2, size // 4 : size // 2] += 0.4
    return x.clamp(0, 1)


def _kernel(size: int = 7, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    k = torch.rand(size, size, generator=g) ** 4
    return (k / k.sum())[None]


def _delta(size: int = 5) -> torch.Tensor:
    k = torch.zeros(1, size, size)
    k[0, size // 2, size // 2] = 1.0
    return k


METHODS = {
    "wiener": lambda y, k: wiener_deconv(y, k, nsr=1e-3),
    "hl": lambda y, k: hl_deconv(y, k, weight=1e-4),
    "hl_taper": lambda y, k: hl_deconv(y, k, weight=1e-4, boundary="taper"),
    "rl": lambda y, k: richardson_lucy(y, k, 10),
}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_shape_batched_with_per_sample_kernels(name: str) -> None:
    images = torch.cat([_image(0, 40), _image(1, 40)])[..., :37, :]  # odd and even sides
    kernels = torch.cat([_kernel(7, 0), _kernel(7, 1)])
    out = METHODS[name](images, kernels)
    assert out.shape == images.shape and out.dtype == images.dtype and torch.isfinite(out).all()
    # per sample: the batch gives what each image alone gives
    alone = METHODS[name](images[1:], kernels[1:])
    torch.testing.assert_close(out[1:], alone, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_values_delta_kernel_is_the_identity(name: str) -> None:
    image = _image(2, 32) * 0.8 + 0.1
    out = METHODS[name](image, _delta())
    assert float((out - image).abs().max()) < 2e-2, name


def test_values_wiener_matches_scikit_image_on_a_periodic_image() -> None:
    from skimage.restoration import wiener as sk_wiener

    image, kernel = _image(3, 40, 1), _kernel(7, 3)
    otf = psf_to_otf(kernel, (40, 40))
    circular = torch.fft.irfft2(torch.fft.rfft2(image) * otf, s=(40, 40))  # a periodic blur: no border question
    ours = wiener_deconv(circular, kernel, nsr=0.01, boundary="circular")
    theirs = sk_wiener(
        circular[0, 0].double().numpy(), kernel[0].double().numpy(), 0.01, reg=np.ones((1, 1)), clip=False
    )
    np.testing.assert_allclose(ours[0, 0].numpy(), theirs, atol=1e-4)


def test_values_richardson_lucy_matches_scikit_image_inside() -> None:
    from skimage.restoration import richardson_lucy as sk_rl

    image = F.pad(_image(4, 32, 1), (12, 12, 12, 12))  # dark borders: every padding convention agrees there
    kernel = _kernel(5, 4)
    blurred = blur(image, kernel, padding="same", border="constant")
    start = torch.full_like(blurred, 0.5)  # scikit-image's starting estimate
    ours = richardson_lucy(blurred, kernel, 8, start=start)
    theirs = sk_rl(blurred[0, 0].double().numpy(), kernel[0].double().numpy(), num_iter=8, clip=False)
    np.testing.assert_allclose(ours[0, 0, 8:-8, 8:-8].numpy(), theirs[8:-8, 8:-8], atol=1e-4)


def test_values_known_image_comes_back_from_valid_blur() -> None:
    """A valid blur with 1% noise: hyper-Laplacian deconvolution gains at least 4 dB and beats Wiener."""
    sharp = _image(5, 96)
    kernel = _kernel(9, 5)
    g = torch.Generator().manual_seed(5)
    blurred = blur(sharp, kernel, padding="valid")
    blurred = (blurred + 0.01 * torch.randn(blurred.shape, generator=g)).clamp(0, 1)
    target = crop_valid(sharp, 9)
    scores = {
        "blurred": float(psnr(blurred, target)),
        "wiener": float(psnr(wiener_deconv(blurred, kernel).clamp(0, 1), target)),
        "hl": float(psnr(hl_deconv(blurred, kernel).clamp(0, 1), target)),
    }
    assert scores["hl"] > scores["blurred"] + 4 and scores["hl"] > scores["wiener"], scores


def test_values_noise_estimate() -> None:
    g = torch.Generator().manual_seed(6)
    image = F.avg_pool2d(torch.rand(1, 3, 136, 136, generator=g), 9, 1)  # smooth content: the estimator's case
    for sigma in (0.01, 0.02, 0.05):
        noisy = image + sigma * torch.randn(image.shape, generator=g)
        assert float(estimate_noise(noisy)) == pytest.approx(sigma, rel=0.25)


@pytest.mark.parametrize("name", ["wiener", "hl", "rl"])
def test_gradcheck(name: str) -> None:
    image = (_image(7, 12, 1) * 0.8 + 0.1).double().requires_grad_(True)
    kernel = _kernel(3, 7).double().requires_grad_(True)
    fn = {
        "wiener": lambda y, k: wiener_deconv(y, k, nsr=0.05),
        "hl": lambda y, k: hl_deconv(y, k, weight=1e-2, alpha=2.0, beta_max=4.0),  # smooth prior: differentiable
        "rl": lambda y, k: richardson_lucy(y, k, 2),
    }[name]
    assert torch.autograd.gradcheck(fn, (image, kernel), eps=1e-6, atol=1e-4)


def test_module_matches_function() -> None:
    image, kernel = _image(8, 32), _kernel(5, 8)
    torch.testing.assert_close(WienerDeconv(0.01)(image, kernel), wiener_deconv(image, kernel, 0.01))
    torch.testing.assert_close(HLDeconv(1e-3)(image, kernel), hl_deconv(image, kernel, 1e-3))
    torch.testing.assert_close(RichardsonLucy(4)(image, kernel), richardson_lucy(image, kernel, 4))


def test_exception_shapes() -> None:
    with pytest.raises(ValueError, match="expected image"):
        hl_deconv(torch.rand(3, 8, 8), _kernel(3))
    with pytest.raises(ValueError, match="odd sides"):
        wiener_deconv(torch.rand(1, 3, 8, 8), torch.ones(1, 4, 4) / 16)
    with pytest.raises(ValueError, match="2 kernels for a batch of 3"):
        richardson_lucy(torch.rand(3, 1, 8, 8), torch.ones(2, 3, 3) / 9)


def test_values_hl_deconv_in_place_path_matches_the_differentiable_one() -> None:
    """Without gradients hl_deconv runs the same ADMM steps in place: the same result as the recorded path."""
    generator = torch.Generator().manual_seed(5)
    image = torch.rand(2, 3, 40, 52, generator=generator)
    kernel = torch.rand(2, 9, 9, generator=generator)
    kernel = kernel / kernel.sum((1, 2), keepdim=True)
    with torch.no_grad():
        fast = hl_deconv(image, kernel, 7e-4, iterations=6, beta_max=32.0)
    recorded = hl_deconv(image.requires_grad_(), kernel, 7e-4, iterations=6, beta_max=32.0)
    assert recorded.requires_grad and not fast.requires_grad
    torch.testing.assert_close(fast, recorded.detach(), atol=1e-5, rtol=1e-5)


def test_values_hl_residual_is_the_reblur_misfit_and_grows_with_a_wrong_kernel() -> None:
    """The residual k * x - y on the observed pixels: the same latent as without it, near the noise given the true
    kernel, larger given a shifted, stretched one along the edges it rings on; recorded and in-place paths agree."""
    blocks = torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(3))
    sharp = F.interpolate(blocks, size=(96, 96), mode="nearest")  # sharp edges everywhere
    kernel = _kernel(9, 5)
    g = torch.Generator().manual_seed(5)
    blurred = (blur(sharp, kernel, padding="valid") + 0.01 * torch.randn(1, 3, 88, 88, generator=g)).clamp(0, 1)
    options = {"iterations": 5, "beta_max": 32.0}
    with torch.no_grad():
        latent, residual = hl_deconv(blurred, kernel, 1e-3, residual=True, **options)
        torch.testing.assert_close(latent, hl_deconv(blurred, kernel, 1e-3, **options))
        wrong = F.interpolate(kernel[:, None], scale_factor=1.4, mode="bilinear")[0, :, 1:10, 1:10].roll(2, -1)
        _, misfit = hl_deconv(blurred, wrong / wrong.sum(), 1e-3, residual=True, **options)
    assert residual.shape == blurred.shape
    inner = (slice(None), slice(None), slice(4, -4), slice(4, -4))
    exact_rms, wrong_rms = residual[inner].pow(2).mean().sqrt(), misfit[inner].pow(2).mean().sqrt()
    assert exact_rms < 0.012 and wrong_rms > 1.4 * exact_rms, (float(exact_rms), float(wrong_rms))
    _, recorded = hl_deconv(blurred.clone().requires_grad_(), kernel, 1e-3, residual=True, **options)
    torch.testing.assert_close(recorded.detach(), residual, atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="masked boundary"):
        hl_deconv(blurred, kernel, boundary="taper", residual=True)


def test_values_wiener_is_the_same_for_a_channels_last_image() -> None:
    """restore passes channels_last images: wiener_deconv makes them contiguous first, with the same result."""
    image, kernel = _image(3), torch.full((1, 5, 5), 1 / 25)
    strided = image.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(wiener_deconv(strided, kernel, 1e-3), wiener_deconv(image, kernel, 1e-3))
