"""``deblur train`` and ``deblur export``: a deblurring model from sharp photos, and its model file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from deblur.cli.options import (
    KIND_HELP,
    RangeParam,
    config_file_option,
    kernel_kinds,
    optim_options,
    option_group,
    run_options,
)
from deblur.config import check_kernel_bound, load_train_config
from deblur.losses import CONTENT_LOSSES, GAN_LOSSES
from deblur.nets.blocks import NORMS
from deblur.restoration.blind import DEFAULT_STRENGTH, MIN_CONFIDENCE

_data_options = option_group(
    click.option(
        "--data",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Folder of sharp photos (recursive); repeat for several folders.",
    ),
    click.option("--pairs", type=click.Path(path_type=Path), help="Train on real pairs (GoPro blur/ + sharp/ layout)."),
)
"""What the model learns from: folders of sharp photos, or a folder of real pairs (one of the two)."""

_net_options = option_group(
    click.option("--width", type=int, help="U-Net width (channels of the first stage).  [default: 16]"),
    click.option("--depth", type=int, help="U-Net downsamplings.  [default: 3]"),
    click.option("--norm", type=click.Choice(NORMS), help="U-Net normalisation."),
    click.option("--disc-width", type=int, help="PatchGAN width.  [default: 64]"),
    click.option("--spectral/--no-spectral", default=None, help="Spectral normalisation in the discriminator."),
    click.option("--scales", type=int, help="Discriminator scales (multi-scale PatchGAN).  [default: 1]"),
)
"""The generator's and the discriminator's settings (TrainConfig.gen and .disc)."""

_loss_options = option_group(
    click.option("--adv-loss", type=click.Choice(GAN_LOSSES), help="Adversarial loss.  [default: nonsaturating]"),
    click.option(
        "--adv-weight", type=float, help="Adversarial weight; 0 trains with content losses only.  [default: 1]"
    ),
    click.option(
        "--content",
        type=click.Choice(list(CONTENT_LOSSES)),
        help="Content loss (l2: mean squared error, what PSNR measures).  [default: l1]",
    ),
    click.option("--content-weight", type=float, help="Content loss weight (pix2pix: 100).  [default: 100]"),
    click.option("--fft-weight", type=float, help="Frequency loss weight.  [default: 0]"),
    click.option("--guard-weight", type=float, help="Per-sample never-worse-than-input loss weight.  [default: 0]"),
    click.option(
        "--perceptual-weights", type=click.Path(path_type=Path), help="Local VGG-19 weights for a perceptual loss."
    ),
    click.option("--perceptual-weight", type=float, help="Perceptual loss weight.  [default: 0]"),
)
"""The generator's objective (TrainConfig.loss)."""

_synth_options = option_group(
    click.option(
        "--kernels", multiple=True, help=f"Kernel kinds ({KIND_HELP}).  [default: motion,trajectory,gaussian]"
    ),
    click.option("--kernel-size", type=int, help="Odd kernel size in pixels.  [default: 31]"),
    click.option("--noise", type=RangeParam(), help="Gaussian noise sigma or LOW:HIGH.  [default: 0:0.01]"),
    click.option(
        "--kernel-error",
        type=RangeParam(),
        help="Strength 0..1 (or LOW:HIGH) of the errors in the kernel given to a kernel-aware model.  [default: 0]",
    ),
    click.option("--jpeg-prob", type=float, help="Probability of JPEG re-compression.  [default: 0]"),
    click.option("--jpeg-quality", type=RangeParam(int), help="JPEG quality or LOW:HIGH.  [default: 60:95]"),
    click.option("--saturation-prob", type=float, help="Probability of clipped highlights.  [default: 0]"),
)
"""The degradations synthesised for training (TrainConfig.synth; the rest come from --config)."""


@click.command("train")
@_data_options
@click.option("--out", type=click.Path(path_type=Path), help="Run folder.  [default: runs/deblur]")
@config_file_option("[train] (TrainConfig) and [synth] tables")
@click.option("--val", type=click.Path(path_type=Path), help="Validation photos (default: hold out --val-holdout).")
@click.option("--val-holdout", type=int, help="Photos of --data kept out for validation.  [default: 8]")
@click.option(
    "--val-every", type=int, help="Validate (PSNR/SSIM, sample strip, best.pt) every N steps.  [default: 1000]"
)
@click.option("--steps", type=int, help="Generator steps.  [default: 20000]")
@click.option("--batch", type=int, help="Crops per batch.  [default: 16]")
@click.option("--crop", type=int, help="Crop side in pixels.  [default: 256]")
@_net_options
@_loss_options
@_synth_options
@click.option(
    "--init",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Start from this model file's generator weights (fine-tuning) instead of a random initialisation.",
)
@click.option("--workers", type=int, help="Data-loader processes (-1: 0 on CPU, 4 on GPU).")
@optim_options(decay_default="0.5")
@run_options
def train_command(config_file: Path | None, resume: bool, quiet: bool, **options: Any) -> None:
    """Train a deblurring model from sharp photos: blur is synthesised on the fly on the training device.

    \b
    Example:
      deblur train --data ./sharp --out runs/mine --steps 20000
    Ctrl-C or SIGTERM saves a checkpoint; `--resume` continues exactly. For several GPUs run the same command under
    `torchrun --nproc_per_node=N -m deblur train ...`. Then `deblur export runs/mine --out mine.safetensors`.
    """
    from deblur.train.deblurring import train

    options["kernels"] = kernel_kinds(options.get("kernels") or ())
    config = load_train_config(config_file, options)
    state = train(config, resume=resume, progress=not quiet)
    best = f", best validation PSNR {state.best:.2f} dB" if state.best is not None else ""
    click.echo(f"Trained for {state.step} steps{best}; checkpoints in {config.out}.")


_blind_options = option_group(
    click.option(
        "--blind",
        is_flag=True,
        help="Add the kernel estimator to a kernel-aware model: it then restores photos without --kernel.",
    ),
    click.option(
        "--kernel-size", type=int, help="With --blind: the estimator's kernel-size bound (odd).  [default: 47]"
    ),
    click.option(
        "--strength",
        type=click.FloatRange(0, 1),
        help="With --blind: the blend toward the input that `deblur restore` uses unless told otherwise.  "
        f"[default: {DEFAULT_STRENGTH:g}]",
    ),
    click.option(
        "--min-confidence",
        type=click.FloatRange(0, 1),
        help="With --blind: photos whose kernel self-check scores below this come back unchanged.  "
        f"[default: {MIN_CONFIDENCE:g}]",
    ),
    click.option(
        "--critic",
        type=click.Path(path_type=Path, dir_okay=False),
        help="With --blind: a critic model file (python -m deblur.train.critic) that judges each photo's kernel "
        "hypotheses and sets its strength; copied beside --out when it is elsewhere.",
    ),
)
"""``--blind`` and the blind-restoration settings it stores in the model file."""


def _place_critic(critic: Path, out: Path, overwrite: bool) -> str:
    """Check that ``critic`` is a critic model file and put it beside ``out`` (a copy, written atomically); returns
    its file name, which the exported model records."""
    from deblur.io import atomic_write_bytes
    from deblur.weights import load_model

    _, meta = load_model(critic, "cpu")
    if meta.get("task") != "critic":
        raise click.ClickException(f"{critic} is not a critic model file (its task is {meta.get('task')!r})")
    target = out.parent / critic.name
    if target.resolve() != critic.resolve():
        if target.exists() and not overwrite:
            raise click.ClickException(f"{target} already exists: pass --overwrite to replace it with {critic}")
        atomic_write_bytes(target, critic.read_bytes(), overwrite=True)
    return critic.name


@click.command("export")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Model file to write (.safetensors).")
@click.option(
    "--which",
    type=click.Choice(["best", "last"]),
    default="best",
    show_default=True,
    help="Checkpoint: best validation PSNR or the last one.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing model file.")
@_blind_options
@click.option(
    "--deconv-weight",
    type=float,
    help="Kernel-aware models: fix the deconvolution's prior weight at this value instead of the learned one "
    "(e.g. chosen on a validation set; the learned value stays in the metadata).",
)
@click.option(
    "--center-kernels",
    is_flag=True,
    help="Kernel-aware models: shift each given kernel so its centre of mass is the middle pixel before deconvolving "
    "(a kernel off by a shift would shift the whole photo; centred kernels are unchanged).",
)
def export_command(
    run: Path,
    out: Path,
    which: str,
    overwrite: bool,
    blind: bool,
    kernel_size: int | None,
    strength: float | None,
    min_confidence: float | None,
    critic: Path | None,
    deconv_weight: float | None,
    center_kernels: bool,
) -> None:
    """Write a deblurring run's EMA generator, with its configs and metrics, as a .safetensors model file."""
    from deblur.train.run import export_generator

    if out.exists() and not overwrite:
        raise click.ClickException(f"{out} already exists: pass --overwrite to replace it")
    given = (("--kernel-size", kernel_size), ("--strength", strength), ("--min-confidence", min_confidence))
    for name, value in (*given, ("--critic", critic)):
        if value is not None and not blind:
            raise click.ClickException(f"{name} is for blind restoration: give it with --blind")
    check_kernel_bound(kernel_size, "--kernel-size")
    estimator = ({} if kernel_size is None else {"max_size": kernel_size}) if blind else None
    settings = {"strength": strength, "min_confidence": min_confidence}
    settings = {key: value for key, value in settings.items() if value is not None}
    if critic is not None:
        settings["critic"] = _place_critic(critic, out, overwrite)
    path = export_generator(
        run,
        out,
        which=which,
        overwrite=overwrite,
        task="deblur",
        estimator=estimator,
        deconv_weight=deconv_weight,
        center=center_kernels,
        extra={"blind": settings} if settings else None,
    )
    click.echo(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB).")
