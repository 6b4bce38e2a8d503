"""deblur.restoration.tiling: seamless tiles."""

from __future__ import annotations

import pytest
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


def test_values_auto_tile_does_not_follow_free_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    # C14: the tile (and so blind results) followed the momentary free memory of the machine
    import os

    from deblur.restoration import auto_tile

    tiles = set()
    for free_pages in (10_000, 1_000_000, 100_000_000):
        monkeypatch.setattr(os, "sysconf", lambda name, pages=free_pages: pages if "PAGES" in name else 4096)
        tiles.add(auto_tile())
    assert tiles == {1024}
