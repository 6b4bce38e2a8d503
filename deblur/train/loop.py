"""The one adversarial training loop, step-based, for every GAN in deblur (and the deblurring trainer).

Read top to bottom, each step is Algorithm 1 of Goodfellow et al. (2014): ``d_steps`` discriminator updates on
fresh minibatches, then one generator update, then the EMA of the generator. Around it: mixed precision (bf16
autocast on GPU, a no-op on the CPU), gradient clipping, a NaN/Inf check that stops with a clear message before a
bad state is saved, a progress bar with D and G losses and D(x), D(G(z)), metrics in ``metrics.jsonl``, sample
grids, and atomic checkpoints from which ``resume=True`` continues exactly (networks, optimisers, EMA, objective
state, data position, RNG states and step).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from deblur.config import config_to_dict
from deblur.errors import DeblurError
from deblur.io import atomic_write_json, write_image
from deblur.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from deblur.train.ema import EMA
from deblur.train.log import MetricsWriter
from deblur.train.objectives import Logs, Objective


class TrainingDiverged(DeblurError):
    """A loss or weight became NaN or infinite."""


@dataclass(frozen=True)
class LoopConfig:
    """How the loop optimises; what it optimises comes from the caller.

    Attributes:
        steps: generator steps in all (the run stops at this step, also when resumed).
        d_steps: discriminator steps per generator step (``k`` of Algorithm 1).
        optimizer: ``adam`` or ``sgd`` (with momentum, as in the 2014 paper).
        lr: generator learning rate; ``lr_d`` the discriminator's (default: the same).
        betas: Adam's betas.
        momentum: SGD momentum.
        decay_from: fraction of ``steps`` after which both learning rates fall linearly to 0 (1: constant).
        ema: decay of the generator's EMA (0: no EMA).
        precision: ``fp32`` or ``bf16`` (autocast; used on CUDA only).
        clip: max gradient norm (0: no clipping).
        log_every, sample_every, ckpt_every: periods in steps (0: never; the last step always checkpoints).
    """

    steps: int = 10_000
    d_steps: int = 1
    optimizer: str = "adam"
    lr: float = 2e-4
    lr_d: float | None = None
    betas: tuple[float, float] = (0.5, 0.999)
    momentum: float = 0.5
    decay_from: float = 1.0
    ema: float = 0.999
    precision: str = "fp32"
    clip: float = 0.0
    log_every: int = 50
    sample_every: int = 1000
    ckpt_every: int = 1000

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be adam or sgd, got {self.optimizer!r}")
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be fp32 or bf16, got {self.precision!r}")
        if self.steps < 1 or self.d_steps < 1:
            raise ValueError("steps and d_steps must be at least 1")
        if not 0.0 <= self.decay_from <= 1.0:
            raise ValueError(f"decay_from must be in [0, 1], got {self.decay_from}")


def lr_factor(step: int, steps: int, decay_from: float) -> float:
    """Learning-rate multiplier at ``step``: 1 until ``decay_from * steps``, then linear to 0 at ``steps``.

    Example:
        >>> [lr_factor(s, 100, 0.5) for s in (0, 50, 75, 100)]
        [1.0, 1.0, 0.5, 0.0]
    """
    start = decay_from * steps
    if step < start or start >= steps:
        return 1.0
    return max(0.0, (steps - step) / (steps - start))


def make_optimizer(params: Iterator[nn.Parameter], config: LoopConfig, lr: float) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum)
    return torch.optim.Adam(params, lr=lr, betas=config.betas)


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA when asked for; a no-op context everywhere else."""
    enabled = precision == "bf16" and device.type == "cuda"
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def _finite(module: nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in module.parameters())


@dataclass
class RunState:
    """Everything a run changes, grouped for checkpointing."""

    gen: nn.Module
    disc: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    ema: EMA | None
    objective: Objective
    stream: Any
    step: int = 0

    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "gen": self.gen.state_dict(),
            "disc": self.disc.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "objective": self.objective.state_dict(),
            "stream": self.stream.state_dict(),
            "rng": rng_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.gen.load_state_dict(state["gen"])
        self.disc.load_state_dict(state["disc"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])
        self.objective.load_state_dict(state["objective"])
        self.stream.load_state_dict(state["stream"])
        set_rng_state(state["rng"])


def train_loop(
    gen: nn.Module,
    disc: nn.Module,
    objective: Objective,
    stream: Iterator[dict[str, torch.Tensor]],
    config: LoopConfig,
    out: str | Path,
    *,
    meta: dict[str, Any] | None = None,
    sample_fn: Callable[[nn.Module], torch.Tensor] | None = None,
    resume: bool = False,
    progress: bool = True,
) -> RunState:
    """Train ``gen`` against ``disc`` with ``objective`` on batches from ``stream``.

    Args:
        gen, disc: networks on the training device.
        objective: computes both losses (see ``deblur.train.objectives``).
        stream: endless batches with ``state_dict``/``load_state_dict`` (``deblur.data.streams``).
        config: the optimisation settings.
        out: run folder: ``last.pt``, ``config.json``, ``metrics.jsonl``, ``samples/``.
        meta: stored in every checkpoint (run config, network specs) so a checkpoint describes itself.
        sample_fn: ``sample_fn(generator) -> (N, C, H, W)`` images for the periodic sample grids.
        resume: continue from ``out/last.pt`` if it exists.
        progress: show a progress bar.

    Returns:
        The final :class:`RunState` (the EMA generator is ``state.ema.model``).

    Raises:
        TrainingDiverged: a loss or the weights became NaN/Inf; the last checkpoint (all finite) is kept.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    device = next(gen.parameters()).device
    meta = {**(meta or {}), "loop": config_to_dict(config)}
    state = RunState(
        gen=gen,
        disc=disc,
        opt_g=make_optimizer(gen.parameters(), config, config.lr),
        opt_d=make_optimizer(disc.parameters(), config, config.lr_d or config.lr),
        ema=EMA(gen, config.ema) if config.ema > 0 else None,
        objective=objective,
        stream=stream,
    )
    checkpoint = out / "last.pt"
    if resume and checkpoint.exists():
        state.load_state_dict(load_checkpoint(checkpoint, map_location=device)["state"])
    atomic_write_json(out / "config.json", meta)
    writer = MetricsWriter(out)
    sampled = state.ema.model if state.ema is not None else gen

    def save() -> None:
        if not (_finite(gen) and _finite(disc)):
            raise TrainingDiverged(
                f"weights became NaN/Inf by step {state.step}; {checkpoint} keeps the last good state"
            )
        save_checkpoint(checkpoint, {"state": state.state_dict(), "meta": meta})

    bar = tqdm(total=config.steps, initial=state.step, desc="train", unit="step", disable=not progress)
    running: dict[str, float] = {}
    try:
        while state.step < config.steps:
            gen.train()
            disc.train()
            factor = lr_factor(state.step, config.steps, config.decay_from)
            for optimizer, lr in ((state.opt_g, config.lr), (state.opt_d, config.lr_d or config.lr)):
                for group in optimizer.param_groups:
                    group["lr"] = lr * factor
            # --- discriminator: k steps on fresh minibatches, G fixed (Algorithm 1, inner loop) ---
            disc.requires_grad_(True)
            for _ in range(config.d_steps):
                batch = next(stream)
                with autocast(device, config.precision):
                    loss_d, logs = objective.d_loss(gen, disc, batch)
                state.opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                if config.clip > 0:
                    nn.utils.clip_grad_norm_(disc.parameters(), config.clip)
                state.opt_d.step()
            # --- generator: one step through the (frozen) discriminator ---
            disc.requires_grad_(False)
            with autocast(device, config.precision):
                loss_g, logs_g = objective.g_loss(gen, disc, batch)
            state.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            if config.clip > 0:
                nn.utils.clip_grad_norm_(gen.parameters(), config.clip)
            state.opt_g.step()
            if state.ema is not None:
                state.ema.update(gen)
            logs = objective.end_step({**logs, **logs_g})
            state.step += 1

            bad = [k for k, v in logs.items() if isinstance(v, float) and not torch.isfinite(torch.tensor(v))]
            if bad:
                last = f"{checkpoint} keeps the last good state" if checkpoint.exists() else "no checkpoint was saved"
                raise TrainingDiverged(
                    f"{', '.join(bad)} became NaN/Inf at step {state.step}; {last}. Lower the learning rate or set a "
                    f"gradient clip"
                )
            running = _accumulate(running, logs)
            bar.update(1)
            if config.log_every and (state.step % config.log_every == 0 or state.step == config.steps):
                means = {k: v / running["_n"] for k, v in running.items() if k != "_n"}
                writer.write(state.step, means)
                bar.set_postfix({k: f"{means[k]:.3f}" for k in ("loss_d", "loss_g", "d_real", "d_fake") if k in means})
                running = {}
            if sample_fn is not None and config.sample_every and state.step % config.sample_every == 0:
                save_grid(out / "samples" / f"step_{state.step:07d}.png", sample_fn(sampled))
            if (config.ckpt_every and state.step % config.ckpt_every == 0) or state.step == config.steps:
                save()
    finally:
        bar.close()
        writer.close()
    if sample_fn is not None:
        save_grid(out / "samples" / "final.png", sample_fn(sampled))
    return state


def _accumulate(running: dict[str, float], logs: Logs) -> dict[str, float]:
    out = dict(running)
    out["_n"] = out.get("_n", 0) + 1
    for key, value in logs.items():
        out[key] = out.get(key, 0.0) + float(value)
    return out


def save_grid(path: Path, images: torch.Tensor, nrow: int | None = None) -> Path:
    """Tile ``(N, C, H, W)`` images in [0, 1] into one PNG (grey images become RGB)."""
    import math

    import torchvision

    nrow = nrow or math.ceil(math.sqrt(len(images)))
    grid = torchvision.utils.make_grid(images.detach().float().clamp(0, 1).cpu(), nrow=nrow, padding=2, pad_value=1.0)
    return write_image(path, grid, overwrite=True)
