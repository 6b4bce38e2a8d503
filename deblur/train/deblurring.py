"""The deblurring recipe: ``deblur train --data ./sharp`` and :func:`train`.

Sharp crops come from :mod:`deblur.data.pairs` (each crop a function of the run seed and its number), are blurred
per batch on the training device by :mod:`deblur.synth`, and feed the GAN core's one loop
(:func:`deblur.train.loop.train_loop`) with a U-Net generator, a PatchGAN discriminator and
:class:`deblur.train.objectives.DeblurObjective`. Every ``val_every`` steps the EMA generator restores a fixed,
seeded synthetic validation set (PSNR/SSIM logged, a blurred | restored | sharp strip saved, ``best.pt`` kept by
PSNR). Loading and exporting the trained generator are the application layer's (``deblur.train.run``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from deblur.config import LossConfig, TrainConfig
from deblur.data.pairs import (
    CropBatches,
    KeyedCrops,
    SynthPairs,
    check_sources,
    key_generator,
    real_pair_sources,
    usable_images,
)
from deblur.device import resolve_device, seed_everything
from deblur.errors import ConfigError
from deblur.io import read_image
from deblur.losses import PerceptualLoss
from deblur.metrics import psnr, ssim
from deblur.nets.kernel_aware import KernelAwareGenerator
from deblur.nets.unet import UNetGenerator
from deblur.ops.conv import crop_valid
from deblur.synth.degrade import degrade, sample_params
from deblur.train.loop import RunState, save_grid, train_loop
from deblur.train.objectives import DeblurObjective, run_generator
from deblur.train.run import build_networks, check_adversarial_loss, check_spec, loop_config, run_meta

VAL_SEED = 20_17
"""Seed of the validation degradations: the same for every run, so runs compare."""
HOLDOUT_SEED = 0
"""Seed of the choice of held-out validation photos (independent of the run seed)."""


def split_sources(config: TrainConfig) -> tuple[list[Any], list[Any]]:
    """Training and validation sources: image paths (sharp photos) or (blurred, sharp) path pairs.

    Without ``config.val``, ``val_holdout`` sources chosen by a fixed seed are kept out of training.
    """
    if config.pairs is not None:
        sources: list[Any] = real_pair_sources(config.pairs)
    else:
        sources = usable_images(config.data, config.crop)
    if config.val is not None:
        val = real_pair_sources(config.val) if config.pairs is not None else usable_images((config.val,), 16)
        return sources, val
    count = min(config.val_holdout, len(sources) - 1)
    if count <= 0:
        return sources, []
    chosen = set(torch.randperm(len(sources), generator=torch.Generator().manual_seed(HOLDOUT_SEED))[:count].tolist())
    return [s for i, s in enumerate(sources) if i not in chosen], [s for i, s in enumerate(sources) if i in chosen]


def check_out_folder(config: TrainConfig) -> None:
    """Refuse an ``out`` folder inside (or equal to) a folder of photos that the run lists recursively (``data`` or
    ``val``): its sample strips would become training or validation photos of later runs and move the split."""
    out = config.out.resolve()
    for option, folder in [*(("--data", d) for d in config.data), ("--val", config.val)]:
        if folder is None or not Path(folder).is_dir():
            continue
        root = Path(folder).resolve()
        if out == root or root in out.parents:
            raise ConfigError(
                f"--out {config.out} is inside {option} {folder}: choose a run folder outside the photo folders"
            )


def _centre_crop(image: torch.Tensor, size: int) -> torch.Tensor:
    top, left = (image.shape[-2] - size) // 2, (image.shape[-1] - size) // 2
    return image[:, top : top + size, left : left + size]


def validation_set(sources: list[Any], config: TrainConfig) -> dict[str, torch.Tensor] | None:
    """Fixed ``{"blurred", "sharp"}`` validation crops (CPU): one centre crop per source, blurred with
    :data:`VAL_SEED` (synthetic) or taken as they are (real pairs)."""
    blurred_crops, sharp_crops = [], []
    for source in sources[: config.val_images]:
        paths = source if isinstance(source, tuple) else (source,)
        images = [read_image(p) for p in paths]
        size = min(config.val_crop, *images[0].shape[-2:])
        crops = [_centre_crop(image, size - size % 16) for image in images]
        if crops[0].shape[-1] != config.val_crop - config.val_crop % 16:
            continue  # too small for the common crop size
        sharp_crops.append(crops[-1])
        if len(crops) == 2:
            blurred_crops.append(crops[0])
    if not sharp_crops:
        return None
    sharp = torch.stack(sharp_crops)
    if blurred_crops:
        return {"blurred": torch.stack(blurred_crops), "sharp": sharp}
    params = sample_params(config.synth, len(sharp), key_generator(VAL_SEED, 0))
    blurred = degrade(sharp, params)
    if config.synth.valid:
        sharp = crop_valid(sharp, config.synth.size)
    return {"blurred": blurred, "sharp": sharp, "kernel": params.kernels, "kinds": list(params.kinds)}


@torch.no_grad()
def restore_batch(
    gen: nn.Module, blurred: torch.Tensor, kernel: torch.Tensor | None = None, batch: int = 4
) -> torch.Tensor:
    """Run ``gen`` over ``blurred`` (with ``kernel`` for a kernel-aware generator) in small batches on the net's
    device, clamped to [0, 1], returned on the CPU."""
    device = next(gen.parameters()).device
    was_training = gen.training
    gen.eval()
    out = []
    for i in range(0, len(blurred), batch):
        part = {"blurred": blurred[i : i + batch].to(device)}
        if kernel is not None:
            part["kernel"] = kernel[i : i + batch].to(device)
        out.append(run_generator(gen, part).clamp(0, 1).float().cpu())
    gen.train(was_training)
    return torch.cat(out)


def make_eval_fn(val: dict[str, Any], out: Path) -> Any:
    """``eval_fn(gen, step)`` for the loop: PSNR/SSIM of the restored validation set and a sample strip."""

    def evaluate(gen: nn.Module, step: int) -> dict[str, float]:
        restored = restore_batch(gen, val["blurred"], val.get("kernel"))
        shown = slice(0, min(4, len(restored)))
        strip = torch.stack([val["blurred"][shown], restored[shown], val["sharp"][shown]], dim=1).flatten(0, 1)
        save_grid(out / "samples" / f"step_{step:07d}.png", strip, nrow=3)
        return {
            "val_psnr": float(psnr(restored, val["sharp"]).mean()),
            "val_ssim": float(ssim(restored, val["sharp"]).mean()),
        }

    return evaluate


def build_objective(loss: LossConfig, device: torch.device) -> DeblurObjective:
    """The deblurring objective of a :class:`LossConfig` (the perceptual loss's VGG weights loaded on ``device``)."""
    check_adversarial_loss(loss.adv_loss, "adv_loss")
    perceptual = None
    if loss.perceptual_weight > 0:
        try:
            perceptual = PerceptualLoss(str(loss.perceptual_weights)).to(device)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
    return DeblurObjective(
        adv_loss=loss.adv_loss,
        adv_weight=loss.adv_weight,
        content=loss.content,
        content_weight=loss.content_weight,
        fft_weight=loss.fft_weight,
        perceptual=perceptual,
        perceptual_weight=loss.perceptual_weight,
        guard_weight=loss.guard_weight,
    )


def start_from(gen: nn.Module, path: Path) -> None:
    """Load a model file's weights into a freshly built generator (fine-tuning), checked tensor by tensor.

    A U-Net of the generator may be larger than the source's: wider (every stage's channels), or taking more
    conditioning channels (a kernel-aware model's Wiener branch, whose channels come after the source's). It holds the
    source's weights on its leading channels, with zeros from the new channels into the old
    (:meth:`~deblur.nets.unet.UNetGenerator.embed`), so that step 0 computes exactly what the source model did.

    Raises:
        ConfigError: the file is unreadable or its tensors do not fit the generator.
    """
    from deblur.weights import ModelFileError, load_model

    try:
        source, _ = load_model(path)
    except ModelFileError as exc:
        raise ConfigError(f"init: {exc}") from exc
    tensors, expected = source.state_dict(), gen.state_dict()
    for prefix, module in gen.named_modules():
        if isinstance(module, UNetGenerator):
            lead = f"{prefix}." if prefix else ""
            names = [k for k in tensors if k.startswith(lead)]
            if any(k in expected and tensors[k].shape != expected[k].shape for k in names):
                try:
                    grown = module.embed({k[len(lead) :]: tensors[k] for k in names})
                except ValueError:
                    break  # reported below as a mismatch
                tensors.update({lead + k: v for k, v in grown.items()})
    for prefix, module in gen.named_modules():  # a fixed prior weight is a setting of the new model, not a weight
        if isinstance(module, KernelAwareGenerator) and not isinstance(module.log_weight, nn.Parameter):
            key = f"{prefix}.log_weight" if prefix else "log_weight"
            if key in tensors:
                tensors[key] = expected[key]
    wrong = sorted(set(tensors) ^ set(expected)) or [k for k in expected if tensors[k].shape != expected[k].shape]
    if wrong:
        raise ConfigError(
            f"init: {path} does not fit the generator (first mismatch: {wrong[0]}); give a model of the same network"
            " or of a narrower refiner"
        )
    gen.load_state_dict(tensors, strict=True)


def _setup_distributed(device: torch.device) -> tuple[int, int, torch.device]:
    """Join the process group when started by ``torchrun`` (NCCL on CUDA, gloo on the CPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, device
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    return dist.get_rank(), dist.get_world_size(), device


def out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocation failure (the CPU allocator's or CUDA's), not another runtime error."""
    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
        return True
    message = str(exc)
    return "can't allocate memory" in message or "out of memory" in message.lower()


def train(config: TrainConfig, resume: bool = False, progress: bool = True) -> RunState:
    """Train a deblurring model as ``config`` says; under ``torchrun`` with DistributedDataParallel.

    Returns:
        The final run state (``state.ema.model`` is the EMA generator).

    Raises:
        ConfigError, ImageError: bad settings or data; TrainingDiverged, TrainingInterrupted: see the loop.
    """
    rank, world, device = _setup_distributed(resolve_device(config.device))
    try:
        return _train(config, resume, progress, rank, world, device)
    except (RuntimeError, MemoryError) as exc:
        if not out_of_memory(exc):
            raise
        raise ConfigError(
            f"not enough memory for --batch {config.batch} of {config.crop} px crops on {device}: lower --batch"
            " (or --crop)"
        ) from exc
    finally:
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def _train(config: TrainConfig, resume: bool, progress: bool, rank: int, world: int, device: torch.device) -> RunState:
    # settings first, before any photo is read: a typo fails at once
    check_spec(config.gen, "generator")
    check_spec(config.disc, "discriminator")
    check_adversarial_loss(config.loss.adv_loss, "adv_loss")
    check_out_folder(config)
    seed_everything(config.seed)
    train_sources, val_sources = split_sources(config)
    if not train_sources:
        raise ConfigError("no training images left after holding out the validation photos")
    check_sources(train_sources, config.crop)  # every photo decodes before step 1, not part-way through the run
    workers = config.workers if config.workers >= 0 else (4 if device.type == "cuda" else 0)
    crops = CropBatches(
        KeyedCrops(train_sources, config.crop, config.seed, cache=config.cache),
        config.batch,
        device,
        workers=workers,
        rank=rank,
        world=world,
    )
    stream: Any = crops if config.pairs is not None else SynthPairs(crops, config.synth, config.seed)
    gen, disc = build_networks(config.gen, config.disc, device)
    if config.init is not None and not resume:
        start_from(gen, config.init)
    if getattr(gen, "takes_kernel", False) and config.pairs is not None:
        raise ConfigError(f"{config.gen['name']} needs each sample's kernel: train it on --data (synthesised pairs)")
    multiple = int(getattr(gen, "multiple", 1))
    if config.crop % multiple:
        raise ConfigError(
            f"crop must be a multiple of {multiple} (the generator's shuffle x 2^depth), got {config.crop}"
        )
    objective = build_objective(config.loss, device)
    val = validation_set(val_sources, config) if val_sources else None
    data: dict[str, Any] = {
        "train_sources": len(train_sources),
        "val_sources": [str(s if not isinstance(s, tuple) else s[1]) for s in val_sources[: config.val_images]],
        "world_size": world,
    }
    if val is not None:
        data["val_psnr_blurred"] = float(psnr(val["blurred"], val["sharp"]).mean())
        data["val_ssim_blurred"] = float(ssim(val["blurred"], val["sharp"]).mean())
    loop = loop_config(
        config,
        sample_every=0,
        eval_every=config.val_every if val is not None else 0,
        images_per_step=config.batch,
    )
    return train_loop(
        gen,
        disc,
        objective,
        stream,
        loop,
        config.out,
        meta=run_meta("deblur", config, gen, disc, data),
        eval_fn=make_eval_fn(val, config.out) if val is not None else None,
        resume=resume,
        progress=progress,
    )
