"""Devices and seeds: resolve ``"auto"`` once at the entry point, seed every generator from one number.

Library code follows its inputs (``torch.zeros(..., device=x.device)``); only entry points (CLI commands, the
top-level Python API) turn a user's ``"auto"`` into a concrete :class:`torch.device`.
"""

from __future__ import annotations

import random

import numpy as np
import torch

from deblur.errors import ConfigError


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"mps"`` into an available device.

    Args:
        device: ``"auto"`` picks CUDA, then Apple MPS, then the CPU.

    Returns:
        The device.

    Raises:
        ConfigError: the device is unknown or not available on this machine.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if isinstance(device, torch.device):
        return device
    name = str(device).strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps") from exc
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} asked for, but CUDA is not available here: use --device cpu")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ConfigError(f"device {device!r} asked for, but only {torch.cuda.device_count()} CUDA device(s) exist")
    if resolved.type == "mps" and not (
        getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    ):
        raise ConfigError(f"device {device!r} asked for, but MPS is not available here: use --device cpu")
    return resolved


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices) and return a CPU generator seeded the same way.

    Args:
        seed: any non-negative integer.

    Returns:
        A fresh CPU :class:`torch.Generator` seeded with ``seed``, for code that takes an explicit generator.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def device_generator(seed: int, device: torch.device | str) -> torch.Generator:
    """A generator on ``device`` seeded with ``seed``, for noise drawn where the image lives.

    Example:
        >>> g = device_generator(0, "cpu")
        >>> torch.rand(1, generator=g).item() == torch.rand(1, generator=torch.Generator().manual_seed(0)).item()
        True
    """
    return torch.Generator(device=torch.device(device)).manual_seed(int(seed))
