"""``deblur bench``: PSNR/SSIM tables of models against the blurred input and classical deconvolution."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from deblur.cli.options import SEED, NamedPath
from deblur.config import BenchConfig


@click.command("bench")
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
    "--kernel-error",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Non-blind protocol: give the methods kernels perturbed at this strength (estimation errors).",
)
@click.option(
    "--recenter/--no-recenter",
    default=False,
    show_default=True,
    help="Centre the perturbed kernels by their centre of mass, as `restore --kernel` centres kernel files.",
)
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
@click.option("--blind", is_flag=True, help="Models with a kernel estimator estimate each kernel (not given it).")
@click.option("--shift-tolerant", is_flag=True, help="Also report PSNR at the best alignment within 3 px.")
@click.option("--results", multiple=True, type=NamedPath(), help="Another method's outputs as NAME=DIR (repeatable).")
@click.option(
    "--baselines/--no-baselines", default=True, help="Non-blind deconvolution given the true kernel (kernels known)."
)
@click.option("--unsupervised/--no-unsupervised", default=True, help="Include unsupervised Wiener (slowest baseline).")
@click.option("--wiener-balance", type=float, default=0.05, show_default=True, help="Wiener regularisation.")
@click.option("--rl-iterations", type=int, default=20, show_default=True, help="Richardson-Lucy iterations.")
@click.option("--hl-weight", type=float, default=7e-4, show_default=True, help="Hyper-Laplacian prior weight.")
@click.option(
    "--channel", type=click.Choice(["rgb", "y"]), default="rgb", show_default=True, help="Per-group table on."
)
@click.option("--border", type=int, default=0, show_default=True, help="Pixels cropped from every side before scoring.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda[:N] or mps (models).")
@click.option(
    "--tile", type=int, help="Restore models' inputs in tiles of this side (0: whole images).  [default: 512]"
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the noise and of unsupervised Wiener.")
@click.option("--limit", type=click.IntRange(min=1), help="Use only the first N images.")
@click.option("--name", default="bench", show_default=True, help="Stem of the result files.")
@click.option("--plots/--no-plots", default=True, help="PSNR-vs-kernel-size plot and crop grid (needs matplotlib).")
@click.option("--overwrite", is_flag=True, help="Replace the result files of an earlier run with the same --name.")
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

    config = BenchConfig(models=models or None, results=dict(results), **options)
    rows, written = benchmark(config, progress=not quiet)
    click.echo(Path(written["summary"]).read_text().split("\n\n", 1)[1].rstrip())
    click.echo(f"Wrote {', '.join(str(p) for p in written.values())}")
