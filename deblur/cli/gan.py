"""``deblur gan``: train, sample, score (Parzen) and export the classic GANs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from deblur.cli.options import SEED, DeblurGroup, config_file_option, optim_options, option_group, run_options
from deblur.config import GAN_MODELS, GANConfig, load_config
from deblur.device import resolve_device
from deblur.losses import GAN_LOSSES


@click.group(cls=DeblurGroup)
def gan() -> None:
    """Train, sample and score the classic GANs on MNIST-format data or image folders.

    \b
    Examples:
      deblur gan train --model dcgan --data ./fashion-mnist --steps 5000 --out runs/dcgan
      deblur gan sample --ckpt runs/dcgan/last.pt -n 64 --out grid.png
      deblur gan parzen --ckpt runs/dcgan/last.pt --data ./fashion-mnist
    """


_cgan_options = option_group(
    click.option(
        "--conditioning",
        type=click.Choice(["projection", "concat"]),
        help="How cgan's discriminator sees the label: projection (Miyato & Koyama 2018) or one-hot planes.  "
        "[default: projection]",
    ),
    click.option(
        "--aux-classes",
        type=float,
        help="Weight of cgan's AC-GAN auxiliary classification loss (Odena et al. 2017): D also names the class of "
        "real images and G learns to make images D names as their label (0: off).  [default: 1 for cgan]",
    ),
)
"""cgan's flags: how D sees the label, and the AC-GAN class loss."""

_lapgan_options = option_group(
    click.option(
        "--lapgan-coarse",
        type=click.Choice(["conv", "mlp"]),
        help="LAPGAN's coarsest level: a small convolutional GAN or the paper's fully connected one.  [default: conv]",
    ),
    click.option(
        "--lapgan-levels",
        type=int,
        help="LAPGAN's band levels (0: down to an 8 px coarse image; 1: a coarse image of half the size).  "
        "[default: 0]",
    ),
)
"""LAPGAN's flags: its coarsest level and its number of band levels."""

_began_equilibrium_options = option_group(
    click.option(
        "--gamma",
        type=float,
        help="BEGAN's diversity ratio: the equilibrium L(G(z)) = gamma L(x) (higher: more varied, less sharp).  "
        "[default: 0.5]",
    ),
    click.option("--lambda-k", type=float, help="BEGAN's learning rate of k (proportional control).  [default: 0.001]"),
)
"""BEGAN's equilibrium: the diversity ratio it holds, and how fast k moves to hold it."""

_began_extra_options = option_group(
    click.option(
        "--pull-away",
        type=float,
        help="Weight of EBGAN's pull-away term in BEGAN's generator loss: pushes a batch of fakes apart in D's code "
        "space, against mode collapse (0: off, as in the BEGAN paper).  [default: 0]",
    ),
    click.option(
        "--began-skip/--no-began-skip",
        default=None,
        help="BEGAN's skip connections: every decoder scale also sees the first 8x8 map, upsampled.  [default: off]",
    ),
    click.option(
        "--began-batch-std/--no-began-batch-std",
        default=None,
        help="BEGAN's discriminator also sees the minibatch standard deviation of its features (Karras et al. 2018), "
        "against mode collapse.  [default: off]",
    ),
)
"""BEGAN's optional parts, each off unless asked for: EBGAN's pull-away term, skip connections and the
minibatch standard deviation."""


@gan.command("train")
@click.option(
    "--model",
    type=click.Choice(GAN_MODELS),
    help="mlp (Goodfellow et al. 2014), dcgan, cgan, lapgan, began.  [default: dcgan]",
)
@click.option("--data", type=click.Path(path_type=Path), help="MNIST-format IDX files, mnist.pkl.gz or image folder.")
@click.option(
    "--out", type=click.Path(path_type=Path), help="Run folder (last.pt, metrics, samples/).  [default: runs/gan]"
)
@config_file_option("GANConfig settings")
@click.option("--steps", type=int, help="Generator steps.  [default: 10000]")
@click.option("--batch", type=int, help="Minibatch size.  [default: 64]")
@click.option("--loss", type=click.Choice(GAN_LOSSES), help="Adversarial loss.  [default: nonsaturating]")
@click.option("--width", type=int, help="Network width (0: the model's default).")
@click.option(
    "--disc-width",
    type=int,
    help="Discriminator width of dcgan, cgan and began, where it should differ from the generator's (0: --width).",
)
@click.option("--image-size", type=int, help="Side of generated images (0: the data's, as the model needs).")
@click.option(
    "--folder-mode",
    type=click.Choice(["resize", "patch"]),
    help="Image folders: resize whole images or draw random patches.",
)
@click.option(
    "--holdout", type=int, help="MNIST-format data: last N training images held out for validation.  [default: 10000]"
)
@click.option("--r1", type=float, help="R1 penalty weight.  [default: 0]")
@_cgan_options
@_lapgan_options
@_began_equilibrium_options
@_began_extra_options
@click.option("--sample-every", type=int, help="Save a sample grid every N steps.  [default: 1000]")
@click.option(
    "--eval-every",
    type=int,
    help="MNIST-format data: every N steps, log the Parzen log-likelihood of the held-out images (never the test "
    "split) and keep the best generator in best.pt (0: never).  [default: 0]",
)
@optim_options(decay_default="1, constant")
@run_options
def gan_train(config_file: Path | None, resume: bool, quiet: bool, **options: Any) -> None:
    """Train a GAN; Ctrl-C keeps the last checkpoint, and --resume continues exactly."""
    from deblur.train.gan import train_gan

    config = load_config(GANConfig, config_file, "gan", options)
    state = train_gan(config, resume=resume, progress=not quiet)
    click.echo(f"Trained {config.model} for {state.step} steps; checkpoint {config.out / 'last.pt'}.")


@gan.command("sample")
@click.option("--ckpt", required=True, type=click.Path(path_type=Path), help="Run, checkpoint or model file.")
@click.option("-n", "count", type=click.IntRange(1, 100_000), default=64, show_default=True, help="Number of samples.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output grid image (PNG).")
@click.option("--label", type=int, help="Class to generate (class-conditional models).")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
def gan_sample(ckpt: Path, count: int, out: Path, label: int | None, seed: int, device: str, overwrite: bool) -> None:
    """Draw samples from a trained generator into one grid image."""
    from deblur.train.gan import sample_images
    from deblur.train.loop import save_grid
    from deblur.train.run import load_generator

    if out.exists() and not overwrite:
        raise click.ClickException(f"{out} already exists: pass --overwrite to replace it")
    gen, meta = load_generator(ckpt, resolve_device(device), which="last", task="gan")
    save_grid(out, sample_images(gen, meta, count, seed, label))
    click.echo(f"Wrote {count} samples to {out}.")


@gan.command("parzen")
@click.option("--ckpt", type=click.Path(path_type=Path), help="Run checkpoint or model file; omit with --real.")
@click.option(
    "--data", required=True, type=click.Path(path_type=Path), help="MNIST-format data (val and test splits are scored)."
)
@click.option("--real", is_flag=True, help="Score real training images instead of samples: the estimator's reference.")
@click.option("-n", "count", type=int, default=10_000, show_default=True, help="Samples in the Parzen window.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--holdout", type=int, default=10_000, show_default=True, help="Last training images used as validation.")
@click.option(
    "--held-out",
    "held_out_only",
    is_flag=True,
    help="Score the second half of the held-out images (sigma chosen on the first half), never the test split: for "
    "choosing between runs.",
)
@click.option("--device", default="auto", show_default=True)
def gan_parzen(
    ckpt: Path | None, data: Path, real: bool, count: int, seed: int, holdout: int, held_out_only: bool, device: str
) -> None:
    """Gaussian Parzen-window log-likelihood of the test set (Goodfellow et al. 2014, Table 1)."""
    from deblur.train.gan import parzen_score

    if (ckpt is None) == (not real):
        raise click.ClickException("give --ckpt, or --real for the real-data reference")
    result = parzen_score(data, None if real else ckpt, count, seed, holdout, resolve_device(device), held_out_only)
    scored = "held-out images" if held_out_only else "test images"
    click.echo(
        f"Parzen log-likelihood: {result.mean:.1f} +- {result.stderr:.1f} nats (sigma {result.sigma:.4f}, "
        f"{result.n_samples} {'real images' if real else 'samples'}, {result.n_test} {scored})"
    )


@gan.command("export")
@click.option(
    "--ckpt",
    required=True,
    type=click.Path(path_type=Path),
    help="Run checkpoint (last.pt, or best.pt of a run trained with --eval-every).",
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Model file to write (.safetensors).")
@click.option("--overwrite", is_flag=True)
def gan_export(ckpt: Path, out: Path, overwrite: bool) -> None:
    """Write a run's generator (EMA weights) as a self-describing .safetensors model file."""
    from deblur.train.run import export_generator

    path = export_generator(ckpt, out, which="last", overwrite=overwrite, task="gan")
    click.echo(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB).")
