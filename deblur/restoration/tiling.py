"""Tiled inference: run a network over an image of any size in overlapping tiles blended without seams.

An image is cut into overlapping tiles; each tile is restored with ``overlap`` pixels of context on every inner side,
and the tiles are blended with weights that ramp linearly across each overlap (a partition of unity), so no seam
shows. Memory stays bounded by the tile size.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from deblur.errors import ConfigError

DEFAULT_TILE = 512
DEFAULT_OVERLAP = 32


def module_device(net: nn.Module) -> torch.device:
    """The device of a network's first parameter or buffer (CPU for a network with neither)."""
    for tensor in (*net.parameters(), *net.buffers()):
        return tensor.device
    return torch.device("cpu")


def _ramp(length: int, overlap: int, start: bool, end: bool) -> torch.Tensor:
    """1-D blending weights: linear ramps over the first/last ``overlap`` samples where a neighbour tile overlaps."""
    weights = torch.ones(length)
    ramp = (torch.arange(overlap, dtype=torch.float32) + 0.5) / overlap
    if start and overlap:
        weights[:overlap] = ramp
    if end and overlap:
        weights[length - overlap :] = ramp.flip(0)
    return weights


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    """Tile origins along one axis: stride ``tile - overlap``, the last tile flush with the end."""
    if size <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, size - tile, stride))
    return starts + [size - tile]


@torch.no_grad()
def restore_tensor(
    net: nn.Module,
    image: torch.Tensor,
    tile: int | None = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    half: bool = False,
    on_tile: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """Restore ``(B, 3, H, W)`` float images in [0, 1] with ``net``, tiled; returns float32 on the input's device.

    Args:
        net: a deblurring generator (``restored = net(blurred)``), on its device.
        image: the blurred images.
        tile: tile side (None or 0: the whole image at once).
        overlap: pixels shared by neighbouring tiles (blended).
        half: run the network in fp16 autocast (CUDA only; ignored elsewhere).
        on_tile: called as ``on_tile(done, total)`` after each tile (progress).
    """
    device = module_device(net)
    batch, channels, height, width = image.shape
    if not tile or (height <= tile and width <= tile):
        out = _run(net, image.to(device), half).to(image.device)
        if on_tile:
            on_tile(1, 1)
        return out
    if overlap * 2 >= tile:
        raise ConfigError(f"overlap ({overlap}) must be less than half the tile size ({tile})")
    tile_h, tile_w = min(tile, height), min(tile, width)
    rows, cols = _starts(height, tile_h, overlap), _starts(width, tile_w, overlap)
    total = len(rows) * len(cols)
    result = torch.zeros(batch, channels, height, width, dtype=torch.float32, device=image.device)
    weight = torch.zeros(1, 1, height, width, dtype=torch.float32, device=image.device)
    done = 0
    for top in rows:
        for left in cols:
            piece = image[..., top : top + tile_h, left : left + tile_w].to(device)
            restored = _run(net, piece, half).to(image.device)
            w = (
                _ramp(tile_h, overlap, top > 0, top + tile_h < height)[:, None]
                * _ramp(tile_w, overlap, left > 0, left + tile_w < width)[None, :]
            )
            w = w.to(image.device)
            result[..., top : top + tile_h, left : left + tile_w] += restored * w
            weight[..., top : top + tile_h, left : left + tile_w] += w
            done += 1
            if on_tile:
                on_tile(done, total)
    return result / weight


def _run(net: nn.Module, image: torch.Tensor, half: bool) -> torch.Tensor:
    # channels_last runs 3x3 convolutions faster on CPUs (measured by benchmarks/restore_speed.py)
    image = image.contiguous(memory_format=torch.channels_last)
    if half and image.device.type == "cuda":
        with torch.autocast("cuda", dtype=torch.float16):
            return net(image.float()).float().clamp(0, 1)
    return net(image.float()).float().clamp(0, 1)


AUTO_TILE = 1024
"""The tile side when none is given (``tile="auto"``, ``deblur restore`` without ``--tile``): fixed, not taken from
the free memory, so that one photo gives the same pixels on every machine and in every run (blind results depend
slightly on the tiling). Photos up to this side are restored in one piece; the default network peaks at about
1,200 bytes per pixel, 1.3 GB for a whole tile. A given tile fixes the result as well."""


def auto_tile() -> int:
    """The tile side used when none is given: :data:`AUTO_TILE` on every device, whatever its free memory."""
    return AUTO_TILE
