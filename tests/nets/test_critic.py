"""deblur.nets.critic: the critic's measurements and network, its model file, and the shipped critic's ranking."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from deblur.nets import create_net, net_from_spec, net_spec
from deblur.nets.critic import FEATURES, critic_features
from deblur.ops.conv import blur
from deblur.synth.kernels import line_kernels
from deblur.weights import load_model, save_model
from tests.conftest import blur_with_noise, photo_crop

ROOT = Path(__file__).resolve().parents[2]


def _delta(size: int = 3) -> torch.Tensor:
    kernel = torch.zeros(1, size, size)
    kernel[0, size // 2, size // 2] = 1
    return kernel


def test_shape_features_are_finite_for_any_input() -> None:
    generator = torch.Generator().manual_seed(0)
    blurred, restored = torch.rand(2, 3, 40, 40, generator=generator), torch.rand(2, 3, 40, 40, generator=generator)
    kernels = torch.cat([_delta(9), line_kernels(torch.tensor([5.0]), torch.tensor([0.0]), 9)])
    features = critic_features(blurred, restored, kernels)
    assert features.shape == (2, len(FEATURES)) and bool(torch.isfinite(features).all())
    flat = torch.full((1, 3, 40, 40), 0.5)  # no detail at all, no noise
    assert bool(torch.isfinite(critic_features(flat, flat, _delta())).all())


def test_values_reblur_residual_tells_the_true_kernel_from_a_wrong_one() -> None:
    sharp = photo_crop()[..., :96, :96]
    kernel = line_kernels(torch.tensor([9.0]), torch.tensor([0.0]), 11)
    blurred = blur(sharp, kernel, padding="same")
    residual = FEATURES.index("log reblur residual / noise")
    right = critic_features(blurred, sharp, kernel)[0, residual]
    wrong = critic_features(blurred, sharp, kernel.transpose(-1, -2))[0, residual]
    assert float(right) < float(wrong) - 1


def test_shape_critic_forward_and_errors() -> None:
    critic = create_net("critic", width=8, depth=1)
    x = torch.rand(3, 3, 32, 32)
    assert critic(x, x, _delta().expand(3, -1, -1)).shape == (3,)
    with pytest.raises(ValueError, match="one shape"):
        critic(x, x[..., :16], _delta().expand(3, -1, -1))
    with pytest.raises(ValueError, match="kernels"):
        critic(x, x, torch.ones(3, 33, 33))


def test_values_critic_file_round_trip(tmp_path: Path) -> None:
    critic = create_net("critic", width=8, depth=2)
    critic.mean.fill_(0.5)
    assert net_spec(net_from_spec(net_spec(critic))) == net_spec(critic)
    path = save_model(tmp_path / "critic.safetensors", critic, {"task": "critic"})
    loaded, info = load_model(path)
    x, y = torch.rand(2, 3, 24, 24), torch.rand(2, 3, 24, 24)
    kernels = _delta(5).expand(2, -1, -1)
    assert info["task"] == "critic"
    torch.testing.assert_close(loaded(x, y, kernels), critic.eval()(x, y, kernels))


def test_values_shipped_critic_ranks_the_true_kernel_first() -> None:
    from deblur.restoration import load_restorer
    from deblur.restoration.models import load_critic

    net, info = load_restorer(ROOT / "models" / "deblur_default.safetensors")
    critic = load_critic(info, ROOT / "models" / "deblur_default.safetensors")
    assert critic is not None
    kernel = line_kernels(torch.tensor([12.0]), torch.tensor([30.0]), 15)
    blurred = blur_with_noise(photo_crop("astronaut"), kernel)[..., :160, :160]
    wrong = line_kernels(torch.tensor([12.0]), torch.tensor([120.0]), 15)  # the right length, across the blur
    with torch.no_grad():
        gains = {
            name: float(critic(blurred, net(blurred, k).clamp(0, 1), k))
            for name, k in (("true", kernel), ("wrong", wrong))
        }
    assert gains["true"] > 0.5 and gains["true"] > gains["wrong"] + 1, gains
