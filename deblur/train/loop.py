"""The one adversarial training loop, step-based, for every GAN in deblur (and the deblurring trainer).

Read top to bottom, each step is Algorithm 1 of Goodfellow et al. (2014): ``d_steps`` discriminator updates on
fresh minibatches, then one generator update, then the EMA of the generator. Around it: mixed precision (bf16
autocast on a GPU, or on the CPU when asked for), gradient clipping, a NaN/Inf check that stops with a clear
message before a bad state is saved, a progress bar with D and G losses and D(x), D(G(z)), metrics in
``metrics.jsonl``, sample grids, periodic validation (``eval_fn``, with ``best.pt`` kept by a chosen metric), and
atomic checkpoints from which ``resume=True`` continues exactly (networks, optimisers, EMA, objective state, data
position, RNG states, step). SIGTERM and Ctrl-C set a flag; at the next step boundary the loop saves a checkpoint
and raises :class:`TrainingInterrupted` (no file I/O in the signal handler; a second Ctrl-C aborts at once).

Under ``torchrun`` (``torch.distributed`` initialised), the generator and discriminator are wrapped in
``DistributedDataParallel``; rank 0 alone logs, validates and writes checkpoints. An objective used this way must
call the discriminator once per discriminator step (e.g. on real and fake concatenated), as DDP requires.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from tqdm import tqdm

from deblur.config import OptimConfig, config_to_dict
from deblur.errors import ConfigError, DeblurError, DeblurWarning
from deblur.io import atomic_write_json, write_image
from deblur.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from deblur.train.ema import EMA
from deblur.train.log import MetricsWriter
from deblur.train.objectives import Logs, Objective


class TrainingDiverged(DeblurError):
    """A loss or weight became NaN or infinite."""


class TrainingInterrupted(DeblurError):
    """SIGTERM or Ctrl-C stopped the run; a checkpoint was saved at the step boundary."""


@dataclass(frozen=True)
class LoopConfig:
    """How the loop runs; what it optimises comes from the caller.

    Attributes:
        steps: generator steps in all (the run stops at this step, also when resumed).
        optim: optimiser, learning rates and their decay (none unless ``lr_decay_from`` is given), ``d_steps``
            (``k`` of Algorithm 1), EMA, precision (fp32 unless given; ``auto`` is resolved for the networks'
            device) and gradient clipping: :class:`deblur.config.OptimConfig`.
        log_every, sample_every, ckpt_every: periods in steps (0: never; the last step always checkpoints).
        eval_every: period of ``eval_fn`` (0: never; also run at the last step).
        best_metric: key of ``eval_fn``'s result that selects ``best.pt`` (higher is better).
        images_per_step: samples per generator step, for the images/s shown and logged (0: not shown).
        max_bad_steps: consecutive steps with a NaN/Inf loss or gradient norm (each skipped: no weight changes)
            after which the run stops.
    """

    steps: int = 10_000
    optim: OptimConfig = OptimConfig(precision="fp32")
    log_every: int = 50
    sample_every: int = 1000
    ckpt_every: int = 1000
    eval_every: int = 0
    best_metric: str = "val_psnr"
    images_per_step: int = 0
    max_bad_steps: int = 10

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError("steps must be at least 1")
        object.__setattr__(self, "optim", self.optim.with_decay(1.0))  # no decay unless asked for


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


def make_optimizer(params: Iterator[nn.Parameter], optim: OptimConfig, lr: float) -> torch.optim.Optimizer:
    """Adam (the default) or SGD with momentum, as ``optim`` says, at learning rate ``lr``."""
    if optim.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=optim.momentum)
    return torch.optim.Adam(params, lr=lr, betas=(optim.beta1, optim.beta2))


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA or the CPU when asked for; a no-op context otherwise (fp32, or other devices).

    On CPUs with bf16 instructions (AVX512-BF16, AMX) convolutions run faster this way, so bf16 can be asked for
    there too; ``auto`` still means fp32 on the CPU, where bf16 is slower without those instructions."""
    enabled = precision == "bf16" and device.type in ("cuda", "cpu")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` becomes ``bf16`` on CUDA and ``fp32`` elsewhere; other values pass through."""
    if precision != "auto":
        return precision
    return "bf16" if device.type == "cuda" else "fp32"


def _optimiser_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, module: nn.Module, clip: float) -> bool:
    """Backpropagate ``loss``, clip ``module``'s gradient norm if asked, and step — unless the loss or the gradient
    norm is NaN/Inf: then the gradients are dropped, the weights stay as they were, and ``False`` is returned."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for p in module.parameters() if p.grad is not None]
    norm = nn.utils.clip_grad_norm_(params, clip if clip > 0 else float("inf")) if params else torch.zeros(())
    if not (torch.isfinite(loss.detach()).all() and torch.isfinite(norm)):
        optimizer.zero_grad(set_to_none=True)
        return False
    optimizer.step()
    return True


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
    best: float | None = None

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
            "best": self.best,
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
        self.best = state.get("best")


class StopFlag:
    """Set by SIGTERM/SIGINT while installed; the loop checks it between steps. A second SIGINT raises at once."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if signum == signal.SIGINT and self.signal is not None:
            raise KeyboardInterrupt
        self.signal = signum

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _distributed() -> tuple[int, int]:
    """``(rank, world size)``; ``(0, 1)`` outside ``torchrun``."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _wrap(module: nn.Module, device: torch.device) -> nn.Module:
    ids = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids)


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
    eval_fn: Callable[[nn.Module, int], dict[str, float]] | None = None,
    resume: bool = False,
    progress: bool = True,
) -> RunState:
    """Train ``gen`` against ``disc`` with ``objective`` on batches from ``stream``.

    Args:
        gen, disc: networks on the training device.
        objective: computes both losses (see ``deblur.train.objectives``); one with ``uses_disc = False`` trains
            the generator alone (content losses only).
        stream: endless batches with ``state_dict``/``load_state_dict`` (``deblur.data.streams``).
        config: the optimisation settings.
        out: run folder: ``last.pt``, ``best.pt``, ``config.json``, ``metrics.jsonl``, ``samples/``.
        meta: stored in every checkpoint (run config, network specs) so a checkpoint describes itself.
        sample_fn: ``sample_fn(generator) -> (N, C, H, W)`` images for the periodic sample grids.
        eval_fn: ``eval_fn(generator, step) -> metrics`` every ``config.eval_every`` steps (on the EMA generator).
        resume: continue from ``out/last.pt`` if it exists.
        progress: show a progress bar.

    Returns:
        The final :class:`RunState` (the EMA generator is ``state.ema.model``).

    Raises:
        TrainingDiverged: a loss or the weights became NaN/Inf; the last checkpoint (all finite) is kept.
        TrainingInterrupted: SIGTERM or Ctrl-C; a checkpoint of the last complete step was written first.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file: give a folder for the run (its checkpoints and logs)")
    rank, world = _distributed()
    lead = rank == 0
    if lead:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--out {out}: cannot make the run folder: {exc.strerror or exc}") from exc
    device = next(gen.parameters()).device
    optim = config.optim
    precision = resolve_precision(optim.precision, device)
    lr_d = optim.lr_d or optim.lr
    resolved = replace(config, optim=replace(optim, precision=precision))  # what this run really uses
    meta = {**(meta or {}), "loop": config_to_dict(resolved)}
    uses_disc = bool(getattr(objective, "uses_disc", True))
    state = RunState(
        gen=gen,
        disc=disc,
        opt_g=make_optimizer(gen.parameters(), optim, optim.lr),
        opt_d=make_optimizer(disc.parameters(), optim, lr_d),
        ema=EMA(gen, optim.ema, optim.ema_start) if optim.ema > 0 else None,
        objective=objective,
        stream=stream,
    )
    checkpoint, best_checkpoint = out / "last.pt", out / "best.pt"
    if not resume and checkpoint.exists():  # never replace a run's checkpoint unasked
        raise ConfigError(
            f"{out} already holds a run ({checkpoint.name}): pass --resume to continue it, or choose another --out"
        )
    earlier = [name for name in ("config.json", "metrics.jsonl") if (out / name).exists()]
    if earlier and not checkpoint.exists():  # a run killed before its first checkpoint: never mix two runs' logs
        if not resume:
            raise ConfigError(
                f"{out} holds a run that saved no checkpoint ({', '.join(earlier)}): pass --resume to start it afresh"
                " there, or choose another --out"
            )
        if lead:
            message = f"{out} holds no checkpoint ({checkpoint.name}): --resume starts the run afresh"
            warnings.warn(message, DeblurWarning, stacklevel=2)
            (out / "metrics.jsonl").unlink(missing_ok=True)
    if resume and checkpoint.exists():
        state.load_state_dict(load_checkpoint(checkpoint, map_location=device)["state"])
    # under torchrun: gradients are averaged across processes by DDP; G's step reads D unwrapped (D is frozen then)
    gen_train = _wrap(gen, device) if world > 1 else gen
    disc_train = _wrap(disc, device) if world > 1 and uses_disc else disc
    writer = MetricsWriter(out) if lead else None
    if lead:
        atomic_write_json(out / "config.json", meta)
    sampled = state.ema.model if state.ema is not None else gen

    def save(path: Path = checkpoint) -> None:
        if not (_finite(gen) and _finite(disc)):
            raise TrainingDiverged(
                f"weights became NaN/Inf by step {state.step}; {checkpoint} keeps the last good state"
            )
        if lead:
            save_checkpoint(path, {"state": state.state_dict(), "meta": meta})

    def evaluate() -> None:
        metrics = eval_fn(sampled, state.step)
        value = metrics.get(config.best_metric)
        improved = value is not None and (state.best is None or value > state.best)
        if improved:
            state.best = float(value)
        writer.write(state.step, metrics)
        save()
        if improved:
            save(best_checkpoint)

    bar = tqdm(total=config.steps, initial=state.step, desc="train", unit="step", disable=not (progress and lead))
    running: dict[str, float] = {}
    window_start, window_steps = time.perf_counter(), 0
    bad_run, skipped = 0, 0  # consecutive and total steps whose update was skipped (NaN/Inf)
    try:
        with StopFlag() as stop:
            while state.step < config.steps:
                gen.train()
                disc.train()
                factor = lr_factor(state.step, config.steps, optim.lr_decay_from)
                for optimizer, lr in ((state.opt_g, optim.lr), (state.opt_d, lr_d)):
                    for group in optimizer.param_groups:
                        group["lr"] = lr * factor
                # --- discriminator: k steps on fresh minibatches, G fixed (Algorithm 1, inner loop) ---
                logs: Logs = {}
                stepped = True
                if uses_disc:
                    disc.requires_grad_(True)
                    for _ in range(optim.d_steps):
                        batch = next(stream)
                        with autocast(device, precision):
                            loss_d, logs = objective.d_loss(gen_train, disc_train, batch)
                        stepped &= _optimiser_step(state.opt_d, loss_d, disc, optim.clip)
                else:
                    batch = next(stream)
                # --- generator: one step through the (frozen) discriminator ---
                disc.requires_grad_(False)
                with autocast(device, precision):
                    loss_g, logs_g = objective.g_loss(gen_train, disc, batch)
                g_stepped = _optimiser_step(state.opt_g, loss_g, gen, optim.clip)
                if g_stepped and state.ema is not None:
                    state.ema.update(gen)
                logs = objective.end_step({**logs, **logs_g})
                state.step += 1
                window_steps += 1

                if stepped and g_stepped:
                    bad_run = 0
                else:  # a non-finite loss or gradient: that update was skipped
                    bad_run, skipped = bad_run + 1, skipped + 1
                    if bad_run >= config.max_bad_steps:
                        last = (
                            f"{checkpoint} keeps the last good state"
                            if checkpoint.exists()
                            else "no checkpoint was saved"
                        )
                        raise TrainingDiverged(
                            f"NaN/Inf loss or gradients in {bad_run} consecutive steps (up to step {state.step}, "
                            f"{skipped} skipped in all); {last}. Lower the learning rate or set a gradient clip"
                        )
                running = _accumulate(running, {k: v for k, v in logs.items() if math.isfinite(float(v))})
                bar.update(1)
                if lead and config.log_every and (state.step % config.log_every == 0 or state.step == config.steps):
                    means = {k: v / running["#" + k] for k, v in running.items() if not k.startswith("#")}
                    means["skipped_steps"] = skipped
                    elapsed = time.perf_counter() - window_start
                    if config.images_per_step:
                        means["images_per_s"] = window_steps * config.images_per_step * world / max(elapsed, 1e-9)
                    window_start, window_steps = time.perf_counter(), 0
                    writer.write(state.step, means)
                    shown = ("loss_d", "loss_g", "d_real", "d_fake", "content", "images_per_s")
                    bar.set_postfix({k: f"{means[k]:.3g}" for k in shown if k in means})
                    running = {}
                if lead and sample_fn is not None and config.sample_every and state.step % config.sample_every == 0:
                    save_grid(out / "samples" / f"step_{state.step:07d}.png", sample_fn(sampled))
                due_eval = eval_fn is not None and config.eval_every and state.step % config.eval_every == 0
                if lead and eval_fn is not None and (due_eval or state.step == config.steps):
                    evaluate()
                elif (config.ckpt_every and state.step % config.ckpt_every == 0) or state.step == config.steps:
                    save()
                if stop.signal is not None:
                    save()
                    name = signal.Signals(stop.signal).name
                    raise TrainingInterrupted(
                        f"{name} at step {state.step}: saved {checkpoint}; run again with --resume to continue"
                    )
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    if lead and sample_fn is not None:
        save_grid(out / "samples" / "final.png", sample_fn(sampled))
    return state


def _accumulate(running: dict[str, float], logs: Logs) -> dict[str, float]:
    """Add ``logs`` to running sums; ``#key`` counts the values of ``key`` (a skipped NaN does not count)."""
    out = dict(running)
    for key, value in logs.items():
        out[key] = out.get(key, 0.0) + float(value)
        out["#" + key] = out.get("#" + key, 0) + 1
    return out


def save_grid(path: Path, images: torch.Tensor, nrow: int | None = None) -> Path:
    """Tile ``(N, C, H, W)`` images in [0, 1] into one PNG (grey images become RGB)."""
    import math

    import torchvision

    nrow = nrow or math.ceil(math.sqrt(len(images)))
    grid = torchvision.utils.make_grid(images.detach().float().clamp(0, 1).cpu(), nrow=nrow, padding=2, pad_value=1.0)
    return write_image(path, grid, overwrite=True)
