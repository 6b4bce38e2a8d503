"""DeblurObjective's content losses: the generator's loss is the named loss of (restored, sharp), weighted."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deblur.config import LossConfig
from deblur.errors import ConfigError
from deblur.losses import charbonnier_loss
from deblur.train.objectives import DeblurObjective


class _Shift(nn.Module):
    """A generator that adds a constant: its error against ``sharp`` is known in closed form."""

    def forward(self, blurred: torch.Tensor) -> torch.Tensor:
        return blurred + 0.1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("l1", lambda d: d.abs().mean()),
        ("charbonnier", lambda d: charbonnier_loss(d, torch.zeros_like(d))),
        ("l2", lambda d: d.pow(2).mean()),
    ],
)
def test_values_content_loss_by_name(content: str, expected) -> None:
    torch.manual_seed(0)
    sharp = torch.rand(2, 3, 8, 8)
    blurred = sharp + 0.2 * torch.randn_like(sharp)
    objective = DeblurObjective(adv_weight=0.0, content=content, content_weight=3.0)
    loss, logs = objective.g_loss(_Shift(), nn.Identity(), {"blurred": blurred, "sharp": sharp})
    target = float(expected(blurred + 0.1 - sharp))
    assert logs["content"] == pytest.approx(target, rel=1e-5)
    assert float(loss) == pytest.approx(3.0 * target, rel=1e-5)


def test_exception_unknown_content_loss() -> None:
    with pytest.raises(ValueError, match="content must be one of l1, charbonnier, l2"):
        DeblurObjective(content="l3")
    with pytest.raises(ConfigError, match="content must be l1, charbonnier or l2"):
        LossConfig(content="huber")
