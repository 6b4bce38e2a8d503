"""The multilayer perceptrons of Goodfellow et al. (2014) for MNIST.

Sizes follow the configuration the authors published with their code (``mnist.yaml``): the generator maps 100-D noise
through two ReLU layers of 1200 units to 784 sigmoid outputs; the discriminator has two maxout layers of 240 units
with 5 pieces each and a single output, with dropout (20% on the input, 50% on the hidden layers). With
``n_classes > 0`` both become class-conditional (Mirza & Osindero 2014): a one-hot label is concatenated to the
noise and to the discriminator's input.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class Maxout(nn.Module):
    """A linear layer of ``units * pieces`` outputs followed by the maximum over each unit's pieces.

    Shape:
        ``(B, in_features) -> (B, units)``.
    """

    def __init__(self, in_features: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(x.shape[0], self.units, self.pieces).amax(dim=-1)


def _with_label(x: torch.Tensor, label: torch.Tensor | None, n_classes: int) -> torch.Tensor:
    if n_classes == 0:
        return x
    if label is None:
        raise ValueError("this network is class-conditional: pass a label")
    return torch.cat([x, nn.functional.one_hot(label, n_classes).to(x.dtype)], dim=1)


class MLPGenerator(nn.Module):
    """``G(z[, label])``: ReLU hidden layers, sigmoid output reshaped to an image.

    Args:
        z_dim: noise dimension.
        hidden: sizes of the hidden layers.
        image_shape: ``(C, H, W)`` of the output.
        n_classes: 0 for an unconditional generator.

    Shape:
        ``(B, z_dim) -> (B, C, H, W)`` in [0, 1].
    """

    def __init__(
        self,
        z_dim: int = 100,
        hidden: tuple[int, ...] = (1200, 1200),
        image_shape: tuple[int, int, int] = (1, 28, 28),
        n_classes: int = 0,
    ) -> None:
        super().__init__()
        self.latent_dim, self.n_classes, self.image_shape = z_dim, n_classes, tuple(image_shape)
        layers: list[nn.Module] = []
        width = z_dim + n_classes
        for units in hidden:
            layers += [nn.Linear(width, units), nn.ReLU(inplace=True)]
            width = units
        layers += [nn.Linear(width, math.prod(self.image_shape)), nn.Sigmoid()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(_with_label(z, label, self.n_classes)).view(z.shape[0], *self.image_shape)


class MaxoutDiscriminator(nn.Module):
    """``D(x[, label])``: dropout and maxout layers, one logit.

    Args:
        image_shape: ``(C, H, W)`` of the input.
        units, pieces: maxout layer sizes.
        layers: number of maxout layers.
        input_dropout, hidden_dropout: dropout probabilities.
        n_classes: 0 for an unconditional discriminator.

    Shape:
        ``(B, C, H, W) -> (B,)`` logits.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        units: int = 240,
        pieces: int = 5,
        layers: int = 2,
        input_dropout: float = 0.2,
        hidden_dropout: float = 0.5,
        n_classes: int = 0,
    ) -> None:
        super().__init__()
        self.n_classes = n_classes
        blocks: list[nn.Module] = [nn.Dropout(input_dropout)]
        width = math.prod(image_shape) + n_classes
        for _ in range(layers):
            blocks += [Maxout(width, units, pieces), nn.Dropout(hidden_dropout)]
            width = units
        blocks.append(nn.Linear(width, 1))
        self.body = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(_with_label(x.flatten(1), label, self.n_classes)).squeeze(1)
