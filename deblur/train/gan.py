"""The GAN recipe: the data stream, network specs and objective of each classic model; train, sample, score.

``train_gan(GANConfig(model="dcgan", data=Path("fashion-mnist")))`` is what ``deblur gan train`` runs. The models:

* ``mlp``: the 2014 MNIST model (``MLPGenerator`` / ``MaxoutDiscriminator``), on 28 px images;
* ``dcgan``: DCGAN on 28, 32 or 64 px images (MNIST-format data is padded to 32); ``cgan``: the same,
  class-conditional;
* ``lapgan``: a Laplacian pyramid (8 -> 16 -> 32 px for MNIST-format data, padded from 28 to 32);
* ``began``: BEGAN, e.g. on random 64 px patches of a photo folder.

Images padded for a model (28 -> 32 px) are cropped back when sampled, so samples always have the data's size.
Loading a trained generator and exporting it are the application layer's (``deblur.train.run``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from deblur.config import GANConfig
from deblur.data.mnist import LabelledImages, is_mnist_family, load_mnist_family
from deblur.data.streams import PatchBatches, TensorBatches
from deblur.device import resolve_device, seed_everything
from deblur.errors import ConfigError
from deblur.io import list_images, read_image
from deblur.parzen import ParzenResult, parzen_evaluate
from deblur.train.loop import RunState, train_loop
from deblur.train.objectives import BEGANObjective, GANObjective, LAPGANObjective
from deblur.train.run import build_networks, check_adversarial_loss, load_generator, loop_config, run_meta

DEFAULT_WIDTH = {"mlp": 1200, "dcgan": 64, "cgan": 64, "lapgan": 64, "began": 32}
LAPGAN_COARSE_WIDTH = {"mlp": 600, "conv": 256}
"""Width of LAPGAN's coarsest level (G and D): hidden units of the fully connected one (its default
``4 * width`` is too narrow to draw recognisable shapes), channels at 4x4 of the convolutional one."""


def _square_resize(image: torch.Tensor, size: int) -> torch.Tensor:
    """Centre-crop to a square, then resize (antialiased) to ``size``."""
    side = min(image.shape[-2:])
    top, left = (image.shape[-2] - side) // 2, (image.shape[-1] - side) // 2
    square = image[:, top : top + side, left : left + side]
    return torch.nn.functional.interpolate(square[None], size=(size, size), mode="bilinear", antialias=True)[0]


def _to_channels(image: torch.Tensor, channels: int) -> torch.Tensor:
    return image.mean(dim=0, keepdim=True) if channels == 1 else image


def _target_size(config: GANConfig, native: int) -> int:
    if config.image_size:
        return config.image_size
    if config.model != "mlp":
        # pyramids and BEGAN's decoder need powers of two, and DCGAN's 32 px stack (three stride-2 layers) learns
        # better than its shallower 28 px one: 28 -> 32, cropped back when sampled
        return 2 ** math.ceil(math.log2(native))
    return native


def load_data(config: GANConfig, device: torch.device) -> tuple[Any, dict[str, Any]]:
    """The endless batch stream of a run and a description of the data (shape, classes, padding)."""
    data = config.data
    if is_mnist_family(data):
        train: LabelledImages = load_mnist_family(data, "train", config.holdout)
        native = train.images.shape[-1]
        size = _target_size(config, native)
        if size < native or (size - native) % 2:
            raise ConfigError(f"image_size {size} cannot hold the {native} px images (pad must be even and >= 0)")
        pad = (size - native) // 2
        images = torch.nn.functional.pad(train.images, (pad,) * 4) if pad else train.images
        n_classes = int(train.labels.max()) + 1
        info = {
            "kind": "mnist",
            "channels": 1,
            "image_size": size,
            "crop": pad,
            "n_classes": n_classes,
            "train_images": len(images),
        }
        return TensorBatches(images, train.labels, config.batch, config.seed + 2, device), info
    if config.model == "cgan":
        raise ConfigError("cgan needs labelled data (MNIST-format files); image folders have no labels")
    files = list_images(data)
    if not files:
        raise ConfigError(f"no images under {data}")
    images = [_to_channels(read_image(path), config.channels) for path in files]
    size = config.image_size or 64
    info = {
        "kind": "folder",
        "channels": config.channels,
        "image_size": size,
        "crop": 0,
        "n_classes": 0,
        "train_images": len(images),
        "folder_mode": config.folder_mode,
    }
    if config.folder_mode == "patch":
        try:
            return PatchBatches(images, size, config.batch, config.seed + 2, device), info
        except ValueError as exc:
            raise ConfigError(f"{data}: {exc}") from exc
    stacked = torch.stack([_square_resize(image, size) for image in images])
    return TensorBatches(stacked, None, min(config.batch, len(stacked)), config.seed + 2, device), info


def network_specs(config: GANConfig, info: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Specs of the generator and discriminator of ``config.model`` for data described by ``info``."""
    size, channels, width = info["image_size"], info["channels"], config.width or DEFAULT_WIDTH[config.model]
    disc_width = config.disc_width or width
    if config.model == "mlp":
        shape = (channels, size, size)
        gen = {"name": "mlp_generator", "z_dim": config.z_dim, "hidden": (width, width), "image_shape": shape}
        return gen, {"name": "maxout_discriminator", "image_shape": shape}
    if config.model in ("dcgan", "cgan"):
        shared = {"width": width, "image_size": size, "channels": channels}
        shared["n_classes"] = info["n_classes"] if config.model == "cgan" else 0
        disc = {"name": "dcgan_discriminator", **shared, "width": disc_width}
        if config.model == "cgan" and config.conditioning == "projection":
            disc["projection"] = True
        if config.aux_classes:
            disc["aux_classes"] = True
        return {"name": "dcgan_generator", "z_dim": config.z_dim, **shared}, disc
    if config.model == "lapgan":
        levels = config.lapgan_levels or int(math.log2(size // 8))
        if size % 8 or size // 8 < 2:
            raise ConfigError(f"lapgan needs an image size of 8 * 2^k (k >= 1), got {size}")
        if size % 2**levels or size // 2**levels < 4:
            raise ConfigError(f"lapgan: {levels} levels leave a coarse side under 4 px at image size {size}")
        shared = {"width": width, "image_size": size, "levels": levels, "channels": channels}
        shared["coarse_width"] = LAPGAN_COARSE_WIDTH[config.lapgan_coarse]
        shared["coarse"] = config.lapgan_coarse
        return {"name": "lapgan_generator", "z_dim": config.z_dim, **shared}, {"name": "lapgan_discriminator", **shared}
    shared = {"width": width, "image_size": size, "channels": channels, **({"skip": True} if config.began_skip else {})}
    return {"name": "began_generator", "z_dim": config.z_dim, **shared}, {
        "name": "began_discriminator",
        "code": config.z_dim,
        **shared,
        "width": disc_width,
        **({"batch_std": True} if config.began_batch_std else {}),
    }


def build_objective(config: GANConfig, gen: nn.Module, device: torch.device) -> Any:
    """The objective of ``config.model``: LAPGAN's and BEGAN's own, or the GAN objective with ``config.loss``."""
    if config.model == "lapgan":
        return LAPGANObjective(gen, device, config.loss, seed=config.seed + 1)
    if config.model == "began":
        return BEGANObjective(
            gen.latent_dim, device, config.gamma, config.lambda_k, seed=config.seed + 1, pull_away=config.pull_away
        )
    return GANObjective(
        gen.latent_dim,
        device,
        config.loss,
        conditional=config.model == "cgan",
        gp=config.gp,
        r1=config.r1,
        classes=config.aux_classes,
        seed=config.seed + 1,
    )


def train_gan(config: GANConfig, resume: bool = False, progress: bool = True) -> RunState:
    """Train the GAN that ``config`` describes; the run folder is ``config.out``.

    Returns:
        The final run state; ``config.out / "last.pt"`` holds it.
    """
    check_adversarial_loss(config.loss)  # before the data are read
    device = resolve_device(config.device)
    seed_everything(config.seed)
    stream, info = load_data(config, device)
    gen, disc = build_networks(*network_specs(config, info), device)
    objective = build_objective(config, gen, device)
    fixed = torch.randn(64, gen.latent_dim, generator=torch.Generator().manual_seed(config.seed + 3)).to(device)
    labels = (torch.arange(64) % max(info["n_classes"], 1)).to(device) if config.model == "cgan" else None

    def sample_fn(generator: nn.Module) -> torch.Tensor:
        return _generate(generator, fixed, labels, info["crop"])

    meta = run_meta("gan", config, gen, disc, info)
    return train_loop(
        gen,
        disc,
        objective,
        stream,
        loop_config(config, sample_every=config.sample_every, eval_every=config.eval_every, best_metric="parzen_val"),
        config.out,
        meta=meta,
        sample_fn=sample_fn,
        eval_fn=holdout_parzen(config, meta, device) if config.eval_every else None,
        resume=resume,
        progress=progress,
    )


EVAL_SAMPLES = 2000
"""Generator samples of each held-out Parzen evaluation during training (``GANConfig.eval_every``)."""


def held_out_halves(held_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The held-out protocol's split: ``sigma`` is chosen on the first half, the second half is scored."""
    half = len(held_out) // 2
    return held_out[:half], held_out[half:]


def holdout_parzen(
    config: GANConfig, meta: dict[str, Any], device: torch.device
) -> Callable[[nn.Module, int], dict[str, float]]:
    """``eval_fn`` of :func:`train_loop` for ``config.eval_every``: the Parzen log-likelihood of the second half of
    the held-out split under :data:`EVAL_SAMPLES` samples (the same noise each time), ``sigma`` chosen on the first
    half. Model selection on it never sees the test split."""
    if not is_mnist_family(config.data):
        raise ConfigError(f"eval_every scores held-out images of MNIST-format data, which {config.data} is not")
    choose, score = held_out_halves(load_mnist_family(config.data, "val", config.holdout).images.to(device))

    def evaluate(gen: nn.Module, step: int) -> dict[str, float]:
        samples = sample_images(gen, meta, EVAL_SAMPLES, config.seed).to(device)
        result = parzen_evaluate(samples, choose, score)
        return {"parzen_val": result.mean, "parzen_val_sigma": result.sigma}

    return evaluate


@torch.no_grad()
def _generate(gen: nn.Module, z: torch.Tensor, labels: torch.Tensor | None, crop: int) -> torch.Tensor:
    was_training = gen.training
    gen.eval()
    images = gen(z, labels) if labels is not None else gen(z)
    gen.train(was_training)
    if crop:
        images = images[..., crop:-crop, crop:-crop]
    return images.float().clamp(0, 1)


def sample_images(
    gen: nn.Module, meta: dict[str, Any], n: int, seed: int = 0, label: int | None = None, batch: int = 1000
) -> torch.Tensor:
    """``n`` samples ``(n, C, H, W)`` in [0, 1] on the CPU, in the data's size; ``label`` picks a class
    (class-conditional generators only; without it a conditional generator cycles through the classes)."""
    n_classes = int(getattr(gen, "n_classes", 0) or 0)
    if label is not None and not n_classes:
        raise ConfigError("--label needs a class-conditional generator (model cgan)")
    if label is not None and not 0 <= label < n_classes:
        raise ConfigError(f"label must be between 0 and {n_classes - 1}, got {label}")
    device = next(gen.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    crop = int(meta.get("data", {}).get("crop", 0))
    out = []
    for start in range(0, n, batch):
        count = min(batch, n - start)
        z = torch.randn(count, gen.latent_dim, generator=generator).to(device)
        labels = None
        if n_classes:
            labels = (
                torch.full((count,), label) if label is not None else (torch.arange(start, start + count) % n_classes)
            )
            labels = labels.to(device)
        out.append(_generate(gen, z, labels, crop).cpu())
    return torch.cat(out)


def parzen_score(
    data: str | Path,
    ckpt: str | Path | None = None,
    n: int = 10_000,
    seed: int = 0,
    holdout: int = 10_000,
    device: torch.device | str = "cpu",
    held_out_only: bool = False,
) -> ParzenResult:
    """The 2014 Parzen protocol on MNIST-format data: a window on ``n`` generator samples (or, with ``ckpt=None``,
    on the first ``n`` real training images, the reference), ``sigma`` chosen on the held-out validation split,
    mean log-likelihood of the test split.

    With ``held_out_only``, ``sigma`` is chosen on the first half of the held-out split and the second half is
    scored, as ``eval_every`` does during training but with ``n`` samples: a way to compare runs that never sees
    the test split."""
    val = load_mnist_family(data, "val", holdout).images
    if held_out_only:
        val, test = held_out_halves(val)
    else:
        test = load_mnist_family(data, "test", holdout).images
    if ckpt is None:
        samples = load_mnist_family(data, "train", holdout).images[:n]
    else:
        gen, meta = load_generator(ckpt, device, which="last", task="gan")
        samples = sample_images(gen, meta, n, seed)
    if samples.shape[1:] != val.shape[1:]:
        raise ConfigError(f"samples of shape {tuple(samples.shape[1:])} do not match the data's {tuple(val.shape[1:])}")
    return parzen_evaluate(samples.to(device), val.to(device), test.to(device))
