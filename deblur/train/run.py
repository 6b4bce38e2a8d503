"""The application layer of training: what every recipe (GAN, deblurring) does the same way.

Networks are built from specs (``{"name": "unet", "width": 16}``, see ``deblur.nets``), the run is seeded from one
number, a run's metadata follows one schema (``task``, package version, configs, network specs, data; the model
file adds metrics: see ``deblur.weights``), the loop's settings come from the recipe's config, and a trained
generator is loaded from a run folder, a checkpoint or a model file (its EMA copy when the run kept one) and
exported as a self-describing ``.safetensors`` file. The recipes, ``deblur.train.gan`` and
``deblur.train.deblurring``, add only what is theirs: data, objective, validation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

import deblur
from deblur.config import config_to_dict
from deblur.errors import ConfigError
from deblur.nets import net_from_spec, net_spec
from deblur.train.checkpoint import load_checkpoint
from deblur.train.log import read_metrics
from deblur.train.loop import LoopConfig
from deblur.weights import load_model, save_model, upgrade_metadata

TASKS = {"gan": "a GAN", "deblur": "a deblurring"}


def build_net(spec: dict[str, Any], role: str = "network") -> nn.Module:
    """``create_net`` from a spec, with a one-line :class:`ConfigError` naming ``role`` when the spec is wrong."""
    try:
        return net_from_spec(spec)
    except (KeyError, TypeError, ValueError) as exc:
        message = exc.args[0] if exc.args else exc
        raise ConfigError(f"{role} spec {spec!r}: {message}") from exc


def build_networks(
    gen: dict[str, Any], disc: dict[str, Any], device: torch.device | str = "cpu"
) -> tuple[nn.Module, nn.Module]:
    """Generator and discriminator from their specs, on ``device`` (built in this order: seed torch first for
    equal initialisations)."""
    return build_net(gen, "generator").to(device), build_net(disc, "discriminator").to(device)


def run_meta(task: str, config: Any, gen: nn.Module, disc: nn.Module, data: dict[str, Any]) -> dict[str, Any]:
    """What every checkpoint of a run carries, so that it describes itself (the loop adds its own settings)."""
    return {
        "task": task,
        "deblur_version": deblur.__version__,
        "config": config_to_dict(config),
        "gen": net_spec(gen),
        "disc": net_spec(disc),
        "data": data,
    }


def loop_config(config: Any, **fields: Any) -> LoopConfig:
    """The loop's settings from a recipe's config (steps, optimiser, log and checkpoint periods) and ``fields``."""
    return LoopConfig(
        steps=config.steps,
        optim=config.optim,
        log_every=config.log_every,
        ckpt_every=config.ckpt_every,
        **fields,
    )


def checkpoint_path(run: str | Path, which: str = "best") -> Path:
    """``run/best.pt`` (falling back to ``last.pt``) or ``run/last.pt``; a file path is returned as it is."""
    run = Path(run)
    if run.is_file():
        return run
    if which not in ("best", "last"):
        raise ConfigError(f"which must be best or last, got {which!r}")
    best, last = run / "best.pt", run / "last.pt"
    if which == "best" and best.exists():
        return best
    if last.exists():
        return last
    if not run.exists():
        raise ConfigError(f"{run} does not exist: give a run folder, a checkpoint (last.pt) or a model file")
    raise ConfigError(f"{run} holds no checkpoint (best.pt or last.pt): train into it first")


def _check_task(path: Path, meta: dict[str, Any], task: str | None) -> None:
    found = meta.get("task")
    if task is not None and found != task:
        what = TASKS.get(found, "another kind of")
        raise ConfigError(f"{path} holds {what} model, not {TASKS[task]} one")


def load_generator(
    path: str | Path, device: torch.device | str = "cpu", which: str = "best", task: str | None = None
) -> tuple[nn.Module, dict[str, Any]]:
    """A trained generator from a run folder (``which``: ``best.pt`` or ``last.pt``), a checkpoint or a model
    file; from a run, the EMA copy when the run kept one.

    Args:
        path: run folder, ``.pt`` checkpoint or ``.safetensors`` model file (written by this or an older version).
        device: where the generator goes.
        which: checkpoint of a run folder.
        task: ``gan`` or ``deblur`` to refuse other kinds with a one-line error; None takes any.

    Returns:
        ``(generator in eval mode, metadata in the schema of deblur.weights)``; ``metadata["steps"]`` is the step
        it was trained to and, from a run, ``metadata["checkpoint"]`` the file it came from.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        gen, meta = load_model(path, device)
        _check_task(path, meta, task)
        return gen, meta
    path = checkpoint_path(path, which)
    checkpoint = load_checkpoint(path)
    meta, state = upgrade_metadata(checkpoint["meta"]), checkpoint["state"]
    if "gen" not in meta:
        raise ConfigError(f"{path} is not a checkpoint of a deblur training run")
    meta.setdefault("task", "gan")
    _check_task(path, meta, task)
    gen = build_net(meta["gen"], "generator")
    gen.load_state_dict(state["ema"]["model"] if state.get("ema") else state["gen"])
    return gen.to(device).eval(), {**meta, "steps": int(state["step"]), "checkpoint": path.name}


def validation_metrics(run: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """The last validation scores (``val_*`` in ``metrics.jsonl``) up to the checkpoint's step, and the blurred
    input's scores on the same set when the run measured them."""
    history = [m for m in read_metrics(run) if "val_psnr" in m and m["step"] <= meta["steps"]]
    metrics = {}
    if history:
        last = history[-1]
        metrics = {"val_psnr": last["val_psnr"], "val_ssim": last["val_ssim"], "val_step": last["step"]}
    for key in ("val_psnr_blurred", "val_ssim_blurred"):
        if key in meta.get("data", {}):
            metrics[key] = meta["data"][key]
    return metrics


def export_generator(
    run: str | Path,
    out: str | Path,
    which: str = "best",
    overwrite: bool = False,
    extra: dict[str, Any] | None = None,
    task: str | None = None,
) -> Path:
    """Write a run's generator (EMA weights when kept) as a self-describing model file: weights, network spec,
    task, training config, data, validation metrics (``deblur restore --model`` or ``deblur gan sample`` loads it
    with nothing else).

    Args:
        run: run folder or checkpoint.
        out: the ``.safetensors`` file to write (atomically).
        which: ``best`` (by validation PSNR, falling back to ``last``) or ``last``.
        overwrite: replace an existing ``out``.
        extra: more metadata (e.g. benchmark scores).
        task: refuse runs of another task.
    """
    gen, meta = load_generator(run, which=which, task=task)
    path = checkpoint_path(run, which)
    metadata = {
        "task": meta["task"],
        "config": meta.get("config", {}),
        "data": meta.get("data", {}),
        "metrics": validation_metrics(path.parent, meta),
        "steps": meta["steps"],
        "checkpoint": meta["checkpoint"],
        "disc": meta.get("disc"),
        **(extra or {}),
    }
    return save_model(out, gen, metadata, overwrite=overwrite)
