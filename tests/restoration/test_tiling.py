"""deblur.restoration.tiling: seamless tiles."""

from __future__ import annotations

import torch

from deblur.restoration import restore_tensor


def test_values_tiled_matches_whole_image(net: torch.nn.Module) -> None:
    image = torch.rand(1, 3, 512, 512, generator=torch.Generator().manual_seed(1))
    whole = restore_tensor(net, image, tile=None)
    tiled = restore_tensor(net, image, tile=192, overlap=32)
    assert float((whole - tiled).abs().mean()) < 0.5 / 255
    ticks = []
    restore_tensor(net, image, tile=256, overlap=32, on_tile=lambda done, total: ticks.append((done, total)))
    assert ticks[-1] == (9, 9)
