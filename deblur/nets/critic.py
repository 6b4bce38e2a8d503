"""The critic of blind restoration: how many dB a candidate restoration gains over its blurred input, without the
sharp image. It judges ``(blurred, restored, kernel)`` the way a person would check a deblurred photo: did the edges
get sharper without new ones appearing (gradient energy, sparsity, the Laplacian's), does the result blur back
into the input under the kernel (the reblur residual, against the noise and against how much the kernel blurs the
input itself), and what kernel was it (spread, central mass, support). :func:`critic_features` measures these on
the luminance; a small MLP maps them to the predicted gain. Physics gives the measurements, the network learns how
they combine: trained on candidate restorations with true, perturbed and estimated kernels
(``python -m deblur.train.critic``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deblur.ops.deconv import estimate_noise
from deblur.ops.estimate import luminance

__all__ = ["FEATURES", "Critic", "critic_features", "pessimistic_gain"]

FEATURES = (
    "log rms change",
    "log gradient energy ratio",
    "gradient sparsity, restored",
    "gradient sparsity change",
    "log Laplacian energy ratio",
    "log reblur residual / noise",
    "log reblur residual / kernel's own blur",
    "log kernel's own blur / noise",
    "log noise",
    "clipping change",
    "edge-aligned change",
    "log kernel spread",
    "kernel central mass",
    "log kernel support",
    "kernel peak",
)
"""What :func:`critic_features` measures, in order."""


def _grad(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., :-1, 1:] - x[..., :-1, :-1], x[..., 1:, :-1] - x[..., :-1, :-1]


def _mean_square(x: torch.Tensor) -> torch.Tensor:
    return x.pow(2).mean(dim=tuple(range(1, x.ndim)))


def critic_features(blurred: torch.Tensor, restored: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """The measurements the critic judges by (:data:`FEATURES`): ``(B, 3, H, W), (B, 3, H, W), (B, k, k) ->
    (B, len(FEATURES))``, images in [0, 1], kernels centred and summing to 1 (``H, W > k``)."""
    eps = 1e-8
    dtype = torch.float64 if blurred.dtype == torch.float64 else torch.float32
    y, x = luminance(blurred.to(dtype)), luminance(restored.to(dtype))
    kernels = kernels.to(dtype)
    batch, size = kernels.shape[0], kernels.shape[-1]
    noise = estimate_noise(y).clamp(min=1e-3)
    change = _mean_square(x - y)
    gyx, gyy = _grad(y)
    gxx, gxy = _grad(x)
    energy_y = _mean_square(gyx) + _mean_square(gyy)
    energy_x = _mean_square(gxx) + _mean_square(gxy)
    magnitude_y = (gyx.pow(2) + gyy.pow(2)).sqrt()
    magnitude_x = (gxx.pow(2) + gxy.pow(2)).sqrt()
    sparsity_x = magnitude_x.mean(dim=(1, 2, 3)) / (energy_x + eps).sqrt()
    sparsity_y = magnitude_y.mean(dim=(1, 2, 3)) / (energy_y + eps).sqrt()
    laplace = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], dtype=x.dtype, device=x.device)
    lap_ratio = _mean_square(F.conv2d(x, laplace[None, None])) / (_mean_square(F.conv2d(y, laplace[None, None])) + eps)
    # reblur: the restored image under the kernel against the input, on the pixels the kernel sees whole
    flipped = kernels.flip(-2, -1)[:, None]
    reblurred = F.conv2d(x.transpose(0, 1), flipped, groups=batch).transpose(0, 1)
    self_blurred = F.conv2d(y.transpose(0, 1), flipped, groups=batch).transpose(0, 1)
    r = size // 2
    inner = y[..., r : y.shape[-2] - r, r : y.shape[-1] - r]
    residual = _mean_square(reblurred - inner)
    own_blur = _mean_square(self_blurred - inner)
    clipped = ((x <= 0.002) | (x >= 0.998)).float().mean(dim=(1, 2, 3)) - ((y <= 0.002) | (y >= 0.998)).float().mean(
        dim=(1, 2, 3)
    )
    lift = (magnitude_x - magnitude_y).flatten(1)
    base = magnitude_y.flatten(1)
    lift, base = lift - lift.mean(1, keepdim=True), base - base.mean(1, keepdim=True)
    aligned = (lift * base).mean(1) / ((lift.pow(2).mean(1) * base.pow(2).mean(1)).sqrt() + eps)
    coords = torch.arange(size, dtype=kernels.dtype, device=kernels.device) - size // 2
    rows, cols = kernels.sum(-1), kernels.sum(-2)
    mean_row, mean_col = (rows * coords).sum(-1), (cols * coords).sum(-1)
    spread = (
        (rows * (coords - mean_row[:, None]) ** 2).sum(-1) + (cols * (coords - mean_col[:, None]) ** 2).sum(-1)
    ) / 2
    middle = size // 2
    central = kernels[:, max(0, middle - 1) : middle + 2, max(0, middle - 1) : middle + 2].sum(dim=(-2, -1))
    peak = kernels.flatten(1).amax(1)
    support = (kernels > 0.05 * peak[:, None, None]).float().sum(dim=(-2, -1))
    return torch.stack(
        [
            0.5 * torch.log(change + eps),
            torch.log((energy_x + eps) / (energy_y + eps)),
            sparsity_x,
            sparsity_x - sparsity_y,
            torch.log(lap_ratio + eps),
            0.5 * torch.log(residual / noise.pow(2) + eps),
            0.5 * torch.log((residual + eps) / (own_blur + eps)),
            0.5 * torch.log(own_blur / noise.pow(2) + eps),
            torch.log(noise),
            clipped,
            aligned,
            0.5 * torch.log(spread + 1e-2),
            central,
            0.5 * torch.log(support),
            peak,
        ],
        dim=1,
    )


def pessimistic_gain(predictions: torch.Tensor) -> float:
    """One candidate's gain from its crops' predictions ``(N,)``: their mean less their (population) spread, so that
    a kernel that helps one part of a photo and harms another is not trusted."""
    spread = float(predictions.std(unbiased=False)) if len(predictions) > 1 else 0.0
    return float(predictions.mean()) - spread


class Critic(nn.Module):
    """Predicted gain in dB of ``restored`` over ``blurred`` restored with ``kernels``: ``(B, 3, H, W),
    (B, 3, H, W), (B, k, k) -> (B,)``. The features are standardised by the training set's mean and spread (buffers
    saved with the weights), then an MLP of ``depth`` hidden layers of ``width`` units."""

    def __init__(self, width: int = 64, depth: int = 2) -> None:
        super().__init__()
        count = len(FEATURES)
        self.register_buffer("mean", torch.zeros(count))
        self.register_buffer("scale", torch.ones(count))
        layers: list[nn.Module] = []
        inputs = count
        for _ in range(depth):
            layers += [nn.Linear(inputs, width), nn.LeakyReLU(0.1)]
            inputs = width
        layers.append(nn.Linear(inputs, 1))
        self.mlp = nn.Sequential(*layers)

    def from_features(self, features: torch.Tensor) -> torch.Tensor:
        """The predicted gain from :func:`critic_features`' measurements ``(B, F) -> (B,)``."""
        features = features.to(self.mean.dtype)
        return self.mlp((features - self.mean) / self.scale)[:, 0]

    def forward(self, blurred: torch.Tensor, restored: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
        """Predicted ``PSNR(restored) - PSNR(blurred)`` in dB, one number per sample."""
        if blurred.shape != restored.shape or blurred.ndim != 4 or blurred.shape[1] != 3:
            raise ValueError(
                "expected two (B, 3, H, W) batches of one shape, "
                f"got {tuple(blurred.shape)} and {tuple(restored.shape)}"
            )
        if kernels.ndim != 3 or kernels.shape[0] != blurred.shape[0] or kernels.shape[-1] >= min(blurred.shape[-2:]):
            raise ValueError(f"expected (B, k, k) kernels smaller than the images, got {tuple(kernels.shape)}")
        return self.from_features(critic_features(blurred, restored, kernels))
