"""The engine on toy problems: the optimal discriminator in 1-D, and mode coverage on 8 Gaussians in 2-D."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from deblur.config import OptimConfig
from deblur.train.loop import LoopConfig, train_loop
from deblur.train.objectives import GANObjective


def _mlp(inputs: int, outputs: int, hidden: int = 64) -> nn.Module:
    return nn.Sequential(
        nn.Linear(inputs, hidden),
        nn.LeakyReLU(0.2),
        nn.Linear(hidden, hidden),
        nn.LeakyReLU(0.2),
        nn.Linear(hidden, outputs),
    )


class _Critic(nn.Module):
    def __init__(self, inputs: int) -> None:
        super().__init__()
        self.body = _mlp(inputs, 1)

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(x).squeeze(-1)


class _Shift(nn.Module):
    """G(z) = z: a fixed generator whose samples follow N(0, 1)."""

    latent_dim = 1

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return z


def test_optimal_discriminator_1d() -> None:
    # p_data = N(1, 0.5^2), p_g = N(0, 1) with G fixed: D must approach D*(x) = p_data / (p_data + p_g)
    # (Goodfellow et al. 2014, Proposition 1)
    torch.manual_seed(0)
    disc, gen = _Critic(1), _Shift()
    objective = GANObjective(1, seed=1)
    optimizer = torch.optim.Adam(disc.parameters(), lr=3e-3)
    data = torch.Generator().manual_seed(2)
    for _ in range(600):
        batch = {"image": 1.0 + 0.5 * torch.randn(512, 1, generator=data)}
        loss, _ = objective.d_loss(gen, disc, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    x = torch.linspace(-0.5, 2.0, 51)[:, None]
    p_data = torch.exp(-0.5 * ((x - 1) / 0.5) ** 2) / (0.5 * math.sqrt(2 * math.pi))
    p_g = torch.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)
    optimal = (p_data / (p_data + p_g)).squeeze(1)
    with torch.no_grad():
        learned = torch.sigmoid(disc(x))
    assert (learned - optimal).abs().max() < 0.08


class _Ring:
    """Endless batches from a mixture of 8 Gaussians on a circle of radius 2 (std 0.05), resumable."""

    centres = torch.stack(
        [torch.tensor([2 * math.cos(2 * math.pi * i / 8), 2 * math.sin(2 * math.pi * i / 8)]) for i in range(8)]
    )

    def __init__(self, batch: int, seed: int) -> None:
        self.batch, self.generator = batch, torch.Generator().manual_seed(seed)

    def __next__(self) -> dict[str, torch.Tensor]:
        which = torch.randint(8, (self.batch,), generator=self.generator)
        return {"image": self.centres[which] + 0.05 * torch.randn(self.batch, 2, generator=self.generator)}

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])


class _ToyGenerator(nn.Module):
    latent_dim = 8

    def __init__(self) -> None:
        super().__init__()
        self.body = _mlp(8, 2, 128)

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(z)


def test_eight_gaussians_modes_covered(tmp_path: Path) -> None:
    torch.manual_seed(0)
    gen, disc = _ToyGenerator(), _Critic(2)
    optim = OptimConfig(lr=2e-3, beta1=0.5, beta2=0.999, ema=0.0)
    config = LoopConfig(steps=600, optim=optim, log_every=0, sample_every=0, ckpt_every=0)
    train_loop(gen, disc, GANObjective(8, seed=1), _Ring(128, seed=2), config, tmp_path, progress=False)
    with torch.no_grad():
        samples = gen(torch.randn(4000, 8, generator=torch.Generator().manual_seed(3)))
    distances = torch.cdist(samples, _Ring.centres)  # (N, 8)
    near = distances.min(dim=1)
    counts = torch.bincount(near.indices[near.values < 0.3], minlength=8)
    covered = int((counts >= 40).sum())  # a mode holds at least 1% of the samples within 6 std
    assert covered >= 6, f"only {covered} modes covered: {counts.tolist()}"
