"""DCGAN (Radford et al. 2016) for 28, 32 and 64 pixel images, optionally class-conditional.

The generator is a stack of transposed convolutions: ``z`` (a 1x1 map) is projected to a 7x7 or 4x4 map, then
each stride-2 layer doubles the size and halves the channels; batch norm and ReLU everywhere except the output,
which is ``tanh`` (returned as ``(tanh + 1) / 2`` in [0, 1]). The discriminator mirrors it with stride-2
convolutions, LeakyReLU(0.2) and batch norm except at the input, and a final convolution to one logit: no fully
connected hidden layers. With ``n_classes > 0`` the label enters G as a one-hot vector beside ``z``, and D either
as one-hot planes beside the image's channels (Mirza & Osindero 2014) or, with ``projection``, as the inner product
of a learned class embedding with D's pooled last features added to its logit (the projection discriminator of
Miyato & Koyama 2018), which judges how well an image fits its label far more sharply. With ``aux_classes`` D
also has a class head on the same features (the auxiliary classifier of AC-GAN, Odena et al. 2017): ``forward(x,
label, classes=True)`` returns the logit and the class logits.
"""

from __future__ import annotations

import torch
from torch import nn

from deblur.nets.blocks import init_dcgan_weights

BASES = {28: (7, 2), 32: (4, 3), 64: (4, 4)}
"""image size -> (side of the first map, number of stride-2 layers)."""


def _check_size(image_size: int) -> tuple[int, int]:
    if image_size not in BASES:
        raise ValueError(f"DCGAN image_size must be one of {sorted(BASES)}, got {image_size}")
    return BASES[image_size]


class DCGANGenerator(nn.Module):
    """``G(z[, label])``.

    Args:
        z_dim: noise dimension.
        width: channels of the last hidden layer (the first has ``width * 2^(layers-1)``).
        image_size: 28, 32 or 64.
        channels: output channels (1 grey, 3 colour).
        n_classes: 0 for an unconditional generator.

    Shape:
        ``(B, z_dim) -> (B, channels, image_size, image_size)`` in [0, 1].
    """

    def __init__(
        self, z_dim: int = 100, width: int = 64, image_size: int = 28, channels: int = 1, n_classes: int = 0
    ) -> None:
        super().__init__()
        base, ups = _check_size(image_size)
        self.latent_dim, self.n_classes = z_dim, n_classes
        mult = 2 ** (ups - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim + n_classes, width * mult, base, 1, 0, bias=False),  # (B, 2^(u-1) w, b, b)
            nn.BatchNorm2d(width * mult),
            nn.ReLU(inplace=True),
        ]
        for _ in range(ups - 1):
            layers += [
                nn.ConvTranspose2d(width * mult, width * mult // 2, 4, 2, 1, bias=False),  # doubles H and W
                nn.BatchNorm2d(width * mult // 2),
                nn.ReLU(inplace=True),
            ]
            mult //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_classes:
            if label is None:
                raise ValueError("this generator is class-conditional: pass a label")
            z = torch.cat([z, nn.functional.one_hot(label, self.n_classes).to(z.dtype)], dim=1)
        return (self.body(z[:, :, None, None]) + 1) / 2


class DCGANDiscriminator(nn.Module):
    """``D(x[, label])``.

    Args:
        width: channels of the first layer (doubling at each stride-2 layer).
        image_size: 28, 32 or 64.
        channels: input channels.
        n_classes: 0 for an unconditional discriminator.
        projection: condition by projection (``logit = psi(phi(x)) + <embed(label), sum phi(x)>``, Miyato &
            Koyama 2018) instead of one-hot input planes.
        aux_classes: add AC-GAN's class head (``n_classes`` logits from the features ``phi(x)``).

    Shape:
        ``(B, channels, image_size, image_size) -> (B,)`` logits; with ``classes=True`` also ``(B, n_classes)``.
    """

    def __init__(
        self,
        width: int = 64,
        image_size: int = 28,
        channels: int = 1,
        n_classes: int = 0,
        projection: bool = False,
        aux_classes: bool = False,
    ) -> None:
        super().__init__()
        base, downs = _check_size(image_size)
        if aux_classes and not n_classes:
            raise ValueError("aux_classes needs n_classes > 0")
        self.n_classes, self.projection = n_classes, bool(projection and n_classes)
        planes = 0 if self.projection else n_classes
        layers: list[nn.Module] = [nn.Conv2d(channels + planes, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        mult = 1
        for _ in range(downs - 1):
            layers += [
                nn.Conv2d(width * mult, width * mult * 2, 4, 2, 1, bias=False),  # halves H and W
                nn.BatchNorm2d(width * mult * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            mult *= 2
        self.body = nn.Sequential(*layers)  # (B, w * mult, base, base): the features phi(x)
        self.head = nn.Conv2d(width * mult, 1, base, 1, 0)  # (B, 1, 1, 1)
        if self.projection:
            self.embed = nn.Embedding(n_classes, width * mult)
        self.classes = nn.Conv2d(width * mult, n_classes, base, 1, 0) if aux_classes else None
        self.apply(init_dcgan_weights)
        if self.projection:
            nn.init.normal_(self.embed.weight, std=0.02)

    def forward(
        self, x: torch.Tensor, label: torch.Tensor | None = None, classes: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        x = x * 2 - 1  # the [-1, 1] range of the generator's tanh
        if self.n_classes:
            if label is None:
                raise ValueError("this discriminator is class-conditional: pass a label")
            if not self.projection:
                planes = nn.functional.one_hot(label, self.n_classes).to(x.dtype)[:, :, None, None]
                x = torch.cat([x, planes.expand(-1, -1, x.shape[2], x.shape[3])], dim=1)
        features = self.body(x)
        logits = self.head(features).flatten()
        if self.projection:
            logits = logits + (self.embed(label).to(features.dtype) * features.sum(dim=(2, 3))).sum(dim=1)
        if classes:
            if self.classes is None:
                raise ValueError("this discriminator has no class head (aux_classes=False)")
            return logits, self.classes(features).flatten(1)
        return logits
