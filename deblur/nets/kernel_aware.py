"""The kernel-aware generator: physics first, then a small network.

``restored = refiner(deconvolved, condition=blurred)`` with ``deconvolved = hl_deconv(blurred, kernel)``: the blur
is inverted by non-blind deconvolution with a hyper-Laplacian prior and an unknown border
(:func:`deblur.ops.deconv.hl_deconv`), and a U-Net refiner that sees the blurred image beside the deconvolution adds
a residual to the deconvolution (its ringing, noise and the detail the prior removed), in the manner of deep Wiener
deconvolution (Dong et al. 2020) and USRNet (Zhang et al. 2020). The prior weight is a parameter (learned, in the
log domain, by default), so training tunes the deconvolution to what the refiner can correct. Starting from a zero
residual, an untrained network returns the deconvolution itself.

The spec nests the refiner's: ``{"name": "kernel_aware", "refiner": {"name": "unet", "width": 16}, ...}``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from deblur.ops.deconv import hl_deconv


class KernelAwareGenerator(nn.Module):
    """``(blurred, kernel) -> restored``.

    Args:
        refiner: the spec of the refining U-Net (``unet`` fields; ``extra_channels`` is set to the image's).
        weight: the deconvolution's prior weight at initialisation.
        learn_weight: learn the prior weight (else it stays fixed).
        iterations: ADMM iterations of the deconvolution.
        alpha: the prior's exponent.

    Shape:
        ``(B, C, H, W), (B, k, k) -> (B, C, H, W)``; not clamped.
    """

    takes_kernel = True

    def __init__(
        self,
        refiner: dict[str, Any] | None = None,
        weight: float = 7e-4,
        learn_weight: bool = True,
        iterations: int = 10,
        alpha: float = 2 / 3,
    ) -> None:
        super().__init__()
        from deblur.nets import net_from_spec  # the registry imports this module

        spec = {"name": "unet", "width": 16, **(refiner or {})}
        if spec["name"] != "unet":
            raise ValueError(f"the refiner must be a unet, got {spec['name']!r}")
        spec["extra_channels"] = spec.get("channels", 3)
        if not weight > 0 or iterations < 1:
            raise ValueError("weight must be positive and iterations at least 1")
        self.refiner = net_from_spec(spec)
        self.multiple = self.refiner.multiple
        log_weight = torch.tensor(math.log(weight))
        if learn_weight:
            self.log_weight = nn.Parameter(log_weight)
        else:
            self.register_buffer("log_weight", log_weight)
        self.iterations, self.alpha = iterations, alpha

    def deconvolve(self, blurred: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        """The physics step alone, outside autocast and at least in fp32 (the FFT solves need the precision)."""
        dtype = torch.float32 if blurred.dtype in (torch.float16, torch.bfloat16) else blurred.dtype
        with torch.autocast(blurred.device.type, enabled=False):
            weight = self.log_weight.to(dtype).exp()
            return hl_deconv(blurred.to(dtype), kernel.to(dtype), weight, self.alpha, iterations=self.iterations)

    def forward(self, blurred: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        deconvolved = self.deconvolve(blurred, kernel)
        return self.refiner(deconvolved.clamp(-0.5, 1.5), condition=blurred)
