"""BEGAN (Berthelot et al. 2017): an autoencoder as discriminator, balanced by an equilibrium term.

The generator is a decoder: ``z`` -> an ``n x 8 x 8`` map -> blocks of two 3x3 convolutions with ELU, each
followed by nearest-neighbour upsampling -> a 3x3 convolution to the image. The discriminator is an encoder
(3x3 convolutions, stride-2 convolutions that add ``n`` channels per scale, a linear layer to an ``h``-D code)
followed by a decoder of the generator's shape: it returns its reconstruction of the input, and how well it
reconstructs (the L1 loss) is its verdict. The objective lives in ``deblur.train.objectives.BEGANObjective``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _scales(image_size: int) -> int:
    scales = int(math.log2(image_size // 8))
    if image_size < 16 or 8 * 2**scales != image_size:
        raise ValueError(f"BEGAN image_size must be 8 * 2^k with k >= 1 (16, 32, 64, 128...), got {image_size}")
    return scales


class _Decoder(nn.Module):
    def __init__(self, code: int, width: int, image_size: int, channels: int, skip: bool = False) -> None:
        super().__init__()
        self.width, self.skip = width, skip
        self.project = nn.Linear(code, width * 8 * 8)
        layers: list[nn.Module] = []
        for scale in range(_scales(image_size) + 1):
            layers += [
                nn.Conv2d(2 * width if skip and scale else width, width, 3, 1, 1),
                nn.ELU(inplace=True),
                nn.Conv2d(width, width, 3, 1, 1),
                nn.ELU(inplace=True),
            ]
            if scale < _scales(image_size):
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))  # (B, n, 2H, 2W)
        layers.append(nn.Conv2d(width, channels, 3, 1, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        first = self.project(code).view(-1, self.width, 8, 8)
        x = first
        for layer in self.body:
            x = layer(x)
            if self.skip and isinstance(layer, nn.Upsample):  # the paper's skip: h0, upsampled, beside each scale
                x = torch.cat([x, F.interpolate(first, size=x.shape[-2:], mode="nearest")], dim=1)
        return x


class BEGANGenerator(nn.Module):
    """``G(z)``: the decoder, output mapped to [0, 1] by ``(x + 1) / 2`` without clipping during training.

    Args:
        z_dim: noise dimension.
        width: ``n``, the channels of every decoder convolution.
        image_size: 8 * 2^k.
        channels: image channels.
        skip: the paper's skip connections: the first ``n x 8 x 8`` map, upsampled, is concatenated to the input of
            every later scale.

    Shape:
        ``(B, z_dim) -> (B, channels, image_size, image_size)``.
    """

    def __init__(
        self, z_dim: int = 64, width: int = 32, image_size: int = 64, channels: int = 3, skip: bool = False
    ) -> None:
        super().__init__()
        self.latent_dim = z_dim
        self.decoder = _Decoder(z_dim, width, image_size, channels, skip)

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return (self.decoder(z) + 1) / 2


class BEGANDiscriminator(nn.Module):
    """``D(x)``: the autoencoder's reconstruction of ``x``, in the same [0, 1] scale.

    Args:
        code: dimension ``h`` of the bottleneck.
        width: ``n``; scale ``s`` of the encoder has ``(s + 1) n`` channels.
        image_size: 8 * 2^k.
        channels: image channels.
        skip: skip connections in the decoder, as the generator's.
        batch_std: append the minibatch standard deviation (Karras et al. 2018) to the encoder's last map, as one
            more 8x8 plane: the mean over features of their standard deviation across the batch. The batch of real
            and the batch of fake images are encoded apart, so a batch of fakes less varied than real images is
            visible to D, which can then reconstruct it badly.
    """

    def __init__(
        self,
        code: int = 64,
        width: int = 32,
        image_size: int = 64,
        channels: int = 3,
        skip: bool = False,
        batch_std: bool = False,
    ) -> None:
        super().__init__()
        self.batch_std = batch_std
        scales = _scales(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, 1, 1), nn.ELU(inplace=True)]
        for scale in range(scales + 1):
            c = width * (scale + 1)
            layers += [nn.Conv2d(c, c, 3, 1, 1), nn.ELU(inplace=True), nn.Conv2d(c, c, 3, 1, 1), nn.ELU(inplace=True)]
            if scale < scales:
                layers += [nn.Conv2d(c, c + width, 3, 2, 1), nn.ELU(inplace=True)]  # (B, c + n, H/2, W/2)
        features = width * (scales + 1) + int(batch_std)
        self.encoder = nn.Sequential(*layers, nn.Flatten(), nn.Linear(features * 64, code))
        self.decoder = _Decoder(code, width, image_size, channels, skip)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The ``h``-D code of images in [0, 1]: ``(B, C, S, S) -> (B, h)``."""
        if not self.batch_std:
            return self.encoder(x * 2 - 1)
        maps = self.encoder[:-2](x * 2 - 1)  # (B, C, 8, 8)
        spread = maps.float().std(dim=0, unbiased=False).mean() if len(maps) > 1 else maps.new_zeros(())
        plane = spread.to(maps.dtype).expand(len(maps), 1, *maps.shape[-2:])
        return self.encoder[-2:](torch.cat([maps, plane], dim=1))

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """The reconstruction of a code, in [0, 1]: ``(B, h) -> (B, C, S, S)``."""
        return (self.decoder(code) + 1) / 2

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.encode(x))
