"""``deblur synth`` and ``deblur kernels``: blurred/sharp pairs from sharp photos, and a look at kernels."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import click

from deblur.cli.options import KIND_HELP, SEED, RangeParam, config_file_option, kernel_kinds
from deblur.config import CONV_METHODS, SynthConfig, load_config
from deblur.device import resolve_device
from deblur.errors import ConfigError


@click.command()
@click.option(
    "--data", required=True, type=click.Path(path_type=Path), help="Folder of sharp images (recursive) or one image."
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder: blurred/, sharp/, kernels/, manifest.json.",
)
@config_file_option("SynthConfig settings")
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
    type=SEED,
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
@click.option("--limit", type=click.IntRange(min=1), help="Use only the first N images (sorted by path).")
@click.option("--overwrite", is_flag=True, help="Replace the files of an earlier run in --out.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def synth(
    data: Path,
    out: Path,
    config_file: Path | None,
    seed: int,
    device: str,
    bit_depth: str,
    limit: int | None,
    overwrite: bool,
    quiet: bool,
    **settings: Any,
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

    settings["kernels"] = kernel_kinds(settings["kernels"])  # the other flags are SynthConfig keys as they are
    config = load_config(SynthConfig, config_file, "synth", settings)
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


MAX_GRID_PIXELS = 64_000_000
"""The largest kernel grid picture ``deblur kernels`` draws (about 0.8 GB as float RGB)."""


@click.command()
@click.option("--kind", default="trajectory", show_default=True, help=KIND_HELP + ".")
@click.option("-n", "count", type=click.IntRange(1, 4096), default=16, show_default=True, help="Number of kernels.")
@click.option("--size", type=int, default=31, show_default=True, help="Odd kernel size in pixels.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output image (PNG).")
@click.option("--npy", type=click.Path(path_type=Path), help="Also save the kernels as an (n, size, size) .npy array.")
@click.option(
    "--config", "config_file", type=click.Path(path_type=Path), help="TOML/JSON SynthConfig for the kernel ranges."
)
@click.option("--seed", type=SEED, default=0, show_default=True)
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

    config = dataclasses.replace(load_config(SynthConfig, config_file, "synth", {"size": size}), kernels=(kind,))
    side = math.ceil(math.sqrt(count)) * (config.size + 1) * zoom
    if side * side > MAX_GRID_PIXELS:
        raise ConfigError(
            f"a grid of {count} kernels of {config.size} px at zoom {zoom} would be {side}x{side} px: "
            "use fewer kernels (-n) or a smaller --zoom"
        )
    sampled = kernel_sampler(kind, config)(count, config.size, torch.Generator().manual_seed(seed))
    write_image(out, kernel_grid(sampled, zoom=zoom), overwrite=overwrite)
    if npy is not None:
        atomic_write_bytes(npy, encode_npy(sampled.numpy().astype(np.float32)), overwrite=overwrite)
    click.echo(f"Wrote {count} {kind} kernels ({config.size} px) to {out}" + (f" and {npy}" if npy else "") + ".")
