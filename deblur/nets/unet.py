"""The deblurring generator: a U-Net with a global residual, ``restored = blurred + G(blurred)``.

An encoder of ``depth`` stride-2 stages and a mirrored decoder with skip connections (Ronneberger et al. 2015, as
pix2pix uses it), working on any input size: the input is padded by reflection to the network's multiple and the
output cropped back. ``shuffle=2`` first folds each 2x2 block of pixels into channels (pixel unshuffle, as in
NAFNet-style restorers) so the costliest full-resolution layers run at half resolution, on a quarter of the pixels.
The last convolution starts at zero, so an untrained network returns its input unchanged.

Normalisation defaults to none: batch norm's statistics differ between training crops and whole photos at
inference, which can show as colour shifts in restored images (a design choice; no benchmark here compares norms).
The shared layers (norms, activations, the blocks of 3x3 convolutions) are in :mod:`deblur.nets.blocks`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deblur.nets.blocks import ACTIVATIONS as ACTIVATIONS  # re-exported: the old import path
from deblur.nets.blocks import NORMS as NORMS  # re-exported: the old import path
from deblur.nets.blocks import conv_block, make_activation, make_norm


def pad_to_multiple(image: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad the bottom and right of ``image`` by reflection (replication where the image is too small to reflect)
    so both sides are multiples of ``multiple``; returns the padded image and the original ``(H, W)``."""
    height, width = image.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h or pad_w:
        mode = "reflect" if pad_h < height and pad_w < width else "replicate"
        image = F.pad(image, (0, pad_w, 0, pad_h), mode=mode)
    return image, (height, width)


class UNetGenerator(nn.Module):
    """``restored = blurred + UNet(blurred)`` on images of any size.

    Args:
        channels: image channels (3 for RGB).
        width: channels of the first stage; stage ``i`` has ``width * 2^i``.
        depth: number of stride-2 downsamplings.
        blocks: convolutions per stage.
        norm: ``none``, ``batch``, ``instance`` or ``group``.
        act: ``relu``, ``lrelu``, ``gelu`` or ``silu``.
        shuffle: pixel-unshuffle factor at the input (1: none, 2: the network runs from half resolution).
        extra_channels: channels of a conditioning image seen beside the input (``forward(image, condition)``),
            e.g. the blurred photo beside its deconvolution; the residual is added to ``image`` alone.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``, any ``H``, ``W``; not clamped (the caller clamps to [0, 1] for output).
    """

    def __init__(
        self,
        channels: int = 3,
        width: int = 32,
        depth: int = 3,
        blocks: int = 2,
        norm: str = "none",
        act: str = "relu",
        shuffle: int = 2,
        extra_channels: int = 0,
    ) -> None:
        super().__init__()
        if width < 1 or depth < 1 or blocks < 1 or shuffle < 1 or extra_channels < 0:
            raise ValueError("width, depth, blocks and shuffle must be at least 1")
        make_norm(norm, 8), make_activation(act)  # validate the names early
        self.channels, self.shuffle, self.extra_channels = channels, shuffle, extra_channels
        self.multiple = shuffle * 2**depth
        widths = [width * 2**i for i in range(depth + 1)]
        self.head = nn.Conv2d((channels + extra_channels) * shuffle**2, width, 3, padding=1)
        self.encoders = nn.ModuleList(conv_block(widths[i], widths[i], blocks, norm, act) for i in range(depth))
        self.downs = nn.ModuleList(nn.Conv2d(widths[i], widths[i + 1], 2, stride=2) for i in range(depth))
        self.middle = conv_block(widths[depth], widths[depth], blocks, norm, act)
        self.ups = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in range(depth))
        self.decoders = nn.ModuleList(conv_block(2 * widths[i], widths[i], blocks, norm, act) for i in range(depth))
        self.tail = nn.Conv2d(width, channels * shuffle**2, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # start as the identity map: never worse than the input at step 0
        nn.init.zeros_(self.tail.bias)

    def forward(self, blurred: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        if (condition is None) != (self.extra_channels == 0):
            raise ValueError(f"this U-Net takes {self.extra_channels} conditioning channels beside its input")
        inputs = blurred if condition is None else torch.cat([blurred, condition], dim=1)
        padded_inputs, (height, width) = pad_to_multiple(inputs, self.multiple)
        padded = padded_inputs[:, : self.channels]
        x = F.pixel_unshuffle(padded_inputs, self.shuffle) if self.shuffle > 1 else padded_inputs
        x = self.head(x)  # (B, w, H/s, W/s)
        skips = []
        for encoder, down in zip(self.encoders, self.downs, strict=True):
            x = encoder(x)
            skips.append(x)
            x = down(x)  # (B, 2C, H/2, W/2)
        x = self.middle(x)
        for i in reversed(range(len(self.ups))):
            x = self.ups[i](x)  # (B, C/2, 2H, 2W)
            x = self.decoders[i](torch.cat([x, skips[i]], dim=1))
        x = self.tail(x)
        residual = F.pixel_shuffle(x, self.shuffle) if self.shuffle > 1 else x
        return (padded + residual)[..., :height, :width]

    def embed(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """This network's state dict holding a *smaller* U-Net's weights so that it computes what that one did.

        ``state`` is the state dict of a U-Net of the same depth and blocks with a width and conditioning channels no
        larger than this one's (say width 16 in a width-24 network, or a network grown a conditioning branch). Its
        weights go to the leading channels of every stage (for the decoders' first convolutions, the leading channels
        of both the upsampled and the skip halves); the weights from the new channels into the old ones are zero, so
        the old channels, and the output, are computed exactly as before; the new channels keep this network's fresh
        initialisation and start to contribute as training moves the zeros (Chen et al. 2016, Net2Net, with
        zero-initialised fan-out instead of split copies).

        Raises:
            ValueError: ``state`` is not a smaller U-Net of this depth and blocks.
        """
        own = self.state_dict()
        if set(state) != set(own):
            raise ValueError("not a U-Net of the same depth and blocks")
        grown = {}
        for name, old in state.items():
            new = own[name].clone()
            if old.dim() != new.dim() or any(o > n for o, n in zip(old.shape, new.shape, strict=True)):
                raise ValueError(f"{name}: {tuple(old.shape)} does not fit in {tuple(new.shape)}")
            if old.dim() == 1:  # a bias: the leading channels
                new[: old.shape[0]] = old
                grown[name] = new
                continue
            transposed = name.startswith("ups.")  # ConvTranspose2d weights are (in, out, kh, kw)
            out_dim, in_dim = (1, 0) if transposed else (0, 1)
            old_out = torch.arange(old.shape[out_dim])
            halves = name.startswith("decoders.") and name.endswith(".0.weight")  # cat([upsampled, skip])
            if halves:
                half_old, half_new = old.shape[in_dim] // 2, new.shape[in_dim] // 2
                old_in = torch.cat([torch.arange(half_old), half_new + torch.arange(half_old)])
            else:
                old_in = torch.arange(old.shape[in_dim])
            target = new.movedim((out_dim, in_dim), (0, 1))  # a view: writes reach ``new``
            target[old_out] = 0  # the old channels read nothing from the new ones...
            target[old_out[:, None], old_in[None, :]] = old.movedim((out_dim, in_dim), (0, 1))  # ...and what they read
            grown[name] = new
        return grown
