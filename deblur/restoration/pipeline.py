"""The restoration API for arrays and tensors: choose what restores (:func:`prepare_restorer`), then run it.

:func:`restore` takes a NumPy array ``(H, W[, C])`` (uint8, uint16 or float) or a tensor ``(C, H, W)`` /
``(B, C, H, W)`` and returns the same kind, dtype and shape. Grey images are restored as RGB and converted back; an
alpha channel passes through unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from deblur.device import resolve_device
from deblur.errors import ConfigError, DeblurError
from deblur.io import from_float, to_float
from deblur.restoration.blind import BlindRestorer
from deblur.restoration.models import KernelDeconvolution, WithKernel, load_critic, load_kernel, load_restorer
from deblur.restoration.tiling import DEFAULT_OVERLAP, auto_tile, module_device, restore_tensor


def prepare_restorer(
    model: nn.Module | str | Path | None = None,
    kernel: torch.Tensor | np.ndarray | str | Path | None = None,
    device: str | torch.device = "cpu",
    kernel_weight: float | None = None,
    kernel_size: int | None = None,
    strength: float | None = None,
    region: tuple[int, int, int, int] | None = None,
) -> tuple[nn.Module | BlindRestorer, dict[str, Any], int]:
    """What a restoration runs: ``(module(blurred) -> restored, its description, the least tile overlap)``.

    A model (file, loaded network, or None for the shipped default) restores as it is; with a known ``kernel``
    (a ``(k, k)`` array or a kernel file) a kernel-aware model gets it, and without a model the kernel is
    deconvolved (:class:`KernelDeconvolution`, prior weight ``kernel_weight`` or from the noise). A kernel-aware
    model with an estimator and no kernel restores blind: a :class:`BlindRestorer` (``kernel_size`` bounds the
    estimated kernel, ``strength`` blends toward the input; None takes the model file's, see
    :func:`deblur.restoration.blind.blind_settings`).

    Raises:
        ConfigError: a kernel-aware model without a kernel or an estimator, or a kernel for a model that takes
            none.
    """
    device = resolve_device(device)
    if kernel is not None and not isinstance(kernel, torch.Tensor):
        kernel = load_kernel(kernel) if isinstance(kernel, (str, Path)) else torch.as_tensor(np.asarray(kernel))
    if kernel is not None and model is None:
        info = {"task": "deblur", "net": {"name": "hl_deconv"}}
        return KernelDeconvolution(kernel, kernel_weight).to(device), info, kernel.shape[-1]
    if isinstance(model, nn.Module):
        # channels_last weights, as load_restorer gives: with NCHW weights every convolution converts them per call
        # (measured 1.4x the bare network at 720p, against 1.1x)
        net = model.to(memory_format=torch.channels_last)
        info = {"task": "deblur", "net": dict(getattr(model, "spec", {"name": type(model).__name__}))}
    else:
        net, info = load_restorer(model, device)
    takes_kernel = bool(getattr(net, "takes_kernel", False))
    name = model if isinstance(model, (str, Path)) else "the default model" if model is None else "this network"
    if takes_kernel and kernel is None:
        if getattr(net, "estimator", None) is not None:
            critic = load_critic(info, model, device) if not isinstance(model, nn.Module) else None
            blind = BlindRestorer.from_model(net, info, kernel_size, strength, None, str(name), critic, region)
            return blind, info, 0
        raise ConfigError(f"{name} is kernel-aware: pass the blur kernel with --kernel PSF")
    if kernel is not None and not takes_kernel:
        raise ConfigError(f"{name} takes no kernel: give --kernel without --model to deconvolve with it")
    if kernel is None:
        return net, info, 0
    return WithKernel(net, kernel).to(device), info, kernel.shape[-1]


FLOAT_SLACK = 0.1
"""How far outside [0, 1] float array values may lie (noise, rounding) before the array is refused rather than
clipped: an image scaled to [0, 255] must not come back white."""


def _check_array(array: np.ndarray) -> None:
    """Refuse what :func:`restore` cannot take as an image array, in one line: its shape, NaN or infinite values,
    float values outside [0, 1]."""
    if array.ndim not in (2, 3) or array.size == 0:
        raise ConfigError(f"images must be arrays (H, W) or (H, W, C) with pixels, got shape {array.shape}")
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise ConfigError("the image holds NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if low < -FLOAT_SLACK or high > 1 + FLOAT_SLACK:
            raise ConfigError(
                f"float images must hold values in [0, 1], got {low:g} to {high:g}: scale them (for 8-bit values, "
                "divide by 255), or pass uint8 or uint16 arrays"
            )


def _check_tensor(image: torch.Tensor) -> None:
    """Refuse what :func:`restore` cannot take as an image tensor, in one line."""
    if not image.is_floating_point():
        raise ConfigError(
            f"tensors must be float images in [0, 1], got {image.dtype}: convert them (for uint8, x.float() / 255)"
        )
    if image.ndim not in (3, 4) or image.numel() == 0:
        raise ConfigError(f"tensors must be (C, H, W) or (B, C, H, W) with pixels, got shape {tuple(image.shape)}")
    if not bool(torch.isfinite(image).all()):
        raise ConfigError("the image holds NaN or infinite values")


def _to_float_rgb(array: np.ndarray) -> tuple[torch.Tensor, dict[str, Any]]:
    """``(H, W[, C])`` array -> ``(1, 3, H, W)`` float tensor in [0, 1] and what is needed to convert back."""
    info: dict[str, Any] = {
        "dtype": array.dtype,
        "ndim": array.ndim,
        "channels": 1 if array.ndim == 2 else array.shape[2],
    }
    values, info["scale"] = to_float(array)
    if values.ndim == 2:
        values = values[..., None]
    if values.shape[2] not in (1, 2, 3, 4):
        raise ConfigError(f"images must have 1 to 4 channels, got {values.shape[2]}")
    colour = values[..., :3] if values.shape[2] >= 3 else values[..., :1].expand(-1, -1, 3)
    info["alpha"] = values[..., -1:] if values.shape[2] in (2, 4) else None
    return colour.permute(2, 0, 1)[None], info  # channels_last already: the layout the network runs in


def _from_float_rgb(restored: torch.Tensor, info: dict[str, Any]) -> np.ndarray:
    rgb = restored[0].permute(1, 2, 0).cpu()
    colour = rgb.mean(dim=2, keepdim=True) if info["channels"] in (1, 2) else rgb
    if info["alpha"] is not None:
        colour = torch.cat([colour, info["alpha"]], dim=2)
    if info["ndim"] == 2:
        colour = colour[..., 0]
    return from_float(colour, info["dtype"])


def restore(
    image: np.ndarray | torch.Tensor,
    model: nn.Module | str | Path | None = None,
    tile: int | str | None = "auto",
    overlap: int = DEFAULT_OVERLAP,
    device: str | torch.device = "auto",
    half: bool = False,
    kernel: torch.Tensor | np.ndarray | str | Path | None = None,
    kernel_size: int | None = None,
    strength: float | None = None,
    estimates: list | None = None,
    region: tuple[int, int, int, int] | None = None,
) -> np.ndarray | torch.Tensor:
    """Deblur one image (or a batch of tensors) and return the same kind, shape and dtype.

    Args:
        image: a NumPy array ``(H, W)`` or ``(H, W, C)`` (uint8, uint16, or float in [0, 1]; C = 1, 2, 3 or 4 with
            alpha last), or a float tensor ``(C, H, W)`` / ``(B, C, H, W)`` in [0, 1] with C = 1, 3 or 4. Anything
            else is refused with a :class:`~deblur.errors.ConfigError` (:class:`TypeError` for what is neither):
            other shapes, empty images, NaN or infinite values, float arrays outside [0, 1] (give them scaled,
            not in [0, 255]), integer or bool tensors (convert them to float in [0, 1]). The result is a normal
            tensor (no autograd history, not an inference tensor).
        model: a loaded network, a model file, or None for the shipped default model.
        tile, overlap: tiled inference (see :func:`restore_tensor`); ``tile="auto"`` is the fixed
            :data:`~deblur.restoration.tiling.AUTO_TILE` (1024 px, :func:`auto_tile`): photos up to that side are
            restored in one piece, and a photo gives the same pixels on every machine (a given tile fixes the result
            too).
        device: where the network runs (``auto``: CUDA, then MPS, then CPU).
        half: half precision on CUDA.
        kernel: the blur kernel when it is known (a ``(k, k)`` array or a kernel file): for a kernel-aware model,
            or, with ``model=None``, for non-blind deconvolution (see :func:`prepare_restorer`).
        kernel_size, strength: for blind restoration (a model with a kernel estimator and no ``kernel``): the
            estimated kernel's size bound (odd; None: the model's) and the blend toward the input (0 to 1; None:
            the model's, see :func:`blind_settings`).
        estimates: a list that receives each image's :class:`~deblur.restoration.blind.BlindEstimate` (blind
            restoration only).
        region: blind restoration: ``(top, left, height, width)`` of the window to estimate the kernel on (None:
            the window with the most edges).

    Example:
        >>> import numpy as np
        >>> from deblur.nets import create_net
        >>> net = create_net("unet", width=4, depth=2, blocks=1).eval()
        >>> restore(np.zeros((8, 8, 3), np.uint8), net).shape
        (8, 8, 3)
    """
    where = module_device(model) if isinstance(model, nn.Module) else device  # a loaded net stays where it is
    if isinstance(model, BlindRestorer):
        net, reach = model, 0
    else:
        net, _, reach = prepare_restorer(
            model, kernel, where, kernel_size=kernel_size, strength=strength, region=region
        )
    overlap = max(overlap, reach)
    blind = net if isinstance(net, BlindRestorer) else None
    if tile == "auto":
        tile = auto_tile()

    def run(colour: torch.Tensor) -> torch.Tensor:
        known = getattr(net, "kernel", None)  # a known kernel (WithKernel, KernelDeconvolution): (1, k, k)
        if isinstance(known, torch.Tensor) and known.shape[-1] > min(colour.shape[-2:]):
            height, width = colour.shape[-2:]
            raise ConfigError(
                f"the kernel ({known.shape[-2]}x{known.shape[-1]} px) is larger than the image ({height}x{width} "
                "px): it cannot be deconvolved"
            )
        if blind is None:
            return _finite(restore_tensor(net, colour, tile, overlap, half))
        restored, found = blind.restore(colour, tile, overlap, half)
        if estimates is not None:
            estimates.extend(found)
        return _finite(restored)

    if isinstance(image, np.ndarray):
        _check_array(image)
        colour, info = _to_float_rgb(image)
        return _from_float_rgb(run(colour), info)
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"restore takes a NumPy array or a torch tensor, got {type(image).__name__}")
    _check_tensor(image)
    batched = image.ndim == 4
    x = image if batched else image[None]
    channels = x.shape[1]
    if channels not in (1, 3, 4):
        raise ConfigError(f"tensors must have 1, 3 or 4 channels, got {channels}")
    colour = x[:, :3] if channels >= 3 else x.expand(-1, 3, -1, -1)
    restored = run(colour.float())
    if channels == 1:
        restored = restored.mean(1, keepdim=True)
    elif channels == 4:
        restored = torch.cat([restored, x[:, 3:].float()], dim=1)
    restored = restored.to(image.dtype)
    return restored if batched else restored[0]


def _finite(restored: torch.Tensor) -> torch.Tensor:
    if not bool(torch.isfinite(restored).all()):
        raise NonFiniteOutput("the model returned NaN or infinite values")
    return restored


class NonFiniteOutput(DeblurError):
    """A model returned NaN or infinite values."""
