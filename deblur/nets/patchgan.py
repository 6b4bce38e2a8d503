"""The deblurring discriminator: a PatchGAN (Isola et al. 2017) that judges (blurred, candidate) pairs.

Each output logit looks at one receptive-field-sized patch (70x70 pixels with the default three stride-2 layers),
so the discriminator models local texture and sharpness while the content loss keeps the global structure. It sees
the blurred input concatenated with the real or restored image, ``D(x, y)`` as in a conditional GAN. Options:
spectral normalisation of every convolution (Miyato et al. 2018), and several scales (each a PatchGAN on a
2x-downsampled copy, as in pix2pixHD) whose logits are returned together.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deblur.nets.blocks import make_norm


def receptive_field(layers: int) -> int:
    """Receptive field in pixels of a PatchGAN with ``layers`` stride-2 layers (4x4 kernels throughout).

    Example:
        >>> receptive_field(3)
        70
    """
    field = 1
    strides = [2] * layers + [1, 1]
    for stride in reversed(strides):
        field = field * stride + (4 - stride)
    return field


class PatchNet(nn.Module):
    """One PatchGAN: ``layers`` stride-2 4x4 convolutions, a stride-1 one, then a 1-channel logit map."""

    def __init__(self, in_channels: int, width: int, layers: int, norm: str, spectral: bool) -> None:
        super().__init__()

        def conv(cin: int, cout: int, stride: int) -> nn.Module:
            layer = nn.Conv2d(cin, cout, 4, stride=stride, padding=1)
            return nn.utils.parametrizations.spectral_norm(layer) if spectral else layer

        modules: list[nn.Module] = [conv(in_channels, width, 2), nn.LeakyReLU(0.2)]  # no norm at the input
        channels = width
        for i in range(1, layers + 1):
            out = width * min(2**i, 8)
            modules += [conv(channels, out, 2 if i < layers else 1), make_norm(norm, out), nn.LeakyReLU(0.2)]
            channels = out
        modules.append(conv(channels, 1, 1))
        self.net = nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """``D(candidate, blurred)``: logits per patch, for one or more scales.

    Args:
        channels: channels of each image (the input has ``2 * channels``).
        width: channels of the first layer.
        layers: stride-2 layers (3 gives the 70x70 receptive field).
        norm: ``instance`` (default), ``batch``, ``group`` or ``none``.
        spectral: spectral normalisation on every convolution.
        scales: number of image scales, each judged by its own PatchGAN.

    Shape:
        ``(B, C, H, W), (B, C, H, W) -> (B, N)``: the logits of every patch at every scale, flattened.
    """

    def __init__(
        self,
        channels: int = 3,
        width: int = 64,
        layers: int = 3,
        norm: str = "instance",
        spectral: bool = False,
        scales: int = 1,
    ) -> None:
        super().__init__()
        if layers < 1 or scales < 1 or width < 1:
            raise ValueError("width, layers and scales must be at least 1")
        self.nets = nn.ModuleList(PatchNet(2 * channels, width, layers, norm, spectral) for _ in range(scales))

    def forward(self, candidate: torch.Tensor, blurred: torch.Tensor) -> torch.Tensor:
        x = torch.cat([blurred, candidate], dim=1)  # (B, 2C, H, W)
        logits = []
        for i, net in enumerate(self.nets):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            logits.append(net(x).flatten(1))
        return torch.cat(logits, dim=1)
