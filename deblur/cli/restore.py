"""``deblur restore``: deblur photos (files, folders, globs) with the default model or ``--model``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from deblur.config import RestoreConfig


def _describe(estimate: Any) -> str:
    """One line on what blind restoration found."""
    reason = getattr(estimate, "reason", "")
    if reason == "strength 0":
        return "--strength 0: photo unchanged."
    if reason:
        return f"The photo is {reason}: photo unchanged." if reason.startswith("too small") else f"{reason}."
    if estimate.blur_free:
        return "No blur found: the photo is returned unchanged."
    size = int((estimate.kernel > estimate.kernel.max() * 0.05).any(0).sum())
    gain = getattr(estimate, "predicted_gain", None)
    if gain is not None:
        method = estimate.found.method
        found = f"the best kernel estimate ({method}, about {size} px wide) is predicted to gain {gain:+.1f} dB"
        if estimate.applied == 0:
            return f"No restoration is predicted to improve this photo: {found}; photo unchanged."
        return f"Restored at strength {estimate.applied:.2f}: {found}."
    if estimate.applied == 0:
        return f"The kernel estimate failed its self-check (confidence {estimate.confidence:.2f}): photo unchanged."
    return f"Estimated a kernel about {size} px wide (confidence {estimate.confidence:.2f})."


class _KernelSize(click.ParamType):
    """``auto`` or an odd whole number of pixels."""

    name = "SIZE|auto"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | None:
        if value is None or isinstance(value, int):
            return value
        if str(value).strip().lower() == "auto":
            return None
        try:
            return int(value)
        except ValueError:
            self.fail(f"{value!r} is neither auto nor a whole number of pixels", param, ctx)


class _Region(click.ParamType):
    """``X,Y,WIDTH,HEIGHT`` in pixels, returned as ``(top, left, height, width)``."""

    name = "X,Y,W,H"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple | None:
        if value is None or isinstance(value, tuple):
            return value
        try:
            x, y, width, height = (int(part) for part in str(value).split(","))
        except ValueError:
            self.fail(
                f"{value!r} is not X,Y,WIDTH,HEIGHT (four whole numbers of pixels, e.g. 100,50,512,512)", param, ctx
            )
        return (y, x, height, width)


@click.command("restore")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file (one input only).")
@click.option("--out-dir", type=click.Path(path_type=Path), help="Output folder (mirrors input folders).")
@click.option("--suffix", default="_deblurred", show_default=True, help="Added to the name without --out-dir/-o.")
@click.option("-r", "--recursive", is_flag=True, help="Look into sub-folders of input folders.")
@click.option("--model", type=click.Path(path_type=Path), help="Model file (.safetensors).  [default: shipped model]")
@click.option(
    "--kernel",
    type=click.Path(path_type=Path),
    help="Known blur kernel (PSF) as PNG or NPY, any size: deconvolve with it instead of using a model.",
)
@click.option("--kernel-weight", type=float, help="Prior weight of --kernel deconvolution.  [default: from the noise]")
@click.option(
    "--kernel-size",
    type=_KernelSize(),
    default="auto",
    show_default=True,
    help="Upper bound of the estimated kernel's side in px, odd (7 to 255), or auto: every size up to 99 px "
    "competes (the model's own bound for models without a critic).",
)
@click.option(
    "--region",
    type=_Region(),
    help="X,Y,WIDTH,HEIGHT in px: estimate the blur on this part of the photo (sharp detail, no moving subject). "
    "[default: the part with the most edges]",
)
@click.option(
    "--strength",
    type=click.FloatRange(0, 1),
    help="How much of the restoration to apply: 0 returns the input, 1 the full restoration.  "
    "[default: the model's (the shipped model's: 1, of which each photo gets a share set by the critic's "
    "predicted gain)]",
)
@click.option(
    "--save-kernel",
    type=click.Path(path_type=Path),
    help="Write the estimated kernel as PNG + .npy (a .png name for one input, a folder for several).",
)
@click.option(
    "--tile", type=int, help="Tile side in pixels (0: whole image); the same on every machine.  [default: 1024]"
)
@click.option("--overlap", type=int, default=32, show_default=True, help="Pixels shared by neighbouring tiles.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda[:N] or mps.")
@click.option("--half", is_flag=True, help="Half precision (CUDA only).")
@click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True, help="JPEG/WebP quality.")
@click.option("--max-pixels", type=float, default=100e6, show_default=True, help="Refuse larger images.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def restore_command(inputs: tuple[str, ...], quiet: bool, **options: Any) -> None:
    """Remove blur from photos: JPEG, PNG, TIFF (8/16-bit), WebP, BMP; grey and RGBA kept as they are.

    \b
    Examples:
      deblur restore photo.jpg                   writes photo_deblurred.jpg
      deblur restore shots/ -r --out-dir sharp/  a folder tree
      deblur restore "*.png" --model mine.safetensors
      deblur restore star.tif --kernel psf.npy       a known point-spread function
      deblur restore photo.jpg --save-kernel k.png   also write the estimated blur kernel
    Existing files are never replaced without --overwrite; each file is written atomically. A file that cannot
    be read is reported and skipped; the exit code is 1 if any file failed.
    """
    from deblur.restoration import restore_files

    config = RestoreConfig(**options)  # every option but -q is a RestoreConfig field of the same name
    # SIGTERM ends the run as Ctrl-C does (DeblurGroup installs that for every command): the file being written is
    # removed (its temporary), the others stay
    report = restore_files(inputs, config, progress=not quiet)
    if not quiet and report.total == 1 and report.written:
        click.echo(f"Wrote {report.written[0][1]}.")
        for _, estimate in report.estimates:
            click.echo(_describe(estimate))
    for message in report.notes:
        click.echo(f"Note: {message}", err=True)
    for message in report.errors:
        click.echo(f"Error: {message}", err=True)
    if not quiet and report.total > 1:
        name, steps = report.model["net"]["name"], report.model.get("steps")
        trained = f" ({steps} steps)" if steps is not None else ""
        click.echo(f"Restored {len(report.written)} of {report.total} images with {name}{trained}.")
    if report.errors:
        sys.exit(1)
