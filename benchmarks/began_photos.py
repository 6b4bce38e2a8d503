"""BEGAN at 64 x 64: random patches of the development photos, and its convergence measure over training.

Trains (or reuses) ``deblur gan train --model began --folder-mode patch --image-size 64`` on
``../shared/data/photos`` and reports BEGAN's convergence measure ``M = L(x) + |gamma L(x) - L(G(z))|``
(Berthelot et al. 2017, sec. 3.4), averaged over windows of steps, with ``k`` and both reconstruction losses.

    python -m benchmarks.began_photos [--data ../shared/data/photos] [--runs runs/began_photos] [--steps 3000]
        [--export]   # also write models/gan_photos_began.safetensors

Writes ``results/began_photos.{png,md,csv,tex,json}`` (the convergence curve and table) and
``docs/gan/began_photos.png`` (64 samples).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchmarks.began_convergence import write_convergence
from benchmarks.common import environment
from benchmarks.parzen_fashion_mnist import same_training
from deblur.config import GANConfig, load_config
from deblur.train.checkpoint import load_checkpoint
from deblur.train.gan import sample_images, train_gan
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
    "lr": 1e-4,
    "precision": "bf16",  # bf16 autocast: faster on CPUs with AVX512-BF16, as on a GPU
    "seed": 0,
    "log_every": 50,
    "sample_every": 500,
    "ckpt_every": 500,
}


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
    timing_file = args.runs / "train_seconds.json"
    done = (args.runs / "last.pt").exists() and timing_file.exists()
    if done:
        saved = load_checkpoint(args.runs / "last.pt")
        done = saved["state"]["step"] >= config.steps and same_training(saved["meta"], config)
    if not done:
        start = time.perf_counter()
        train_gan(config, resume=True)
        timing_file.write_text(json.dumps({"train_seconds": time.perf_counter() - start}))
    seconds = json.loads(timing_file.read_text())["train_seconds"]

    gen, meta = load_generator(args.runs / "last.pt", task="gan")
    save_grid(ROOT / "docs" / "gan" / "began_photos.png", sample_images(gen, meta, 64, seed=1), nrow=8)
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


if __name__ == "__main__":
    main()
