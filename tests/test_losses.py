"""Adversarial losses against hand-computed values and torch references; penalties on critics with known gradients."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from deblur.losses import GAN_LOSSES, GANLoss, charbonnier_loss, d_loss, g_loss, gradient_penalty, r1_penalty

LOG2 = math.log(2)


@pytest.mark.parametrize(
    ("kind", "real", "fake", "expected"),
    [
        ("nonsaturating", 0.0, 0.0, 2 * LOG2),  # -log 1/2 - log 1/2
        ("minimax", 0.0, 0.0, 2 * LOG2),
        ("lsgan", 1.0, 0.0, 0.0),
        ("lsgan", 0.0, 1.0, 1.0),  # (1/2) (1 + 1)
        ("hinge", 2.0, -2.0, 0.0),
        ("hinge", 0.0, 0.0, 2.0),
        ("wgan", 3.0, 1.0, -2.0),
        ("relativistic", 1.0, 1.0, 2 * LOG2),
    ],
)
def test_values_d(kind: str, real: float, fake: float, expected: float) -> None:
    assert float(d_loss(torch.tensor([real]), torch.tensor([fake]), kind)) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("kind", "fake", "expected"),
    [
        ("nonsaturating", 0.0, LOG2),  # -log D(G(z)) at D = 1/2
        ("minimax", 0.0, -LOG2),  # log(1 - D(G(z))) at D = 1/2
        ("nonsaturating", math.log(3), -math.log(0.75)),  # D = 3/4
        ("minimax", math.log(3), math.log(0.25)),
        ("lsgan", 0.0, 0.5),
        ("hinge", 1.5, -1.5),
        ("wgan", -2.0, 2.0),
    ],
)
def test_values_g(kind: str, fake: float, expected: float) -> None:
    assert float(g_loss(torch.tensor([fake]), None, kind)) == pytest.approx(expected, abs=1e-6)


def test_values_relativistic_g() -> None:
    # G wants fakes judged more real than the mean real and vice versa: both terms softplus(0) at equality
    assert float(g_loss(torch.tensor([2.0]), torch.tensor([2.0]), "relativistic")) == pytest.approx(2 * LOG2)


def test_matches_bce_reference() -> None:
    real, fake = torch.randn(16), torch.randn(16)
    reference = F.binary_cross_entropy_with_logits(real, torch.ones(16)) + F.binary_cross_entropy_with_logits(
        fake, torch.zeros(16)
    )
    torch.testing.assert_close(d_loss(real, fake, "nonsaturating"), reference)
    torch.testing.assert_close(
        g_loss(fake, None, "nonsaturating"), F.binary_cross_entropy_with_logits(fake, torch.ones(16))
    )


@pytest.mark.parametrize("kind", GAN_LOSSES)
def test_stable_for_extreme_logits(kind: str) -> None:
    huge = torch.tensor([1e4, -1e4, 80.0, -80.0], requires_grad=True)
    loss = d_loss(huge, -huge, kind) + g_loss(huge, huge, kind)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(huge.grad).all()


def test_gan_loss_module_and_scales() -> None:
    loss = GANLoss("hinge")
    real, fake = torch.tensor([0.5, 2.0]), torch.tensor([-0.5, 0.0])
    assert float(loss.d(real, fake)) == pytest.approx(float(d_loss(real, fake, "hinge")))
    assert float(loss.d([real, real], [fake, fake])) == pytest.approx(float(d_loss(real, fake, "hinge")))
    assert float(loss.g([fake, fake])) == pytest.approx(float(g_loss(fake, None, "hinge")))


def test_exception_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown GAN loss"):
        GANLoss("vanilla")
    with pytest.raises(ValueError, match="needs the logits of real"):
        g_loss(torch.zeros(1), None, "relativistic")


def test_values_gradient_penalty() -> None:
    # a linear critic D(x) = <w, x> has gradient w everywhere: penalty (|w| - 1)^2
    weight = torch.tensor([3.0, 4.0])
    critic = lambda x: x @ weight  # noqa: E731
    penalty = gradient_penalty(critic, torch.randn(8, 2), torch.randn(8, 2))
    assert float(penalty) == pytest.approx((5.0 - 1.0) ** 2)


def test_values_r1() -> None:
    real = torch.randn(4, 3, requires_grad=True)
    logits = (real * torch.tensor([1.0, 2.0, 2.0])).sum(dim=1)  # gradient (1, 2, 2), squared norm 9
    assert float(r1_penalty(logits, real)) == pytest.approx(4.5)


def test_values_charbonnier() -> None:
    assert float(charbonnier_loss(torch.zeros(4), torch.zeros(4), eps=1e-3)) == pytest.approx(1e-3)
    assert float(charbonnier_loss(torch.ones(4), torch.zeros(4), eps=0.0)) == pytest.approx(1.0)


def test_values_never_worse_loss() -> None:
    from deblur.train.objectives import never_worse_loss

    sharp = torch.zeros(2, 3, 8, 8)
    blurred = torch.full_like(sharp, 0.1)
    better = torch.full_like(sharp, 0.05, requires_grad=True)
    loss = never_worse_loss(better, blurred, sharp)
    loss.backward()
    assert float(loss.detach()) == 0.0 and float(better.grad.abs().sum()) == 0.0  # no push on images already improved
    worse = torch.cat([torch.full((1, 3, 8, 8), 0.1 * 10 ** (1 / 20)), torch.full((1, 3, 8, 8), 0.05)])
    # sample 0 lost exactly 1 dB, sample 1 gained: the mean is ln(10) / 10 / 2
    assert float(never_worse_loss(worse, blurred, sharp)) == pytest.approx(math.log(10) / 20, rel=1e-4)
