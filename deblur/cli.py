"""The ``deblur`` command line: a thin click layer over the Python API.

Each command parses its options into a config object, calls one library function and prints a short summary.
Errors caused by input (a missing folder, a bad kernel file, an invalid option) print one line and exit with a
non-zero code, without a traceback.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import click

import deblur
from deblur.config import (
    CONV_METHODS,
    DEFAULT_TRAIN_SYNTH,
    GAN_MODELS,
    KERNEL_KINDS,
    GANConfig,
    SynthConfig,
    TrainConfig,
    config_from_dict,
    config_to_dict,
    load_config_file,
)
from deblur.device import resolve_device
from deblur.errors import DeblurError
from deblur.losses import GAN_LOSSES


class DeblurGroup(click.Group):
    """A click group that turns :class:`DeblurError` into a one-line ``Error: ...`` and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DeblurError as exc:
            raise click.ClickException(str(exc)) from exc
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug or an unforeseen input: one line, the traceback only with --debug
            if ctx.find_root().params.get("debug") or ctx.parent is not None:
                raise
            where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
            raise click.ClickException(
                f"{exc.__class__.__name__}{where}: {exc} (run with --debug for the traceback, and please report it)"
            ) from exc


class RangeParam(click.ParamType):
    """``0.01`` (a fixed value) or ``0:0.02`` (a uniform range) -> ``(low, high)``."""

    name = "LOW[:HIGH]"

    def __init__(self, cast: type = float) -> None:
        self.cast = cast

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple:
        if isinstance(value, tuple):
            return value
        try:
            parts = [self.cast(v) for v in str(value).split(":")]
        except ValueError:
            self.fail(f"{value!r} is not a number or a LOW:HIGH range", param, ctx)
        if len(parts) == 1:
            parts = parts * 2
        if len(parts) != 2:
            self.fail(f"{value!r} is not a number or a LOW:HIGH range", param, ctx)
        return tuple(parts)


@click.group(cls=DeblurGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(deblur.__version__, "-V", "--version", prog_name="deblur")
@click.option("--debug", is_flag=True, help="Show the full traceback of unexpected errors.")
def cli(debug: bool) -> None:
    """Remove blur from photographs with adversarial networks.

    \b
    Commands:
      synth    make (blurred, sharp) pairs from a folder of sharp photos, with the kernels used
      kernels  draw a grid of random blur kernels of one kind, for a quick look
      restore  deblur photos (files, folders, globs) with the shipped default model or --model
      train    train a deblurring model (U-Net vs PatchGAN) from a folder of sharp photos
      export   write a trained run as a self-describing .safetensors model file
      bench    PSNR/SSIM tables of models against the blurred input and classical deconvolution
      gan      train, sample and score the classic GANs (2014 MLP, DCGAN, cGAN, LAPGAN, BEGAN)

    Run `deblur COMMAND --help` for the options of each command.
    """


def _synth_config(config_file: Path | None, overrides: dict[str, Any]) -> SynthConfig:
    """A SynthConfig from an optional TOML/JSON file, with command-line values (those given) taking precedence."""
    values = load_config_file(config_file, section="synth") if config_file else {}
    values.update({key: value for key, value in overrides.items() if value is not None})
    return config_from_dict(SynthConfig, values, config_file)


def _kernel_kinds(values: tuple[str, ...]) -> tuple[str, ...] | None:
    kinds = tuple(kind for value in values for kind in value.split(",") if kind)
    return kinds or None


KIND_HELP = f"{', '.join(KERNEL_KINDS)} or bank:PATH (a folder of PNG/NPY kernels or a .mat file)"


@cli.command()
@click.option(
    "--data", required=True, type=click.Path(path_type=Path), help="Folder of sharp images (recursive) or one image."
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder: blurred/, sharp/, kernels/, manifest.json.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    help="TOML or JSON file of SynthConfig settings; flags win.",
)
@click.option(
    "--kernel",
    "kernels",
    multiple=True,
    help=f"Kernel kind, repeatable or comma-separated, one drawn per image: {KIND_HELP}.  [default: trajectory]",
)
@click.option("--size", type=int, help="Odd kernel size in pixels.  [default: 31]")
@click.option(
    "--noise", type=RangeParam(), help="Gaussian noise sigma on the [0, 1] scale, or LOW:HIGH.  [default: 0:0.01]"
)
@click.option(
    "--poisson", type=RangeParam(), help="Photon-noise scale a of a*Poisson(x/a), or LOW:HIGH; 0 is off.  [default: 0]"
)
@click.option("--jpeg-prob", type=float, help="Probability of JPEG re-compression.  [default: 0]")
@click.option("--jpeg-quality", type=RangeParam(int), help="JPEG quality or LOW:HIGH.  [default: 60:95]")
@click.option("--saturation-prob", type=float, help="Probability of clipped highlights that streak.  [default: 0]")
@click.option(
    "--linear-light/--no-linear-light", default=None, help="Blur in linear light, as a camera does.  [default: off]"
)
@click.option(
    "--valid/--same",
    default=None,
    help="Valid convolution (no padding; sharp cropped to match) for fair benchmarks.  [default: same]",
)
@click.option(
    "--conv",
    type=click.Choice(CONV_METHODS),
    help="Convolution: direct, fft, or auto by kernel size and device.  [default: auto]",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of every random draw; the same seed reproduces the same files.",
)
@click.option(
    "--device", default="cpu", show_default=True, help="auto, cpu, cuda[:N] or mps. Output is bit-identical per device."
)
@click.option(
    "--bit-depth", type=click.Choice(["8", "16"]), default="8", show_default=True, help="Bits per channel of the PNGs."
)
@click.option("--limit", type=int, help="Use only the first N images (sorted by path).")
@click.option("--overwrite", is_flag=True, help="Replace the files of an earlier run in --out.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def synth(
    data: Path,
    out: Path,
    config_file: Path | None,
    kernels: tuple[str, ...],
    size: int | None,
    noise: tuple | None,
    poisson: tuple | None,
    jpeg_prob: float | None,
    jpeg_quality: tuple | None,
    saturation_prob: float | None,
    linear_light: bool | None,
    valid: bool | None,
    conv: str | None,
    seed: int,
    device: str,
    bit_depth: str,
    limit: int | None,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Make (blurred, sharp) pairs from a folder of sharp photos.

    Every image gets a kernel of a randomly chosen kind, noise and optional JPEG, drawn from --seed. Writes
    OUT/blurred/, OUT/sharp/ and OUT/kernels/ (the exact kernel as .npy, a picture as .png), mirroring the input
    folder, and OUT/manifest.json with the config and each image's parameters. Rarer settings (kernel extents,
    exposure, highlight gain...) come from --config; see `deblur.SynthConfig`.

    \b
    Example:
      deblur synth --data photos/ --out testset/ --kernel trajectory --size 31 --noise 0.01 --seed 0
    """
    from deblur.synth.folder import synthesize_folder

    config = _synth_config(
        config_file,
        {
            "kernels": _kernel_kinds(kernels),
            "size": size,
            "noise": noise,
            "poisson": poisson,
            "jpeg_prob": jpeg_prob,
            "jpeg_quality": jpeg_quality,
            "saturation_prob": saturation_prob,
            "linear_light": linear_light,
            "valid": valid,
            "conv": conv,
        },
    )
    manifest = synthesize_folder(
        data,
        out,
        config,
        seed=seed,
        device=resolve_device(device),
        bit_depth=int(bit_depth),
        overwrite=overwrite,
        progress=not quiet,
        limit=limit,
    )
    skipped = f", skipped {len(manifest['skipped'])} too small" if manifest["skipped"] else ""
    click.echo(
        f"Wrote {manifest['count']} pairs to {out} (kernels: {', '.join(config.kernels)}, seed {seed}{skipped})."
    )


@cli.command()
@click.option("--kind", default="trajectory", show_default=True, help=KIND_HELP + ".")
@click.option("-n", "count", type=click.IntRange(1, 4096), default=16, show_default=True, help="Number of kernels.")
@click.option("--size", type=int, default=31, show_default=True, help="Odd kernel size in pixels.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output image (PNG).")
@click.option("--npy", type=click.Path(path_type=Path), help="Also save the kernels as an (n, size, size) .npy array.")
@click.option(
    "--config", "config_file", type=click.Path(path_type=Path), help="TOML/JSON SynthConfig for the kernel ranges."
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--zoom", type=click.IntRange(1, 32), default=4, show_default=True, help="Enlargement of each kernel pixel."
)
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
def kernels(
    kind: str,
    count: int,
    size: int,
    out: Path,
    npy: Path | None,
    config_file: Path | None,
    seed: int,
    zoom: int,
    overwrite: bool,
) -> None:
    """Draw a grid of random blur kernels of one kind, each scaled to its own peak.

    \b
    Example:
      deblur kernels --kind trajectory -n 16 --out grid.png
    """
    import numpy as np
    import torch

    from deblur.io import atomic_write_bytes, encode_npy, write_image
    from deblur.synth.degrade import kernel_sampler
    from deblur.synth.kernels import kernel_grid

    config = dataclasses.replace(_synth_config(config_file, {"size": size}), kernels=(kind,))
    sampled = kernel_sampler(kind, config)(count, config.size, torch.Generator().manual_seed(seed))
    write_image(out, kernel_grid(sampled, zoom=zoom), overwrite=overwrite)
    if npy is not None:
        atomic_write_bytes(npy, encode_npy(sampled.numpy().astype(np.float32)), overwrite=overwrite)
    click.echo(f"Wrote {count} {kind} kernels ({config.size} px) to {out}" + (f" and {npy}" if npy else "") + ".")


@cli.group(cls=DeblurGroup)
def gan() -> None:
    """Train, sample and score the classic GANs on MNIST-format data or image folders.

    \b
    Examples:
      deblur gan train --model dcgan --data ./fashion-mnist --steps 5000 --out runs/dcgan
      deblur gan sample --ckpt runs/dcgan/last.pt -n 64 --out grid.png
      deblur gan parzen --ckpt runs/dcgan/last.pt --data ./fashion-mnist
    """


@gan.command("train")
@click.option(
    "--model",
    type=click.Choice(GAN_MODELS),
    help="mlp (Goodfellow et al. 2014), dcgan, cgan, lapgan, began.  [default: dcgan]",
)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    help="Folder of MNIST-format IDX files, mnist.pkl.gz, or a folder of images.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Run folder: last.pt, config.json, metrics.jsonl, samples/.  [default: runs/gan]",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    help="TOML or JSON file of GANConfig settings; flags win.",
)
@click.option("--steps", type=int, help="Generator steps.  [default: 10000]")
@click.option("--batch", type=int, help="Minibatch size.  [default: 64]")
@click.option("--loss", type=click.Choice(GAN_LOSSES), help="Adversarial loss.  [default: nonsaturating]")
@click.option("--d-steps", type=int, help="Discriminator steps per generator step (k of Algorithm 1).  [default: 1]")
@click.option("--optimizer", type=click.Choice(["adam", "sgd"]), help="Optimiser.  [default: adam]")
@click.option("--lr", type=float, help="Learning rate (both networks unless --lr-d).  [default: 0.0002]")
@click.option("--lr-d", type=float, help="Discriminator learning rate.")
@click.option(
    "--lr-decay-from",
    type=float,
    help="Fraction of the steps after which learning rates fall linearly to 0.  [default: 1, constant]",
)
@click.option("--width", type=int, help="Network width (0: the model's default).")
@click.option("--image-size", type=int, help="Side of generated images (0: the data's, as the model needs).")
@click.option(
    "--folder-mode",
    type=click.Choice(["resize", "patch"]),
    help="Image folders: resize whole images or draw random patches.",
)
@click.option(
    "--holdout", type=int, help="MNIST-format data: last N training images held out for validation.  [default: 10000]"
)
@click.option("--ema", type=float, help="EMA decay of the generator; 0 turns it off.  [default: 0.999]")
@click.option("--r1", type=float, help="R1 penalty weight.  [default: 0]")
@click.option(
    "--precision",
    type=click.Choice(["auto", "fp32", "bf16"]),
    help="auto: bf16 on CUDA, fp32 elsewhere; bf16 also speeds up CPUs with bf16 instructions.",
)
@click.option("--clip", type=float, help="Gradient-norm clip (0: off).")
@click.option("--seed", type=int, help="Seed of data order, noise and initialisation.  [default: 0]")
@click.option("--device", help="auto, cpu, cuda[:N] or mps.  [default: auto]")
@click.option("--sample-every", type=int, help="Save a sample grid every N steps.  [default: 1000]")
@click.option("--ckpt-every", type=int, help="Checkpoint every N steps.  [default: 1000]")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def gan_train(config_file: Path | None, resume: bool, quiet: bool, **options: Any) -> None:
    """Train a GAN; Ctrl-C keeps the last checkpoint, and --resume continues exactly."""
    from deblur.gan import train_gan

    values = load_config_file(config_file, section="gan") if config_file else {}
    values.update({key: value for key, value in options.items() if value is not None})
    config = config_from_dict(GANConfig, values, config_file)
    state = train_gan(config, resume=resume, progress=not quiet)
    click.echo(f"Trained {config.model} for {state.step} steps; checkpoint {config.out / 'last.pt'}.")


@gan.command("sample")
@click.option(
    "--ckpt",
    required=True,
    type=click.Path(path_type=Path),
    help="Run checkpoint (last.pt) or model file (.safetensors).",
)
@click.option("-n", "count", type=click.IntRange(1, 100_000), default=64, show_default=True, help="Number of samples.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output grid image (PNG).")
@click.option("--label", type=int, help="Class to generate (class-conditional models).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
def gan_sample(ckpt: Path, count: int, out: Path, label: int | None, seed: int, device: str, overwrite: bool) -> None:
    """Draw samples from a trained generator into one grid image."""
    from deblur.gan import load_generator, sample_images
    from deblur.train.loop import save_grid

    if out.exists() and not overwrite:
        raise click.ClickException(f"{out} already exists: pass --overwrite to replace it")
    gen, meta = load_generator(ckpt, resolve_device(device))
    save_grid(out, sample_images(gen, meta, count, seed, label))
    click.echo(f"Wrote {count} samples to {out}.")


@gan.command("parzen")
@click.option("--ckpt", type=click.Path(path_type=Path), help="Run checkpoint or model file; omit with --real.")
@click.option(
    "--data", required=True, type=click.Path(path_type=Path), help="MNIST-format data (val and test splits are scored)."
)
@click.option("--real", is_flag=True, help="Score real training images instead of samples: the estimator's reference.")
@click.option("-n", "count", type=int, default=10_000, show_default=True, help="Samples in the Parzen window.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--holdout", type=int, default=10_000, show_default=True, help="Last training images used as validation.")
@click.option("--device", default="auto", show_default=True)
def gan_parzen(ckpt: Path | None, data: Path, real: bool, count: int, seed: int, holdout: int, device: str) -> None:
    """Gaussian Parzen-window log-likelihood of the test set (Goodfellow et al. 2014, Table 1)."""
    from deblur.gan import parzen_score

    if (ckpt is None) == (not real):
        raise click.ClickException("give --ckpt, or --real for the real-data reference")
    result = parzen_score(data, None if real else ckpt, count, seed, holdout, resolve_device(device))
    click.echo(
        f"Parzen log-likelihood: {result.mean:.1f} +- {result.stderr:.1f} nats (sigma {result.sigma:.4f}, "
        f"{result.n_samples} {'real images' if real else 'samples'}, {result.n_test} test images)"
    )


@gan.command("export")
@click.option("--ckpt", required=True, type=click.Path(path_type=Path), help="Run checkpoint (last.pt).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Model file to write (.safetensors).")
@click.option("--overwrite", is_flag=True)
def gan_export(ckpt: Path, out: Path, overwrite: bool) -> None:
    """Write a run's generator (EMA weights) as a self-describing .safetensors model file."""
    from deblur.gan import export_generator

    path = export_generator(ckpt, out, overwrite=overwrite)
    click.echo(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB).")


def _collect_inputs(inputs: tuple[str, ...], recursive: bool) -> tuple[list[tuple[Path, Path | None]], list[str]]:
    """(file, folder it came from) for every input file, folder (``-r``: recursive) or glob; and the errors."""
    import glob

    from deblur.io import IMAGE_EXTENSIONS, list_images

    found: list[tuple[Path, Path | None]] = []
    errors: list[str] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            found += [(p, path) for p in list_images(path, recursive=recursive) if "_deblurred" not in p.stem]
        elif path.is_file():
            found.append((path, None))
        elif any(c in raw for c in "*?["):
            matches = sorted(Path(m) for m in glob.glob(raw, recursive=recursive))
            files = [m for m in matches if m.is_file() and m.suffix.lower() in IMAGE_EXTENSIONS]
            found += [(m, None) for m in files]
            if not files:
                errors.append(f"{raw}: no images match")
        else:
            errors.append(f"{raw}: no such file or folder")
    return found, errors


@cli.command("restore")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file (one input only).")
@click.option("--out-dir", type=click.Path(path_type=Path), help="Output folder (mirrors input folders).")
@click.option("--suffix", default="_deblurred", show_default=True, help="Added to the name without --out-dir/-o.")
@click.option("-r", "--recursive", is_flag=True, help="Look into sub-folders of input folders.")
@click.option("--model", type=click.Path(path_type=Path), help="Model file (.safetensors).  [default: shipped model]")
@click.option("--tile", type=int, help="Tile side in pixels (0: whole image).  [default: from free memory]")
@click.option("--overlap", type=int, default=32, show_default=True, help="Pixels shared by neighbouring tiles.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda[:N] or mps.")
@click.option("--half", is_flag=True, help="Half precision (CUDA only).")
@click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True, help="JPEG/WebP quality.")
@click.option("--max-pixels", type=float, default=100e6, show_default=True, help="Refuse larger images.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def restore_command(
    inputs: tuple[str, ...],
    output: Path | None,
    out_dir: Path | None,
    suffix: str,
    recursive: bool,
    model: Path | None,
    tile: int | None,
    overlap: int,
    device: str,
    half: bool,
    quality: int,
    max_pixels: float,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Remove blur from photos: JPEG, PNG, TIFF (8/16-bit), WebP, BMP; grey and RGBA kept as they are.

    \b
    Examples:
      deblur restore photo.jpg                   writes photo_deblurred.jpg
      deblur restore shots/ -r --out-dir sharp/  a folder tree
      deblur restore "*.png" --model mine.safetensors
    Existing files are never replaced without --overwrite; each file is written atomically. A file that cannot
    be read is reported and skipped; the exit code is 1 if any file failed.
    """
    from tqdm import tqdm

    from deblur.errors import DeblurError
    from deblur.io import Photo, atomic_write_bytes, encode_photo, read_photo
    from deblur.restoration import auto_tile, load_restorer, output_path, restore

    if output is not None and out_dir is not None:
        raise click.ClickException("give -o FILE or --out-dir DIR, not both")
    files, errors = _collect_inputs(inputs, recursive)
    if output is not None and len(files) != 1:
        raise click.ClickException(f"-o takes one input image, got {len(files)}: use --out-dir for several")
    resolved = resolve_device(device)
    net, info = load_restorer(model, resolved)
    tile_side = auto_tile(resolved) if tile is None else tile
    written = 0
    bar = tqdm(files, desc="restore", unit="image", disable=quiet or len(files) < 2)
    for source, root in bar:
        target = output if output is not None else output_path(source, root, out_dir, suffix)
        try:
            if target.resolve() == source.resolve():
                raise DeblurError(f"{target} is the input: choose another output name")
            if target.exists() and not overwrite:
                raise DeblurError(f"{target} already exists: pass --overwrite to replace it")
            photo = read_photo(source, int(max_pixels))
            pixels = restore(photo.pixels, net, tile=tile_side, overlap=overlap, half=half)
            data = encode_photo(Photo(pixels, photo.format, photo.exif, photo.icc_profile), target.suffix, quality)
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, data, overwrite=overwrite)
            written += 1
        except (DeblurError, OSError) as exc:
            message = str(exc) if isinstance(exc, DeblurError) else f"{source}: {exc.strerror or exc}"
            errors.append(message if str(source) in message or str(target) in message else f"{source}: {message}")
            continue
        if not quiet and len(files) == 1:
            click.echo(f"Wrote {target}.")
    for message in errors:
        click.echo(f"Error: {message}", err=True)
    if not quiet and len(files) > 1:
        click.echo(
            f"Restored {written} of {len(files)} images with {info['net']['name']} ({info.get('steps', '?')} steps)."
        )
    if errors:
        sys.exit(1)


TRAIN_SYNTH_FLAGS = {"kernels", "kernel_size", "noise", "jpeg_prob", "jpeg_quality", "saturation_prob"}


@cli.command("train")
@click.option(
    "--data",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Folder of sharp photos (recursive); repeat for several folders.",
)
@click.option("--pairs", type=click.Path(path_type=Path), help="Train on real pairs (GoPro blur/ + sharp/ layout).")
@click.option("--out", type=click.Path(path_type=Path), help="Run folder.  [default: runs/deblur]")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    help="TOML/JSON with a [train] table (TrainConfig keys) and a [synth] table; flags win.",
)
@click.option("--val", type=click.Path(path_type=Path), help="Validation photos (default: hold out --val-holdout).")
@click.option("--val-holdout", type=int, help="Photos of --data kept out for validation.  [default: 8]")
@click.option(
    "--val-every", type=int, help="Validate (PSNR/SSIM, sample strip, best.pt) every N steps.  [default: 1000]"
)
@click.option("--steps", type=int, help="Generator steps.  [default: 20000]")
@click.option("--batch", type=int, help="Crops per batch.  [default: 16]")
@click.option("--crop", type=int, help="Crop side in pixels.  [default: 256]")
@click.option("--lr", type=float, help="Learning rate (both networks unless --lr-d).  [default: 0.0002]")
@click.option("--lr-d", type=float, help="Discriminator learning rate.")
@click.option(
    "--lr-decay-from", type=float, help="Fraction of steps after which LRs fall linearly to 0.  [default: 0.5]"
)
@click.option("--width", type=int, help="U-Net width (channels of the first stage).  [default: 16]")
@click.option("--depth", type=int, help="U-Net downsamplings.  [default: 3]")
@click.option("--norm", type=click.Choice(["none", "batch", "instance", "group"]), help="U-Net normalisation.")
@click.option("--disc-width", type=int, help="PatchGAN width.  [default: 64]")
@click.option("--spectral/--no-spectral", default=None, help="Spectral normalisation in the discriminator.")
@click.option("--scales", type=int, help="Discriminator scales (multi-scale PatchGAN).  [default: 1]")
@click.option("--adv-loss", type=click.Choice(GAN_LOSSES), help="Adversarial loss.  [default: nonsaturating]")
@click.option("--adv-weight", type=float, help="Adversarial weight; 0 trains with content losses only.  [default: 1]")
@click.option("--content", type=click.Choice(["l1", "charbonnier"]), help="Content loss.  [default: l1]")
@click.option("--content-weight", type=float, help="Content loss weight (pix2pix: 100).  [default: 100]")
@click.option("--fft-weight", type=float, help="Frequency loss weight.  [default: 0]")
@click.option("--guard-weight", type=float, help="Per-sample never-worse-than-input loss weight.  [default: 0]")
@click.option(
    "--perceptual-weights", type=click.Path(path_type=Path), help="Local VGG-19 weights for a perceptual loss."
)
@click.option("--perceptual-weight", type=float, help="Perceptual loss weight.  [default: 0]")
@click.option("--kernels", multiple=True, help=f"Kernel kinds ({KIND_HELP}).  [default: motion,trajectory,gaussian]")
@click.option("--kernel-size", type=int, help="Odd kernel size in pixels.  [default: 31]")
@click.option("--noise", type=RangeParam(), help="Gaussian noise sigma or LOW:HIGH.  [default: 0:0.01]")
@click.option("--jpeg-prob", type=float, help="Probability of JPEG re-compression.  [default: 0]")
@click.option("--jpeg-quality", type=RangeParam(int), help="JPEG quality or LOW:HIGH.  [default: 60:95]")
@click.option("--saturation-prob", type=float, help="Probability of clipped highlights.  [default: 0]")
@click.option("--ema", type=float, help="EMA decay of the generator; 0 turns it off.  [default: 0.999]")
@click.option(
    "--precision",
    type=click.Choice(["auto", "fp32", "bf16"]),
    help="auto: bf16 on CUDA, fp32 elsewhere; bf16 also speeds up CPUs with bf16 instructions.",
)
@click.option("--clip", type=float, help="Gradient-norm clip (0: off).")
@click.option("--workers", type=int, help="Data-loader processes (-1: 0 on CPU, 4 on GPU).")
@click.option("--seed", type=int, help="Seed of crops, degradations and initialisation.  [default: 0]")
@click.option("--device", help="auto, cpu, cuda[:N] or mps.  [default: auto]")
@click.option("--ckpt-every", type=int, help="Checkpoint every N steps.  [default: 1000]")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def train_command(config_file: Path | None, resume: bool, quiet: bool, **options: Any) -> None:
    """Train a deblurring model from sharp photos: blur is synthesised on the fly on the training device.

    \b
    Example:
      deblur train --data ./sharp --out runs/mine --steps 20000
    Ctrl-C or SIGTERM saves a checkpoint; `--resume` continues exactly. For several GPUs run the same command under
    `torchrun --nproc_per_node=N -m deblur train ...`. Then `deblur export runs/mine --out mine.safetensors`.
    """
    from deblur.trainer import train

    config = train_config(config_file, options)
    state = train(config, resume=resume, progress=not quiet)
    best = f", best validation PSNR {state.best:.2f} dB" if state.best is not None else ""
    click.echo(f"Trained for {state.step} steps{best}; checkpoints in {config.out}.")


def train_config(config_file: Path | None, options: dict[str, Any]) -> TrainConfig:
    """A TrainConfig from an optional file ([train] and [synth] tables) and the flags given (which win)."""
    values = load_config_file(config_file, section=None) if config_file else {}
    train_values = dict(values.get("train", values if "synth" not in values else {}))
    synth_values = dict(values.get("synth", train_values.pop("synth", {})))
    if isinstance(options.get("data"), tuple):
        options["data"] = options["data"] or None
    options["kernels"] = _kernel_kinds(options.get("kernels") or ())
    synth_flags = {k: options.pop(k) for k in list(options) if k in TRAIN_SYNTH_FLAGS}
    if synth_flags.get("kernel_size") is not None:
        synth_flags["size"] = synth_flags["kernel_size"]
    synth_flags.pop("kernel_size", None)
    synth_values.update({k: v for k, v in synth_flags.items() if v is not None})
    train_values.update({k: v for k, v in options.items() if v is not None})
    base = config_to_dict(DEFAULT_TRAIN_SYNTH)
    train_values["synth"] = config_from_dict(SynthConfig, {**base, **synth_values}, config_file)
    return config_from_dict(TrainConfig, train_values, config_file)


@cli.command("export")
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
def export_command(run: Path, out: Path, which: str, overwrite: bool) -> None:
    """Write a deblurring run's EMA generator, with its configs and metrics, as a .safetensors model file."""
    from deblur.trainer import export_model

    if out.exists() and not overwrite:
        raise click.ClickException(f"{out} already exists: pass --overwrite to replace it")
    path = export_model(run, out, which=which, overwrite=overwrite)
    click.echo(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB).")


class NamedPath(click.ParamType):
    """``NAME=PATH`` -> ``(NAME, Path)``."""

    name = "NAME=DIR"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, Path]:
        if isinstance(value, tuple):
            return value
        label, sep, path = str(value).partition("=")
        if not sep or not label or not path:
            self.fail(f"{value!r} is not NAME=DIR", param, ctx)
        return label, Path(path)


@cli.command("bench")
@click.option(
    "--pairs",
    type=click.Path(path_type=Path),
    help="Test set: a deblur synth folder (kernels known) or pairs (*/blur + */sharp, blur/+sharp/, input/+target/)",
)
@click.option("--sharp", type=click.Path(path_type=Path), help="Non-blind protocol: folder of sharp images ...")
@click.option(
    "--kernels", type=click.Path(path_type=Path), help="... blurred by each kernel of this bank (PNG/NPY/MAT)."
)
@click.option("--noise", type=float, default=0.01, show_default=True, help="Noise sigma of the non-blind protocol.")
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="Folder for tables, plots and per-image CSV."
)
@click.option(
    "--model",
    "models",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Model file (repeatable).  [default: shipped]",
)
@click.option("--results", multiple=True, type=NamedPath(), help="Another method's outputs as NAME=DIR (repeatable).")
@click.option(
    "--baselines/--no-baselines", default=True, help="Wiener, unsupervised Wiener, Richardson-Lucy (kernels known)."
)
@click.option("--unsupervised/--no-unsupervised", default=True, help="Include unsupervised Wiener (slowest baseline).")
@click.option("--wiener-balance", type=float, default=0.05, show_default=True, help="Wiener regularisation.")
@click.option("--rl-iterations", type=int, default=20, show_default=True, help="Richardson-Lucy iterations.")
@click.option(
    "--channel", type=click.Choice(["rgb", "y"]), default="rgb", show_default=True, help="Per-group table on."
)
@click.option("--border", type=int, default=0, show_default=True, help="Pixels cropped from every side before scoring.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda[:N] or mps (models).")
@click.option(
    "--tile", type=int, help="Restore models' inputs in tiles of this side (0: whole images).  [default: 512]"
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the noise and of unsupervised Wiener.")
@click.option("--limit", type=int, help="Use only the first N images.")
@click.option("--name", default="bench", show_default=True, help="Stem of the result files.")
@click.option("--plots/--no-plots", default=True, help="PSNR-vs-kernel-size plot and crop grid (needs matplotlib).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def bench_command(models: tuple[Path, ...], results: tuple[tuple[str, Path], ...], quiet: bool, **options: Any) -> None:
    """Score models against the blurred input and classical deconvolution: PSNR/SSIM tables for papers.

    Writes OUT/NAME.{md,csv,tex,json} (per method: PSNR and SSIM on RGB and Y with 95% confidence intervals, images
    worse than the input, seconds per image and per megapixel), OUT/NAME_groups.* (per kernel kind, kernel or
    scene), OUT/NAME_per_image.csv and two PNG plots; every file records the machine, versions, seed and command.
    Deconvolution baselines are given the true kernel, so they run only where kernels are known.

    \b
    Examples:
      deblur synth --data photos/ --out set/ --kernel motion --valid --noise 0.01
      deblur bench --pairs set/ --out results/
      deblur bench --sharp kodak24/ --kernels Levin09.mat --noise 0.01 --out results/ --model a.safetensors
      deblur bench --pairs GOPRO_Large/test --out results/ --results DeblurGAN=./their_outputs
    """
    from deblur.bench import benchmark

    options["device"] = resolve_device(options["device"])
    rows, written = benchmark(models=list(models) or None, results=dict(results), progress=not quiet, **options)
    click.echo(Path(written["summary"]).read_text().split("\n\n", 1)[1].rstrip())
    click.echo(f"Wrote {', '.join(str(p) for p in written.values())}")


def main() -> None:
    """Entry point of the ``deblur`` console script."""
    cli(prog_name="deblur")
