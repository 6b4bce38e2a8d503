"""The application layer of training: what every recipe (GAN, deblurring) does the same way.

Networks are built from specs (``{"name": "unet", "width": 16}``, see ``deblur.nets``), the run is seeded from one
number, a run's metadata follows one schema (``task``, package version, configs, network specs, data; the model
file adds metrics: see ``deblur.weights``), the loop's settings come from the recipe's config, and a trained
generator is loaded from a run folder, a checkpoint or a model file (its EMA copy when the run kept one) and
exported as a self-describing ``.safetensors`` file. The recipes, ``deblur.train.gan`` and
``deblur.train.deblurring``, add only what is theirs: data, objective, validation.
"""

from __future__ import annotations

import inspect
import math
import typing
from pathlib import Path
from typing import Any

import torch
from torch import nn

from deblur.config import coerce_value, config_to_dict
from deblur.errors import ConfigError
from deblur.losses import GAN_LOSSES
from deblur.nets import NETS, net_from_spec, net_spec, rebuild_net
from deblur.train.checkpoint import load_checkpoint
from deblur.train.log import read_metrics
from deblur.train.loop import LoopConfig
from deblur.version import __version__
from deblur.weights import load_model, save_model, upgrade_metadata

TASKS = {"gan": "a GAN", "deblur": "a deblurring"}


def check_spec(spec: dict[str, Any], role: str = "network") -> dict[str, Any]:
    """A network spec with every field converted to the type its constructor declares (lists to tuples, ints to
    floats), or a one-line :class:`ConfigError` naming ``role`` and the field: an unknown network or field, or a
    value of the wrong type (``spectral = "false"`` is refused, not taken as true). Builds nothing.

    Example:
        >>> check_spec({"name": "mlp_generator", "hidden": [8, 8]})
        {'name': 'mlp_generator', 'hidden': (8, 8)}
    """
    name = spec.get("name") if isinstance(spec, dict) else None
    if name not in NETS:
        raise ConfigError(f"{role} spec {spec!r}: unknown net {name!r}; known: {', '.join(sorted(NETS))}")
    cls = NETS[name]
    parameters = inspect.signature(cls).parameters
    hints = typing.get_type_hints(cls.__init__)
    fields = {}
    for key, value in spec.items():
        if key == "name":
            continue
        if key not in parameters:
            raise ConfigError(f"{role} spec: {name} has no field {key!r}; its fields: {', '.join(parameters)}")
        fields[key] = coerce_value(hints.get(key, Any), value, f"{role}.{key}")
    return {"name": name, **fields}


def build_net(spec: dict[str, Any], role: str = "network") -> nn.Module:
    """``create_net`` from a spec checked by :func:`check_spec`; a value the network refuses (a width of 0) is a
    one-line :class:`ConfigError` naming ``role`` too."""
    checked = check_spec(spec, role)
    try:
        return net_from_spec(checked)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{role} spec {spec!r}: {exc}") from exc


def check_adversarial_loss(kind: str, setting: str = "loss") -> None:
    """A one-line :class:`ConfigError` unless ``kind`` is one of :data:`deblur.losses.GAN_LOSSES`."""
    if kind not in GAN_LOSSES:
        raise ConfigError(f"unknown {setting} {kind!r}: use one of {', '.join(GAN_LOSSES)}")


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
        "deblur_version": __version__,
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
    *,
    which: str = "best",
    overwrite: bool = False,
    extra: dict[str, Any] | None = None,
    task: str | None = None,
    estimator: dict[str, Any] | None = None,
    deconv_weight: float | None = None,
    center: bool = False,
) -> Path:
    """Write a run's generator (EMA weights when kept) as a self-describing model file: weights, network spec,
    task, training config, data, validation metrics (``deblur restore --model`` or ``deblur gan sample`` loads it
    with nothing else). A model file given as ``run`` is written again in today's metadata schema.

    Args:
        run: run folder, checkpoint or model file.
        out: the ``.safetensors`` file to write (atomically).
        which: ``best`` (by validation PSNR, falling back to ``last``) or ``last`` checkpoint of a run folder.
        overwrite: replace an existing ``out``.
        extra: more metadata (e.g. benchmark scores).
        task: refuse runs of another task.
        estimator: give a kernel-aware generator this kernel estimator (options of
            :func:`deblur.ops.estimate.estimate_with_check`, ``{}`` for the defaults), so that the model file restores
            photos blind, estimating each one's kernel.
        deconv_weight: set a kernel-aware generator's deconvolution prior weight to this value instead of the
            learned one (e.g. one chosen on a validation set); the learned value stays in the metadata
            (``deconv_weight``).
        center: make a kernel-aware generator take each kernel by its centre of mass
            (:class:`deblur.nets.kernel_aware.KernelAwareGenerator`'s ``center``); the weights stay as they are.
    """
    run = Path(run)
    source = run if run.suffix == ".safetensors" else checkpoint_path(run, which)
    gen, meta = load_generator(source, task=task)
    if estimator is not None:
        if not getattr(gen, "takes_kernel", False):
            raise ConfigError(f"{source} holds a {gen.spec['name']}, which takes no kernel: no estimator to add")
        gen = rebuild_net(gen, estimator=dict(estimator))
    if center:
        if not getattr(gen, "takes_kernel", False):
            raise ConfigError(f"{source} holds a {gen.spec['name']}, which takes no kernel to centre")
        gen = rebuild_net(gen, center=True)
    prior = {}
    if deconv_weight is not None:
        if not hasattr(gen, "log_weight"):
            raise ConfigError(f"{source} holds a {gen.spec['name']}, which has no deconvolution weight to set")
        if not deconv_weight > 0:
            raise ConfigError(f"the deconvolution weight must be positive, got {deconv_weight}")
        # a model file whose weight was set before keeps the value its training learned, not the one set
        learned = meta.get("deconv_weight", {}).get("learned", float(gen.log_weight.detach().exp()))
        prior = {"deconv_weight": {"learned": learned, "set": deconv_weight}}
        with torch.no_grad():
            gen.log_weight.fill_(math.log(deconv_weight))
    from_run = source.suffix != ".safetensors"
    metadata = {
        "task": meta["task"],
        "config": meta.get("config", {}),
        "data": meta.get("data", {}),
        "metrics": validation_metrics(source.parent, meta) if from_run else meta.get("metrics", {}),
        "steps": meta.get("steps"),
        "checkpoint": meta.get("checkpoint"),
        "disc": meta.get("disc"),
    }
    kept = {k: v for k, v in meta.items() if k not in metadata and k not in ("format", "deblur_version", "net")}
    return save_model(
        out, gen, {**(kept if not from_run else {}), **metadata, **prior, **(extra or {})}, overwrite=overwrite
    )
