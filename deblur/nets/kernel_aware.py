"""The kernel-aware generator: physics first, then a small network.

``restored = refiner(deconvolved, condition=blurred)`` with ``deconvolved = hl_deconv(blurred, kernel)``: the blur
is inverted by non-blind deconvolution with a hyper-Laplacian prior and an unknown border
(:func:`deblur.ops.deconv.hl_deconv`), and a U-Net refiner that sees the blurred image beside the deconvolution adds
a residual to the deconvolution (its ringing, noise and the detail the prior removed), in the manner of deep Wiener
deconvolution (Dong et al. 2020) and USRNet (Zhang et al. 2020). The prior weight is a parameter (learned, in the
log domain, by default), so training tunes the deconvolution to what the refiner can correct; it can also stay fixed.
Starting from a zero residual, an untrained network returns the deconvolution itself.

The spec nests the refiner's: ``{"name": "kernel_aware", "refiner": {"name": "unet", "width": 16}, ...}``.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch
from torch import nn

from deblur.ops.deconv import estimate_noise, hl_deconv, wiener_deconv
from deblur.ops.psf import center_kernels


class KernelAwareGenerator(nn.Module):
    """``(blurred, kernel) -> restored``.

    Args:
        refiner: the spec of the refining U-Net (``unet`` fields; ``extra_channels`` is set to the image's).
        weight: the deconvolution's prior weight at initialisation.
        learn_weight: learn the prior weight (else it stays fixed), so the deconvolution is tuned to what the
            refiner can correct (the refiner is then tuned to the weight it was trained with: see the model cards).
        iterations: ADMM iterations of the deconvolution.
        beta_max: the end of the deconvolution's penalty continuation (fewer iterations do best with a lower end).
        alpha: the prior's exponent.
        wiener_nsr: if given, the refiner also sees a Wiener deconvolution with this constant noise-to-signal ratio
            (one more FFT pair): a smooth, ringing-poor estimate to fall back on where the hyper-Laplacian one
            rings because the kernel is wrong. None: no Wiener branch.
        sharp_factor: if given, the refiner also sees a second hyper-Laplacian deconvolution whose prior weight is
            this factor times the model's (say 0.25: sharper and noisier), solved in the same batched call. The best
            prior weight varies about 8x between photos; with both the refiner can choose per pixel. None: no
            second deconvolution. Its channels come last, so ``init`` grows it onto a model without it.
        residual: if True, the refiner also sees the deconvolution's re-blur residual ``k * x - y`` over the
            image's estimated noise (:func:`deblur.ops.deconv.estimate_noise`), clipped to +-10 and scaled by 1/10: a
            kernel-trust map that comes free from the deconvolution's last iteration. Given the true kernel it is
            noise of unit scale; given a wrong one it grows along the edges that the wrong kernel rings on, so one
            model can rely on the deconvolution where its kernel fits and fall back where it does not. Its channels
            come last, so ``init`` grows it onto a model without it.
        center: if True, each given kernel is first shifted by whole pixels so its centre of mass is the middle pixel
            (:func:`deblur.ops.psf.center_kernels`, canvas widened so no mass is lost): deblur's convention for
            every kernel. A kernel's position cannot be told from the blurred photo, so a kernel off by a shift
            (as an estimate may be) would otherwise shift the restored image by as much; a model trained on shifted
            kernels learns to hedge with a softer image instead. A no-op on centred kernels (``restore --kernel``
            centres kernel files, and the estimator returns centred kernels).
        estimator: options of the kernel estimator (:func:`deblur.ops.estimate.estimate_with_check`: ``max_size``
            and the like) for blind restoration (:mod:`deblur.restoration.blind`): a model with an estimator
            restores photos whose kernel is unknown (``deblur restore photo.jpg``); None: the kernel must be given.

    In eval mode on a CPU with native bf16 arithmetic the refiner runs in bf16 autocast (``cpu_bf16``; set it to
    False for fp32 throughout); the deconvolution always runs in fp32.

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
        beta_max: float = 256.0,
        wiener_nsr: float | None = None,
        sharp_factor: float | None = None,
        residual: bool = False,
        center: bool = False,
        estimator: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        from deblur.nets import net_from_spec  # the registry imports this module

        spec = {"name": "unet", "width": 16, **(refiner or {})}
        if spec["name"] != "unet":
            raise ValueError(f"the refiner must be a unet, got {spec['name']!r}")
        branches = 1 + (wiener_nsr is not None) + (sharp_factor is not None) + bool(residual)
        spec["extra_channels"] = spec.get("channels", 3) * branches
        if not weight > 0 or iterations < 1 or not beta_max >= 1:
            raise ValueError("weight must be positive, iterations at least 1 and beta_max at least 1")
        if wiener_nsr is not None and not wiener_nsr > 0:
            raise ValueError(f"wiener_nsr must be positive, got {wiener_nsr}")
        if sharp_factor is not None and not sharp_factor > 0:
            raise ValueError(f"sharp_factor must be positive, got {sharp_factor}")
        self.wiener_nsr, self.sharp_factor, self.residual = wiener_nsr, sharp_factor, bool(residual)
        self.center = bool(center)
        self.estimator = None if estimator is None else dict(estimator)
        self.refiner = net_from_spec(spec)
        self.multiple = self.refiner.multiple
        log_weight = torch.tensor(math.log(weight))
        if learn_weight:
            self.log_weight = nn.Parameter(log_weight)
        else:
            self.register_buffer("log_weight", log_weight)
        self.iterations, self.alpha, self.beta_max = iterations, alpha, beta_max
        self.cpu_bf16 = True  # run the refiner in bf16 at inference on CPUs that have it (not a weight or a spec)

    def deconvolve(
        self, blurred: torch.Tensor, kernel: torch.Tensor, residual: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The physics step alone, outside autocast and at least in fp32 (the FFT solves need the precision).
        With ``sharp_factor`` it returns both deconvolutions side by side, ``(B, 2C, H, W)``; with ``residual`` also
        the re-blur residual of the (first) deconvolution, ``(B, C, H, W)``."""
        dtype = torch.float32 if blurred.dtype in (torch.float16, torch.bfloat16) else blurred.dtype
        with torch.autocast(blurred.device.type, enabled=False):
            weight = self.log_weight.to(dtype).exp()
            blurred, kernel = blurred.to(dtype), kernel.to(dtype)
            options = {"iterations": self.iterations, "beta_max": self.beta_max, "residual": residual}
            if self.sharp_factor is None:
                return hl_deconv(blurred, kernel, weight, self.alpha, **options)
            batch = blurred.shape[0]  # one batched solve: (2B, C, H, W) with weights (2B,)
            kernel = kernel.expand(batch, *kernel.shape[-2:]) if kernel.shape[0] == 1 else kernel
            weights = torch.cat([weight.expand(batch), (weight * self.sharp_factor).expand(batch)])
            both = hl_deconv(torch.cat([blurred, blurred]), torch.cat([kernel, kernel]), weights, self.alpha, **options)
            if residual:
                both, misfit = both
                return torch.cat(both.chunk(2), dim=1), misfit[:batch]
            return torch.cat(both.chunk(2), dim=1)

    def condition(
        self,
        blurred: torch.Tensor,
        kernel: torch.Tensor,
        sharper: torch.Tensor | None = None,
        residual: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """What the refiner sees beside the deconvolution: the blurred image, the Wiener branch if any, the
        sharper deconvolution if any (``sharper``, from :meth:`deconvolve`) and the normalised re-blur residual if
        the model takes it (``residual``, from :meth:`deconvolve`)."""
        parts = [blurred]
        if self.wiener_nsr is not None:
            dtype = torch.float32 if blurred.dtype in (torch.float16, torch.bfloat16) else blurred.dtype
            with torch.autocast(blurred.device.type, enabled=False):
                smooth = wiener_deconv(blurred.to(dtype), kernel.to(dtype), self.wiener_nsr).clamp(-0.5, 1.5)
            parts.append(smooth.to(blurred.dtype))
        if sharper is not None:
            parts.append(sharper.to(blurred.dtype))
        if residual is not None:
            parts.append(trust_map(blurred, residual).to(blurred.dtype))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)

    def refiner_inputs(self, blurred: torch.Tensor, kernel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What the refiner takes: the (clamped) deconvolution and its condition (:meth:`condition`)."""
        if self.center:
            kernel = center_kernels(kernel)
        residual = None
        if self.residual:
            deconvolved, residual = self.deconvolve(blurred, kernel, residual=True)
        else:
            deconvolved = self.deconvolve(blurred, kernel)
        deconvolved = deconvolved.clamp(-0.5, 1.5)
        sharper = None
        if self.sharp_factor is not None:
            deconvolved, sharper = deconvolved.chunk(2, dim=1)
        return deconvolved, self.condition(blurred, kernel, sharper, residual)

    def forward(self, blurred: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        deconvolved, condition = self.refiner_inputs(blurred, kernel)
        if self.cpu_bf16 and not self.training and blurred.device.type == "cpu" and _native_bf16():
            # inference on a CPU with bf16 units: the refiner 2-3x faster (its residual is added in fp32)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return self.refiner(deconvolved, condition=condition).float()
        return self.refiner(deconvolved, condition=condition)


def trust_map(blurred: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """The refiner's view of a re-blur residual: over the blurred image's estimated noise (at least 0.002), clipped to
    +-10 and scaled by 1/10, in fp32."""
    with torch.autocast(blurred.device.type, enabled=False):
        sigma = estimate_noise(blurred.float()).clamp(min=2e-3).reshape(-1, 1, 1, 1)
        return (residual.float() / sigma).clamp(-10, 10) / 10


@functools.cache
def _native_bf16() -> bool:
    """Whether this CPU computes in bf16 natively (AVX512-BF16, AMX): elsewhere bf16 autocast is emulated and slow."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False
