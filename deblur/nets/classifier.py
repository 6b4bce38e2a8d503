"""A small convolutional classifier, trained on real images to score generated ones (sample quality)."""

from __future__ import annotations

import torch
from torch import nn


class SmallClassifier(nn.Module):
    """Two conv-pool blocks and two linear layers: enough to tell the classes of MNIST-sized images apart (its
    accuracy on Fashion-MNIST is in ``models/gan_fashion_mnist.md``).

    Shape:
        ``(B, channels, image_size, image_size) -> (B, n_classes)`` logits.
    """

    def __init__(self, channels: int = 1, image_size: int = 28, n_classes: int = 10, width: int = 32) -> None:
        super().__init__()
        side = image_size // 4
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, 1, 1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, 1, 1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(2 * width * side * side, 128),
            nn.ReLU(inplace=True),
            nn.Dropout(0.3),
            nn.Linear(128, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x * 2 - 1)
