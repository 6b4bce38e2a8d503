"""Exponential moving average of a network's weights: a first-class, smoother copy of the generator."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn


class EMA:
    """Keeps ``ema = decay * ema + (1 - decay) * live`` for every parameter; buffers (batch-norm statistics) are
    copied. By default the effective decay is ``min(decay, (1 + t) / (10 + t))`` after ``t`` updates, so the average
    is not dominated by the random initialisation; this ramp reaches 0.999 only after about 9,000 updates. With
    ``start`` the average copies the live weights for the first ``start`` updates and then runs at ``decay`` itself
    (diffusers' ``update_after_step``), so a short run gets the averaging horizon it asks for.

    Args:
        model: the live network; a frozen copy in eval mode becomes :attr:`model`.
        decay: the long-run decay, e.g. 0.999.
        start: updates that copy the live weights before the constant decay (None: the ramp above).
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, start: int | None = None) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        if start is not None and start < 0:
            raise ValueError(f"EMA start must be non-negative, got {start}")
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay, self.start, self.updates = decay, start, 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards ``model``'s current weights."""
        self.updates += 1
        if self.start is None:
            decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        else:
            decay = self.decay if self.updates > self.start else 0.0
        for averaged, live in zip(self.model.parameters(), model.parameters(), strict=True):
            averaged.lerp_(live.detach(), 1.0 - decay)
        for averaged, live in zip(self.model.buffers(), model.buffers(), strict=True):
            averaged.copy_(live)

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "decay": self.decay, "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.decay, self.updates = float(state["decay"]), int(state["updates"])
