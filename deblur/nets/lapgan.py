"""LAPGAN (Denton et al. 2015): a Laplacian pyramid of generators, coarse to fine.

An image of side ``S`` is decomposed by :func:`deblur.ops.pyramid.laplacian_pyramid` into a coarse image of side
``S / 2^L`` and ``L`` band-pass images ``h_k = I_k - up(I_{k+1})``. Level 0 generates the coarse image from noise;
each finer level ``k`` generates the band ``h_k`` from a noise plane and the upsampled coarser image
``up(I_{k+1})``, its conditioning, and adds it. Each level has its own discriminator, trained on real bands against
generated ones given the same real conditioning; level ``k``'s discriminator sees the reconstructed image
``up(I_{k+1}) + h_k`` and, beside it, the conditioning itself. The levels share nothing, so the sum of their losses
trains them as the independent GANs of the paper.

The latent ``z`` of the whole generator concatenates level 0's noise and the flattened noise planes of the finer
levels, so that ``G(z)`` is a pure function of ``z``.

The coarse level is the paper's fully connected GAN (``coarse="mlp"``) or a small convolutional one (``"conv"``:
transposed convolutions from a 4x4 map, batch norm, as DCGAN), added because the fully connected level was what
limited whole models: ``benchmarks/lapgan_levels.py`` scores each level with the others made real, and
``models/gan_fashion_mnist.md`` has the results.
"""

from __future__ import annotations

import torch
from torch import nn

from deblur.nets.blocks import init_dcgan_weights
from deblur.ops.pyramid import pyramid_up


class _CoarseGenerator(nn.Module):
    def __init__(self, z_dim: int, hidden: int, side: int, channels: int) -> None:
        super().__init__()
        self.side, self.channels = side, channels
        self.body = nn.Sequential(
            nn.Linear(z_dim, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, channels * side * side),
            nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z).view(-1, self.channels, self.side, self.side)


class _ConvCoarseGenerator(nn.Module):
    """``z -> (B, channels, side, side)``: a transposed convolution to a 4x4 map of ``width`` channels, then
    stride-2 transposed convolutions (channels halving) up to ``side``, batch norm and ReLU, a 3x3 convolution and a
    sigmoid."""

    def __init__(self, z_dim: int, width: int, side: int, channels: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, width, 4, 1, 0, bias=False), nn.BatchNorm2d(width)]
        layers.append(nn.ReLU(inplace=True))
        size = 4
        while size < side:
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),  # (B, w/2, 2s, 2s)
                nn.BatchNorm2d(width // 2),
                nn.ReLU(inplace=True),
            ]
            width, size = width // 2, size * 2
        layers += [nn.Conv2d(width, channels, 3, 1, 1), nn.Sigmoid()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z[:, :, None, None])


def _check_coarse(coarse: str, side: int) -> None:
    if coarse not in ("mlp", "conv"):
        raise ValueError(f"coarse must be mlp or conv, got {coarse!r}")
    if coarse == "conv" and (side < 4 or side & (side - 1)):
        raise ValueError(f"a conv coarse level needs a coarse side of 4 * 2^k, got {side}")


class _BandGenerator(nn.Module):
    def __init__(self, width: int, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels + 1, width, 3, 1, 1),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, 1, 1),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, channels, 3, 1, 1),
            nn.Tanh(),
        )

    def forward(self, noise: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([condition * 2 - 1, noise], dim=1))


class LAPGANGenerator(nn.Module):
    """``G(z)``: coarse image from noise, then one band per finer level.

    Args:
        z_dim: noise dimension of the coarse level.
        width: channels of the band generators.
        image_size: output side; ``image_size / 2^levels`` is the coarse side.
        levels: number of band levels (e.g. 2: 8 -> 16 -> 32).
        channels: image channels.
        coarse_width: hidden units of the coarse level's fully connected net, or the channels of its convolutional
            one at 4x4 (0: ``4 * width``).
        coarse: ``mlp`` (the paper's fully connected coarse GAN) or ``conv`` (see the module's notes).

    Attributes:
        latent_dim: ``z_dim`` plus one noise plane per band level.

    Shape:
        ``(B, latent_dim) -> (B, channels, image_size, image_size)`` in [0, 1].
    """

    def __init__(
        self,
        z_dim: int = 100,
        width: int = 64,
        image_size: int = 32,
        levels: int = 2,
        channels: int = 1,
        coarse_width: int = 0,
        coarse: str = "mlp",
    ) -> None:
        super().__init__()
        if image_size % 2**levels:
            raise ValueError(f"image_size {image_size} is not divisible by 2^levels = {2**levels}")
        self.z_dim, self.levels, self.channels = z_dim, levels, channels
        self.sides = [image_size // 2 ** (levels - k) for k in range(levels + 1)]  # coarse to fine
        self.latent_dim = z_dim + sum(side * side for side in self.sides[1:])
        _check_coarse(coarse, self.sides[0])
        self.coarse_kind = coarse
        builder = _ConvCoarseGenerator if coarse == "conv" else _CoarseGenerator
        self.coarse = builder(z_dim, coarse_width or 4 * width, self.sides[0], channels)
        self.bands = nn.ModuleList(_BandGenerator(width, channels) for _ in range(levels))
        self.apply(init_dcgan_weights)

    def split_latent(self, z: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``z`` -> (coarse noise ``(B, z_dim)``, noise planes ``(B, 1, s_k, s_k)`` coarse to fine)."""
        planes, start = [], self.z_dim
        for side in self.sides[1:]:
            planes.append(z[:, start : start + side * side].reshape(-1, 1, side, side))
            start += side * side
        return z[:, : self.z_dim], planes

    def band(self, level: int, noise: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Band ``h`` of band level ``level`` (0 = coarsest band) given the upsampled coarser image."""
        return self.bands[level](noise, condition)

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        coarse_noise, planes = self.split_latent(z)
        return self.refine(self.coarse(coarse_noise), planes)

    def refine(self, image: torch.Tensor, planes: list[torch.Tensor]) -> torch.Tensor:
        """The finer levels on top of a coarse image (generated, or real to isolate the bands): each upsampled and
        given its generated band, coarse to fine, clamped to [0, 1]."""
        for level, noise in enumerate(planes):
            up = pyramid_up(image)
            image = (up + self.band(level, noise, up)).clamp(0, 1)
        return image


class _LevelDiscriminator(nn.Module):
    def __init__(self, in_channels: int, width: int, side: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True)]
        channels = width
        while side > 4:
            layers += [
                nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(channels * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            channels, side = channels * 2, side // 2
        layers.append(nn.Conv2d(channels, 1, side, 1, 0))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).flatten()


class LAPGANDiscriminator(nn.Module):
    """One discriminator per level: ``level(k, image, condition)`` -> logits.

    Level 0 judges coarse images with a fully connected net (``coarse_width`` hidden units, 0: ``4 * width``,
    dropout) or, with ``coarse="conv"``, a small convolutional one; band level ``k`` judges ``condition + band``
    beside ``condition``.
    """

    def __init__(
        self,
        width: int = 64,
        image_size: int = 32,
        levels: int = 2,
        channels: int = 1,
        coarse_width: int = 0,
        coarse: str = "mlp",
    ) -> None:
        super().__init__()
        sides = [image_size // 2 ** (levels - k) for k in range(levels + 1)]
        hidden = coarse_width or 4 * width
        _check_coarse(coarse, sides[0])
        self.coarse_kind = coarse
        self.coarse = (
            # the band levels' convolutional discriminator, with half the generator's channels at every scale
            _LevelDiscriminator(channels, hidden // 2 // (sides[0] // 4), sides[0])
            if coarse == "conv"
            else nn.Sequential(
                nn.Flatten(),
                nn.Linear(channels * sides[0] ** 2, hidden),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Dropout(0.3),
                nn.Linear(hidden, hidden),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Dropout(0.3),
                nn.Linear(hidden, 1),
            )
        )
        self.bands = nn.ModuleList(_LevelDiscriminator(2 * channels, width, side) for side in sides[1:])
        self.apply(init_dcgan_weights)

    def level(self, k: int, image: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of level ``k`` (0: the coarse image; ``k >= 1``: band level ``k - 1`` as a full image)."""
        if k == 0:
            return self.coarse(image * 2 - 1).flatten()
        return self.bands[k - 1](torch.cat([image * 2 - 1, condition * 2 - 1], dim=1))

    def forward(self, image: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of the coarse level for a coarse image (the full pyramid is judged by :meth:`level`)."""
        return self.level(0, image)
