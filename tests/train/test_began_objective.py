"""BEGAN's objective: k follows the equilibrium with L(x) and L(G(z)) of the same discriminator."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deblur.train.objectives import BEGANObjective


class _Scale(nn.Module):
    """A 'discriminator' that reconstructs ``v`` as ``a * v``: its error on ``v`` is ``|1 - a| mean |v|``."""

    def __init__(self, a: float) -> None:
        super().__init__()
        self.a = a

    def forward(self, v: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return self.a * v


class _Constant(nn.Module):
    latent_dim = 4

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return torch.full((z.shape[0], 1, 4, 4), self.value)


def test_values_k_update_uses_the_d_steps_errors() -> None:
    objective = BEGANObjective(4, gamma=0.5, lambda_k=0.1, seed=0)
    real = torch.full((3, 1, 4, 4), 0.8)
    disc, gen = _Scale(0.5), _Constant(0.2)
    loss, logs = objective.d_loss(gen, disc, {"image": real})
    assert logs["l_real"] == pytest.approx(0.4) and logs["l_fake"] == pytest.approx(0.1)
    assert float(loss) == pytest.approx(0.4)  # k = 0 at the start
    # the G step's own loss (here from a changed D) must not move k: only the D step's pair does
    step_logs = {**logs, "loss_g": 123.0}
    logs = objective.end_step(step_logs)
    assert objective.k == pytest.approx(0.1 * (0.5 * 0.4 - 0.1))
    assert logs["convergence"] == pytest.approx(0.4 + abs(0.5 * 0.4 - 0.1))
    restored = BEGANObjective(4, gamma=0.5, lambda_k=0.1, seed=0)
    restored.load_state_dict(objective.state_dict())
    assert restored.k == objective.k
    # a resumed run continues exactly: the same step's logs move both the same way
    assert restored.end_step(step_logs) == objective.end_step(step_logs) and restored.k == objective.k
