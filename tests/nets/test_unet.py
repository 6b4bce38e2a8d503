"""The deblurring U-Net and PatchGAN: any input size, identity at initialisation, options, receptive field."""

from __future__ import annotations

import pytest
import torch

from deblur.nets import create_net
from deblur.nets.patchgan import receptive_field
from deblur.nets.unet import pad_to_multiple


@pytest.mark.parametrize("shape", [(1, 3, 17, 23), (2, 3, 32, 32), (1, 3, 5, 9), (1, 3, 64, 40)])
def test_shape_any_size(shape: tuple[int, ...]) -> None:
    net = create_net("unet", width=4, depth=2, blocks=1)
    torch.nn.init.normal_(net.tail.weight, std=0.1)
    assert net(torch.rand(shape)).shape == shape


def test_values_identity_at_initialisation() -> None:
    net = create_net("unet", width=4, depth=2)
    x = torch.rand(1, 3, 30, 21)
    assert torch.equal(net(x), x)


def test_values_pad_to_multiple() -> None:
    x = torch.arange(12.0).view(1, 1, 3, 4)
    padded, size = pad_to_multiple(x, 4)
    assert padded.shape[-2:] == (4, 4) and size == (3, 4)
    assert torch.equal(padded[..., 3, :], x[..., 1, :])  # reflection: the row before the last


@pytest.mark.parametrize("norm", ["none", "batch", "instance", "group"])
@pytest.mark.parametrize("act", ["relu", "gelu"])
def test_smoke_options_backward(norm: str, act: str) -> None:
    net = create_net("unet", width=8, depth=2, blocks=1, norm=norm, act=act, shuffle=1)
    torch.nn.init.normal_(net.tail.weight, std=0.1)
    net(torch.rand(2, 3, 16, 16)).mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


def test_exception_unknown_options() -> None:
    with pytest.raises(ValueError, match="unknown norm"):
        create_net("unet", norm="layer")
    with pytest.raises(ValueError, match="unknown activation"):
        create_net("unet", act="tanh")


def test_values_patchgan_receptive_field_is_70() -> None:
    assert receptive_field(3) == 70
    disc = create_net("patchgan", width=4, layers=3, norm="none")
    torch.nn.init.constant_(disc.nets[0].net[0].weight, 0.01)
    x = torch.rand(1, 3, 160, 160, requires_grad=True)
    logits = disc.nets[0](torch.cat([x, x], 1))  # (1, 1, h, w)
    logits[0, 0, logits.shape[2] // 2, logits.shape[3] // 2].backward()
    rows = x.grad.abs().sum((0, 1, 3)).nonzero().flatten()
    assert int(rows.max() - rows.min() + 1) == 70


def test_shape_patchgan_scales_and_spectral() -> None:
    one = create_net("patchgan", width=4, layers=2)
    two = create_net("patchgan", width=4, layers=2, scales=2, spectral=True)
    x = torch.rand(2, 3, 64, 64)
    assert two(x, x).shape[1] > one(x, x).shape[1]
    assert torch.isfinite(two(x, x)).all()
