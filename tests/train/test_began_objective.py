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


def test_values_pull_away_term() -> None:
    """EBGAN's term: 0 for orthogonal codes, 1 for parallel ones (sign and length do not matter), and the mean
    squared cosine over ordered pairs otherwise."""
    from deblur.train.objectives import pull_away_term

    assert float(pull_away_term(torch.eye(3))) == pytest.approx(0.0)
    assert float(pull_away_term(torch.tensor([[1.0, 2.0], [-2.0, -4.0], [0.5, 1.0]]))) == pytest.approx(1.0)
    # codes at 0, 60 and 90 degrees: pairs 60, 90 and 30 degrees apart, cos^2 = 1/4, 0, 3/4 (each twice) over 6
    codes = torch.tensor([[1.0, 0.0], [0.5, 3**0.5 / 2], [0.0, 1.0]])
    assert float(pull_away_term(codes)) == pytest.approx((0.25 + 0.0 + 0.75) * 2 / 6)
    with pytest.raises(ValueError, match="at least 2"):
        pull_away_term(torch.ones(1, 4))


def test_values_pull_away_in_the_generator_loss() -> None:
    """With ``pull_away`` set, G's loss is the reconstruction error plus the weighted term on D's codes of the
    fakes; its gradient reaches G, and the term falls when G's fakes are pushed apart by it."""
    from deblur.nets.began import BEGANDiscriminator, BEGANGenerator
    from deblur.train.objectives import pull_away_term

    torch.manual_seed(0)
    gen = BEGANGenerator(z_dim=4, width=4, image_size=16, channels=1)
    disc = BEGANDiscriminator(code=4, width=4, image_size=16, channels=1)
    batch = {"image": torch.rand(6, 1, 16, 16)}
    plain = BEGANObjective(4, seed=0)
    repelled = BEGANObjective(4, seed=0, pull_away=0.5)
    loss_plain, logs_plain = plain.g_loss(gen, disc, batch)
    loss, logs = repelled.g_loss(gen, disc, batch)
    assert "pull_away" not in logs_plain
    # the same noise (same seed): the difference is exactly the weighted term
    fake = gen(BEGANObjective(4, seed=0).draw_noise(6))
    assert torch.allclose(disc.decode(disc.encode(fake)), disc(fake))
    term = float(pull_away_term(disc.encode(fake)))
    assert logs["pull_away"] == pytest.approx(term, rel=1e-5) and 0 < term <= 1
    assert float(loss) == pytest.approx(float(loss_plain) + 0.5 * term, rel=1e-5)
    loss.backward()
    assert all(p.grad is not None for p in gen.parameters())
    # a few steps on the term alone spread the codes of a fixed batch of fakes
    z = torch.randn(6, 4)
    optimiser = torch.optim.Adam(gen.parameters(), lr=1e-2)
    before = float(pull_away_term(disc.encode(gen(z))))
    for _ in range(20):
        optimiser.zero_grad()
        pull_away_term(disc.encode(gen(z))).backward()
        optimiser.step()
    assert float(pull_away_term(disc.encode(gen(z)))) < before
