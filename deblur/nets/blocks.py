"""Layers the networks share: normalisation and activation layers by name (:func:`make_norm`, :func:`make_activation`,
with the accepted names in :data:`NORMS` and :data:`ACTIVATIONS`), the U-Net's stack of 3x3 convolutions
(:func:`conv_block`), and the weight initialisation of DCGAN (Radford et al. 2016) that the DCGAN and LAPGAN nets
use (:func:`init_dcgan_weights`).
"""

from __future__ import annotations

from torch import nn

NORMS = ("none", "batch", "instance", "group")
"""Names :func:`make_norm` accepts."""
ACTIVATIONS = ("relu", "lrelu", "gelu", "silu")
"""Names :func:`make_activation` accepts."""


def make_norm(kind: str, channels: int) -> nn.Module:
    """A normalisation layer by name (``none`` gives identity; ``group`` uses up to 8 groups).

    Raises:
        ValueError: a name not in :data:`NORMS`.

    Example:
        >>> type(make_norm("instance", 8)).__name__, make_norm("group", 32).num_groups
        ('InstanceNorm2d', 8)
        >>> make_norm("none", 8)
        Identity()
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "group":
        return nn.GroupNorm(min(8, channels), channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}: use one of {', '.join(NORMS)}")


def make_activation(kind: str) -> nn.Module:
    """An activation by name (``lrelu`` has slope 0.2).

    Raises:
        ValueError: a name not in :data:`ACTIVATIONS`.

    Example:
        >>> make_activation("lrelu")
        LeakyReLU(negative_slope=0.2)
    """
    layers = {"relu": nn.ReLU, "lrelu": lambda: nn.LeakyReLU(0.2), "gelu": nn.GELU, "silu": nn.SiLU}
    if kind not in layers:
        raise ValueError(f"unknown activation {kind!r}: use one of {', '.join(ACTIVATIONS)}")
    return layers[kind]()


def conv_block(in_channels: int, out_channels: int, count: int, norm: str, act: str) -> nn.Sequential:
    """``count`` times (3x3 convolution, normalisation, activation); the convolutions have a bias only without a norm
    (a norm's shift replaces it).

    Shape:
        ``(B, in_channels, H, W) -> (B, out_channels, H, W)``.

    Example:
        >>> import torch
        >>> conv_block(3, 8, 2, "batch", "relu")(torch.rand(2, 3, 16, 16)).shape
        torch.Size([2, 8, 16, 16])
    """
    layers: list[nn.Module] = []
    for i in range(count):
        layers += [
            nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1, bias=norm == "none"),
            make_norm(norm, out_channels),
            make_activation(act),
        ]
    return nn.Sequential(*layers)


def init_dcgan_weights(module: nn.Module) -> None:
    """Weights from N(0, 0.02), batch-norm scales from N(1, 0.02), as in the DCGAN paper; use as ``net.apply(...)``."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
