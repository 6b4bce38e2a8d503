"""Degradations: turn a batch of sharp images into blurred ones, per sample, on the images' device.

Synthesis happens in two steps, as in kornia's augmentations: :func:`sample_params` draws everything random for a
batch (kernels, noise levels, JPEG qualities, a noise seed) from one explicit generator, and :func:`degrade`
applies those parameters deterministically, so a batch can be replayed from its parameters and the same seed gives
bit-identical output on the same device. The pipeline, per sample::

    [sRGB -> linear] -> boost highlights -> blur (kernel) -> [linear -> sRGB] -> clip
        -> Poisson-Gaussian noise -> clip -> JPEG

Blur is :func:`deblur.ops.conv.blur`, a true convolution (a point of light draws the kernel itself).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

import cv2
import kornia
import torch

from deblur.config import SynthConfig
from deblur.device import device_generator
from deblur.ops.conv import FFT_FROM_KERNEL_SIZE as FFT_FROM_KERNEL_SIZE  # re-exported: the old import path
from deblur.ops.conv import Blur as Blur  # re-exported: the old import path
from deblur.ops.conv import blur, crop_valid  # crop_valid re-exported too: the old import path
from deblur.ops.conv import choose_conv_method as choose_conv_method  # re-exported: the old import path
from deblur.synth.bank import KernelBank
from deblur.synth.kernels import SAMPLERS, KernelSampler, sample_uniform


def add_noise(
    image: torch.Tensor,
    sigma: torch.Tensor,
    poisson: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Poisson-Gaussian sensor noise, per sample: ``a * Poisson(x / a) + N(0, sigma^2)``.

    Args:
        image: ``(B, C, H, W)`` in [0, 1].
        sigma: ``(B,)`` Gaussian standard deviations.
        poisson: ``(B,)`` photon-noise scales ``a`` (0: none for that sample); ``None``: Gaussian noise only.
        generator: a generator on the image's device.

    Returns:
        The noisy batch (not clipped).
    """
    view = (-1, 1, 1, 1)
    noisy = image
    if poisson is not None:
        scale = poisson.to(image).view(view)
        safe = torch.where(scale > 0, scale, torch.ones_like(scale))
        counts = torch.poisson(image.clamp(min=0) / safe, generator=generator)
        noisy = torch.where(scale > 0, counts * safe, image)
    noise = torch.randn(image.shape, generator=generator, device=image.device, dtype=image.dtype)
    return noisy + sigma.to(image).view(view) * noise


def jpeg_compress(image: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """Re-compress each image as JPEG at its own quality, with OpenCV's libjpeg (4:2:0 chroma, as cameras do).

    Runs on the CPU whatever the batch's device, so the result is the same on every device.

    Args:
        image: ``(B, 3, H, W)`` RGB in [0, 1].
        quality: ``(B,)`` integer qualities 1-100; 0 leaves that sample untouched.

    Returns:
        The decoded batch in [0, 1], on the input's device; not differentiable.
    """
    out = image.clone()
    for i in (quality > 0).nonzero().flatten().tolist():
        pixels = (image[i].detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
        ok, encoded = cv2.imencode(".jpg", pixels[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality[i])])
        if not ok:
            raise RuntimeError("OpenCV failed to encode a JPEG")
        decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)[:, :, ::-1]
        out[i] = torch.from_numpy(decoded.transpose(2, 0, 1).copy()).to(image) / 255.0
    return out


def boost_highlights(image: torch.Tensor, gain: torch.Tensor, threshold: float) -> torch.Tensor:
    """Make near-white pixels brighter than white, so that after blurring and clipping they streak as light
    sources do in real blurred photos (a sensor clips the integral, not the sharp image).

    The boost ramps from 1 at luminance ``threshold`` to ``gain`` at luminance 1, with no jump.
    """
    luminance = kornia.color.rgb_to_grayscale(image.clamp(0, 1))
    ramp = ((luminance - threshold) / max(1.0 - threshold, 1e-6)).clamp(0, 1)
    return image * (1 + (gain.to(image).view(-1, 1, 1, 1) - 1) * ramp)


@dataclass(frozen=True)
class DegradeParams:
    """Everything random about a degraded batch; :func:`degrade` is deterministic given these.

    Attributes:
        kernels: ``(B, k, k)`` blur kernels, on the images' device.
        kinds: kernel kind of each sample.
        noise_sigma: ``(B,)`` Gaussian noise levels (this and the other scalars on the CPU).
        poisson: ``(B,)`` photon-noise scales (0: none).
        jpeg_quality: ``(B,)`` JPEG qualities (0: no JPEG).
        highlight_gain: ``(B,)`` highlight boosts (1: none).
        noise_seed: seed of the noise generator on the images' device.
        config: the synthesis config these were drawn from (linear light, valid, threshold, method).
    """

    kernels: torch.Tensor
    kinds: tuple[str, ...]
    noise_sigma: torch.Tensor
    poisson: torch.Tensor
    jpeg_quality: torch.Tensor
    highlight_gain: torch.Tensor
    noise_seed: int
    config: SynthConfig

    def __len__(self) -> int:
        return int(self.kernels.shape[0])

    def to(self, device: torch.device | str) -> DegradeParams:
        """The same parameters with the kernels on ``device``; the per-sample scalars stay on the CPU, where
        deciding which steps to run needs no device synchronisation."""
        return replace(self, kernels=self.kernels.to(device))

    def records(self) -> list[dict[str, Any]]:
        """Per-sample scalars for a manifest (kernels are saved separately)."""
        return [
            {
                "kind": self.kinds[i],
                "noise_sigma": round(float(self.noise_sigma[i]), 6),
                "poisson": round(float(self.poisson[i]), 6),
                "jpeg_quality": int(self.jpeg_quality[i]),
                "highlight_gain": round(float(self.highlight_gain[i]), 4),
            }
            for i in range(len(self))
        ]


def kernel_sampler(kind: str, config: SynthConfig) -> KernelSampler:
    """The sampler of one kernel kind with the config's ranges bound: ``sampler(batch, size, generator, device)``."""
    if kind.startswith("bank:"):
        return KernelBank.from_path(kind[len("bank:") :]).sample
    ranges: dict[str, dict[str, Any]] = {
        "motion": {"length": config.motion_length},
        "trajectory": {
            "extent": config.trajectory_extent,
            "exposure": config.exposure,
            "anxiety": config.anxiety,
            "dwell": config.dwell,
        },
        "gaussian": {"sigma": config.gaussian_sigma},
        "anisotropic": {"sigma": config.gaussian_sigma},
        "defocus": {"radius": config.defocus_radius},
    }
    return functools.partial(SAMPLERS[kind], **ranges[kind])


def sample_params(
    config: SynthConfig, batch: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
) -> DegradeParams:
    """Draw the degradation of a batch: a kernel kind and kernel per sample, noise, JPEG and highlight settings.

    Args:
        config: what to draw from.
        batch: number of samples.
        generator: a CPU generator; the same seed gives the same parameters on every machine.
        device: where the returned tensors live (the images' device).

    Returns:
        The batch's :class:`DegradeParams`.
    """
    if generator is not None and generator.device.type != "cpu":
        raise ValueError("sample_params draws on the CPU: pass a CPU torch.Generator")
    choice = torch.randint(len(config.kernels), (batch,), generator=generator)
    kernels = torch.zeros(batch, config.size, config.size)
    for i, kind in enumerate(config.kernels):
        index = (choice == i).nonzero().flatten()
        if len(index):
            kernels[index] = kernel_sampler(kind, config)(len(index), config.size, generator)
    noise_sigma = sample_uniform(batch, config.noise, generator)
    poisson = sample_uniform(batch, config.poisson, generator)
    low, high = config.jpeg_quality
    quality = torch.randint(low, high + 1, (batch,), generator=generator)
    quality = torch.where(torch.rand(batch, generator=generator) < config.jpeg_prob, quality, 0)
    gain = sample_uniform(batch, config.saturation_gain, generator)
    gain = torch.where(torch.rand(batch, generator=generator) < config.saturation_prob, gain, 1.0)
    noise_seed = int(torch.randint(2**62, (1,), generator=generator))
    params = DegradeParams(
        kernels=kernels,
        kinds=tuple(config.kernels[i] for i in choice.tolist()),
        noise_sigma=noise_sigma,
        poisson=poisson,
        jpeg_quality=quality,
        highlight_gain=gain,
        noise_seed=noise_seed,
        config=config,
    )
    return params.to(device) if device is not None else params


def degrade(sharp: torch.Tensor, params: DegradeParams) -> torch.Tensor:
    """Apply a batch's degradation parameters: blur, clip, noise, clip, JPEG.

    Args:
        sharp: ``(B, 3, H, W)`` in [0, 1], on any device.
        params: from :func:`sample_params`, same batch size.

    Returns:
        The blurred batch in [0, 1], ``(B, 3, H, W)`` or ``(B, 3, H - k + 1, W - k + 1)`` if ``config.valid``.
    """
    if sharp.shape[0] != len(params):
        raise ValueError(f"{sharp.shape[0]} images but parameters for {len(params)}")
    config = params.config
    # decide on the CPU and copy the few scalars before any kernel is queued: no waiting on the device later
    boost = bool((params.highlight_gain > 1).any())
    gain = params.highlight_gain.to(sharp.device)
    sigma = params.noise_sigma.to(sharp.device)
    poisson = params.poisson.to(sharp.device) if bool((params.poisson > 0).any()) else None
    image = kornia.color.rgb_to_linear_rgb(sharp.clamp(0, 1)) if config.linear_light else sharp
    if boost:
        image = boost_highlights(image, gain, config.saturation_threshold)
    image = blur(image, params.kernels, padding="valid" if config.valid else "same", method=config.conv)
    if config.linear_light:
        image = kornia.color.linear_rgb_to_rgb(image.clamp(0, None))
    image = image.clamp(0, 1)
    generator = device_generator(params.noise_seed, sharp.device)
    image = add_noise(image, sigma, poisson, generator).clamp(0, 1)
    if bool((params.jpeg_quality > 0).any()):
        image = jpeg_compress(image, params.jpeg_quality)
    return image


def make_pairs(
    sharp: torch.Tensor, config: SynthConfig, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, DegradeParams]:
    """Sample parameters and degrade a batch in one call: ``(blurred, sharp, params)``.

    ``sharp`` comes back cropped to the blurred image's extent when ``config.valid`` is set, so the pair is aligned.
    """
    params = sample_params(config, sharp.shape[0], generator, sharp.device)
    blurred = degrade(sharp, params)
    return blurred, (crop_valid(sharp, config.size) if config.valid else sharp), params


__all__ = ["DegradeParams", "add_noise", "degrade", "jpeg_compress", "kernel_sampler", "make_pairs", "sample_params"]
