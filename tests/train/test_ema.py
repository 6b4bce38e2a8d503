"""The generator's moving average: the default warm-up ramp and a constant decay after ``start`` updates."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deblur.train.ema import EMA


def _set(net: nn.Linear, value: float) -> None:
    with torch.no_grad():
        net.weight.fill_(value)


def _net(value: float) -> nn.Linear:
    net = nn.Linear(1, 1, bias=False)
    _set(net, value)
    return net


def test_values_default_ramp_caps_the_decay_early() -> None:
    """After t updates the decay is min(decay, (1 + t) / (10 + t)): 2/11 at the first, so the average moves most of
    the way to the live weights instead of staying at the initialisation."""
    live = _net(0.0)
    ema = EMA(live, decay=0.999)
    _set(live, 1.0)
    ema.update(live)
    assert ema.model.weight.item() == pytest.approx(1 - 2 / 11)
    for _ in range(99):
        ema.update(live)
    assert ema.updates == 100 and ema.model.weight.item() == pytest.approx(1.0, abs=1e-6)


def test_values_start_copies_then_decays_at_the_constant() -> None:
    """With start = 2 the first two updates copy the live weights exactly; the third moves 1 - decay of the way."""
    live = _net(0.0)
    ema = EMA(live, decay=0.9, start=2)
    for value in (3.0, 5.0):
        _set(live, value)
        ema.update(live)
        assert ema.model.weight.item() == value
    _set(live, 15.0)
    ema.update(live)
    assert ema.model.weight.item() == pytest.approx(0.9 * 5.0 + 0.1 * 15.0)
    assert not ema.model.weight.requires_grad and not ema.model.training


def test_exception_negative_start() -> None:
    with pytest.raises(ValueError, match="start"):
        EMA(_net(0.0), decay=0.9, start=-1)
