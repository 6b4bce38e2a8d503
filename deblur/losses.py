"""Adversarial losses on logits, penalties, and content losses.

Every adversarial loss takes raw discriminator outputs (logits, never probabilities) and is written with
``softplus``, so that it stays finite however confident the discriminator is: ``-log sigmoid(l) = softplus(-l)``
and ``-log(1 - sigmoid(l)) = softplus(l)``. :class:`GANLoss` hides the target labels (as pix2pix's does) behind two
calls, ``loss.d(real, fake)`` and ``loss.g(fake, real)``.

Kinds:
    ``minimax``: the 2014 value function; D maximises ``log D(x) + log(1 - D(G(z)))``, G minimises
        ``log(1 - D(G(z)))`` (Goodfellow et al. 2014, eq. 1), which saturates early in training.
    ``nonsaturating``: the same D; G maximises ``log D(G(z))`` instead (ibid., sec. 3). The default.
    ``lsgan``: least squares on the logits, targets 1 and 0 (Mao et al. 2017).
    ``hinge``: ``relu(1 - D(x)) + relu(1 + D(G(z)))`` for D, ``-D(G(z))`` for G (Lim & Ye 2017).
    ``wgan``: critic ``D(G(z)) - D(x)``, G ``-D(G(z))``; pair it with :func:`gradient_penalty` (WGAN-GP,
        Gulrajani et al. 2017).
    ``relativistic``: relativistic average GAN (Jolicoeur-Martineau 2018), both real and fake judged against the
        other's mean.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

GAN_LOSSES = ("minimax", "nonsaturating", "lsgan", "hinge", "wgan", "relativistic")


def _mean(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.float().mean()


def d_loss(real: torch.Tensor, fake: torch.Tensor, kind: str = "nonsaturating") -> torch.Tensor:
    """The discriminator's loss (to minimise) from its logits on real and generated samples.

    Example:
        >>> round(float(d_loss(torch.tensor([0.0]), torch.tensor([0.0]))), 4)  # 2 log 2
        1.3863
    """
    if kind in ("minimax", "nonsaturating"):
        return _mean(F.softplus(-real)) + _mean(F.softplus(fake))
    if kind == "lsgan":
        return 0.5 * (_mean((real - 1) ** 2) + _mean(fake**2))
    if kind == "hinge":
        return _mean(F.relu(1 - real)) + _mean(F.relu(1 + fake))
    if kind == "wgan":
        return _mean(fake) - _mean(real)
    if kind == "relativistic":
        return _mean(F.softplus(-(real - fake.mean()))) + _mean(F.softplus(fake - real.mean()))
    raise ValueError(f"unknown GAN loss {kind!r}: use one of {', '.join(GAN_LOSSES)}")


def g_loss(fake: torch.Tensor, real: torch.Tensor | None = None, kind: str = "nonsaturating") -> torch.Tensor:
    """The generator's loss (to minimise) from the discriminator's logits on generated (and, for the
    relativistic loss, real) samples.

    Example:
        >>> round(float(g_loss(torch.tensor([0.0]))), 4)  # -log 1/2
        0.6931
    """
    if kind == "minimax":
        return -_mean(F.softplus(fake))  # log(1 - D(G(z))) = -softplus(l)
    if kind == "nonsaturating":
        return _mean(F.softplus(-fake))  # -log D(G(z))
    if kind == "lsgan":
        return 0.5 * _mean((fake - 1) ** 2)
    if kind in ("hinge", "wgan"):
        return -_mean(fake)
    if kind == "relativistic":
        if real is None:
            raise ValueError("the relativistic loss needs the logits of real samples too")
        return _mean(F.softplus(-(fake - real.mean()))) + _mean(F.softplus(real - fake.mean()))
    raise ValueError(f"unknown GAN loss {kind!r}: use one of {', '.join(GAN_LOSSES)}")


class GANLoss(torch.nn.Module):
    """Adversarial loss of one kind: ``loss.d(real_logits, fake_logits)`` and ``loss.g(fake_logits, real_logits)``.

    Logits may be tensors or lists of tensors (multi-scale discriminators); lists are averaged.
    """

    def __init__(self, kind: str = "nonsaturating") -> None:
        super().__init__()
        if kind not in GAN_LOSSES:
            raise ValueError(f"unknown GAN loss {kind!r}: use one of {', '.join(GAN_LOSSES)}")
        self.kind = kind

    def d(self, real: torch.Tensor | list[torch.Tensor], fake: torch.Tensor | list[torch.Tensor]) -> torch.Tensor:
        return _over_scales(lambda r, f: d_loss(r, f, self.kind), real, fake)

    def g(
        self, fake: torch.Tensor | list[torch.Tensor], real: torch.Tensor | list[torch.Tensor] | None = None
    ) -> torch.Tensor:
        if real is None:
            return _over_scales(lambda f, _: g_loss(f, None, self.kind), fake, fake)
        return _over_scales(lambda f, r: g_loss(f, r, self.kind), fake, real)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"


def _over_scales(fn: Callable, first: torch.Tensor | list, second: torch.Tensor | list) -> torch.Tensor:
    if isinstance(first, (list, tuple)):
        return torch.stack([fn(a, b) for a, b in zip(first, second, strict=True)]).mean()
    return fn(first, second)


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP: ``E[(||grad D(x_hat)|| - 1)^2]`` at random points between real and generated samples.

    Args:
        critic: maps a batch to logits (conditioning already bound).
        real, fake: batches of the same shape.
        generator: for the interpolation weights (on the samples' device).
    """
    alpha = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), generator=generator, device=real.device)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).float().sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): ``E[||grad D(x)||^2] / 2`` on real samples; ``real`` must require grad."""
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real, create_graph=True)
    return 0.5 * grad.flatten(1).pow(2).sum(dim=1).mean()


def charbonnier_loss(prediction: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """``mean(sqrt((p - t)^2 + eps^2))``, a smooth L1 that is robust to outliers (Charbonnier et al. 1994)."""
    return torch.sqrt((prediction.float() - target.float()) ** 2 + eps**2).mean()


CONTENT_LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "l1": F.l1_loss,
    "charbonnier": charbonnier_loss,
    "l2": F.mse_loss,
}
"""The content losses of a deblurring generator by name (``l2``: mean squared error, what PSNR measures)."""


def fft_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of the 2-D spectra (real and imaginary parts), a frequency loss that penalises
    missing high frequencies that L1 alone forgives (as in MIMO-UNet, Cho et al. 2021)."""
    difference = torch.fft.rfft2(prediction.float()) - torch.fft.rfft2(target.float())
    return torch.view_as_real(difference).abs().mean()


VGG19_LAYERS = {"relu1_2": 3, "relu2_2": 8, "relu3_4": 17, "relu4_4": 26, "relu5_4": 35}
"""Indices of ReLU outputs in torchvision's ``vgg19().features``."""


class PerceptualLoss(torch.nn.Module):
    """L1 between VGG-19 features of prediction and target (Johnson et al. 2016), from a local weights file.

    Nothing is downloaded: ``weights`` is a ``.pth`` (read with ``weights_only=True``) or ``.safetensors`` file
    holding torchvision's ``vgg19`` state dict (or just its ``features``), which the user provides.

    Args:
        weights: path of the VGG-19 weights.
        layers: names from :data:`VGG19_LAYERS` whose features are compared (weighted equally).
    """

    def __init__(self, weights: str, layers: tuple[str, ...] = ("relu2_2", "relu3_4", "relu4_4")) -> None:
        super().__init__()
        import torchvision

        unknown = [name for name in layers if name not in VGG19_LAYERS]
        if unknown:
            raise ValueError(f"unknown VGG layers {unknown}: use {', '.join(VGG19_LAYERS)}")
        features = torchvision.models.vgg19(weights=None).features[: max(VGG19_LAYERS[n] for n in layers) + 1]
        state = _read_state_dict(weights)
        state = {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}
        state = {k: v for k, v in state.items() if k in features.state_dict()}
        try:
            features.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ValueError(f"{weights} does not hold torchvision VGG-19 weights: {str(exc).splitlines()[0]}") from exc
        self.features = features.eval().requires_grad_(False)
        self.taps = {VGG19_LAYERS[n] for n in layers}
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def _features(self, image: torch.Tensor) -> list[torch.Tensor]:
        x, out = (image - self.mean) / self.std, []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self.taps:
                out.append(x)
        return out

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pairs = zip(self._features(prediction), self._features(target), strict=True)
        return torch.stack([F.l1_loss(p.float(), t.float()) for p, t in pairs]).mean()


def _read_state_dict(path: str) -> dict[str, torch.Tensor]:
    """Tensors of a ``.safetensors`` or weights-only ``.pth`` file; never unpickles objects."""
    from pathlib import Path

    if not Path(path).is_file():
        raise ValueError(f"perceptual-loss weights {path} do not exist: pass a local VGG-19 weights file")
    if str(path).endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path} is not a weights-only torch file: {str(exc).splitlines()[0]}") from exc
    if not isinstance(state, dict):
        raise ValueError(f"{path} does not hold a state dict")
    return state
