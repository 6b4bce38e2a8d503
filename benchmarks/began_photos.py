"""BEGAN at 64 x 64: random patches of the development photos, and its convergence measure over training.

Trains (or reuses) ``deblur gan train --model began --folder-mode patch --image-size 64`` on
``../shared/data/photos`` and reports BEGAN's convergence measure ``M = L(x) + |gamma L(x) - L(G(z))|``
(Berthelot et al. 2017, sec. 3.4), averaged over windows of steps, with ``k`` and both reconstruction losses.

    python -m benchmarks.began_photos [--data ../shared/data/photos] [--runs runs/began_photos] [--steps 3000]
        [--export]   # also write models/gan_photos_began.safetensors

Writes ``results/began_photos.{png,md,csv,tex,json}`` (the convergence curve and table),
``results/began_photos_structure.*`` (edges and contrast of 256 samples against 256 real patches: do the samples
show structure or flat colour?) and ``docs/gan/began_photos.jpg`` (64 samples).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import kornia
import torch

from benchmarks.began_convergence import write_convergence
from benchmarks.common import environment, write_results
from benchmarks.parzen_fashion_mnist import train_or_reuse
from deblur.config import GANConfig, load_config
from deblur.data.streams import PatchBatches
from deblur.io import list_images, read_image
from deblur.train.gan import sample_images
from deblur.train.loop import save_grid
from deblur.train.run import export_generator, load_generator

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {
    "model": "began",
    "folder_mode": "patch",
    "image_size": 64,
    "channels": 3,
    "batch": 16,
    "width": 32,
    "z_dim": 64,
    # the Fashion-MNIST recipe (models/gan_fashion_mnist.md): the paper's lr 1e-4, lambda_k 0.001 and gamma 0.5
    # drew flat colour patches at 1,500 steps (gradient 0.17 of the real patches'; the model card)
    "lr": 4e-4,
    "lambda_k": 0.01,
    "gamma": 1.0,
    "pull_away": 0.1,
    "precision": "bf16",  # bf16 autocast: faster on CPUs with AVX512-BF16, as on a GPU
    "seed": 0,
    "log_every": 50,
    "sample_every": 500,
    "ckpt_every": 500,
}

EDGE = 0.1
"""Sobel magnitude (on [0, 1] luminance) above which a pixel counts as an edge."""
STRUCTURE_COLUMNS = ("images", "gradient", "edge_share", "contrast", "mean")


def structure(images: torch.Tensor) -> dict[str, float]:
    """Edges and contrast of ``(B, 3, H, W)`` images in [0, 1], on their luminance: the mean Sobel gradient
    magnitude, the share of pixels whose magnitude exceeds ``EDGE``, the mean per-image standard deviation and the
    mean. Flat colour patches score near 0 on the first three."""
    grey = kornia.color.rgb_to_grayscale(images.clamp(0, 1).float())
    magnitude = kornia.filters.sobel(grey, eps=0.0)
    return {
        "gradient": magnitude.mean().item(),
        "edge_share": (magnitude > EDGE).float().mean().item(),
        "contrast": grey.flatten(1).std(1).mean().item(),
        "mean": grey.mean().item(),
    }


def real_patches(data: Path, size: int, count: int, seed: int) -> torch.Tensor:
    """``count`` random ``size`` px patches of the photos under ``data`` (as the training stream draws them)."""
    images = [read_image(path) for path in list_images(data)]
    return next(PatchBatches(images, size, count, seed))["image"]


def write_structure(real: torch.Tensor, samples: torch.Tensor, title: str) -> list[dict[str, object]]:
    """``results/began_photos_structure.*``: :func:`structure` of real patches and of samples, and their ratio."""
    found = {"real": structure(real), "samples": structure(samples)}
    rows: list[dict[str, object]] = [
        {"images": f"real patches ({len(real)})", **found["real"]},
        {"images": f"BEGAN samples ({len(samples)})", **found["samples"]},
        {
            "images": "samples / real",
            **{k: found["samples"][k] / max(found["real"][k], 1e-12) for k in STRUCTURE_COLUMNS[1:]},
        },
    ]
    caption = (
        f"{title}: edges and contrast of the luminance of samples against random real patches. gradient: mean Sobel "
        f"magnitude; edge_share: pixels whose magnitude exceeds {EDGE}; contrast: mean per-image standard "
        "deviation. Flat colour scores near 0 on all three."
    )
    write_results("began_photos_structure", rows, STRUCTURE_COLUMNS, caption, environment({"torch": 0}))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "photos")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "began_photos")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--window", type=int, default=250, help="steps per row of the table")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--export", action="store_true", help="write models/gan_photos_began.safetensors")
    args = parser.parse_args()
    given = {"data": args.data, "out": args.runs, "steps": args.steps, "device": args.device}
    config = load_config(GANConfig, overrides={**SETTINGS, **given})
    seconds = train_or_reuse(config)["train_seconds"]  # a shorter run with these settings is continued

    gen, meta = load_generator(args.runs / "last.pt", task="gan")
    samples = sample_images(gen, meta, 256, seed=1)
    save_grid(ROOT / "docs" / "gan" / "began_photos.jpg", samples[:64], nrow=8)
    info = environment({"torch": 0})
    run_info = {"settings": SETTINGS, "steps": config.steps, "train_seconds": seconds, "data": str(args.data)}
    title = (
        f"BEGAN on random 64x64 patches of the {meta['data']['train_images']} development photos, {config.steps} "
        f"steps of batch {config.batch} in {seconds / 60:.0f} min on {info['gpu'] or info['cpu']}"
    )
    notes = "Settings: " + ", ".join(f"{k}={v}" for k, v in SETTINGS.items()) + f", steps={config.steps}."
    if args.export:
        extra = {"trained_on": f"random 64x64 patches of {args.data.name}/ (the project's development photos)"}
        model_file = ROOT / "models" / "gan_photos_began.safetensors"
        path = export_generator(args.runs / "last.pt", model_file, overwrite=True, extra=extra, task="gan")
        notes += f" Generator: `{path.relative_to(ROOT)}`."
    result = write_convergence(args.runs, "began_photos", args.window, title, extra_notes=notes, meta=run_info)
    print(result["caption"])
    for row in result["rows"]:
        print(row)
    for row in write_structure(
        real_patches(args.data, config.image_size, 256, seed=SETTINGS["seed"] + 1), samples, title
    ):
        print(row)


if __name__ == "__main__":
    main()
