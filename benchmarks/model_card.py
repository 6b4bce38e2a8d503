"""The default model's card and figures: ``models/deblur_default.md`` (or ``--card``), ``docs/deblur/clock.png``,
``docs/deblur/real_blur.jpg``.

Reads the training run (resolved config, validation history, logged throughput) and the committed results of
``python -m benchmarks.deblur_quality`` (per-kind metrics on held-out sets), restores scikit-image's motion-blurred
``clock`` photo and a few real blurred photos from ``../shared/data/eval/real_blur`` (evaluation only, no ground
truth: the card reports a sharpness proxy, the variance of the Laplacian, before and after), and writes the card.

    python -m benchmarks.model_card --run runs/default_l1 [--model models/deblur_default.safetensors]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torchvision

from benchmarks.common import RESULTS, environment
from deblur import restore
from deblur.config import TrainConfig, config_from_dict
from deblur.io import atomic_write_bytes, read_image, write_image
from deblur.restoration import load_restorer
from deblur.train.log import read_metrics
from deblur.weights import upgrade_metadata

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "data" / "eval" / "real_blur"
REAL_PHOTOS = ("gopro/gopro_seq_id-1_frame-8.png", "koehler/Blurry2_1.png", "misc/boat.png", "misc/postcard.png")


def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image (a no-reference sharpness proxy; noise raises it too)."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey.astype(np.float64) / 255.0, cv2.CV_64F).var())


def centre_crop(image: torch.Tensor, size: int) -> torch.Tensor:
    height, width = image.shape[-2:]
    top, left = max(0, (height - size) // 2), max(0, (width - size) // 2)
    return image[..., top : top + size, left : left + size]


def figures(model: Path, docs: Path) -> dict[str, Any]:
    """Before/after of the clock and of real blurred photos; returns their sharpness figures."""
    import skimage.data

    clock = skimage.data.clock()
    restored = restore(clock, model)
    pair = torch.from_numpy(np.concatenate([clock, np.full((clock.shape[0], 8), 255, np.uint8), restored], 1))
    write_image(docs / "clock.png", (pair.float() / 255)[None], overwrite=True)
    out: dict[str, Any] = {"clock": {"before": sharpness(clock), "after": sharpness(restored)}}
    tiles = []
    for name in REAL_PHOTOS:
        image = read_image(REAL / name)
        array = (image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        after = restore(array, model)
        out[name] = {"before": sharpness(array), "after": sharpness(after)}
        tiles += [centre_crop(image, 320), centre_crop(torch.from_numpy(after).permute(2, 0, 1).float() / 255, 320)]
    grid = torchvision.utils.make_grid(
        [torch.nn.functional.pad(t, (0, 320 - t.shape[-1], 0, 320 - t.shape[-2]), value=1) for t in tiles],
        nrow=2,
        padding=4,
        pad_value=1.0,
    )
    write_image(docs / "real_blur.jpg", grid, overwrite=True)
    return out


def train_seconds(run: Path, batch: int) -> float:
    """Training time from the logged throughput (images per second over each logged interval)."""
    logs = [m for m in read_metrics(run) if "images_per_s" in m]
    seconds, last = 0.0, 0
    for entry in logs:
        if entry["step"] > last:
            seconds += (entry["step"] - last) * batch / entry["images_per_s"]
            last = entry["step"]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "default_l1")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "deblur_default.safetensors")
    parser.add_argument("--quality", default="deblur_quality", help="results name of benchmarks.deblur_quality")
    parser.add_argument("--heldout", default="deblur_quality_val20", help="results name of the val20 check")
    parser.add_argument("--card", type=Path, default=ROOT / "models" / "deblur_default.md")
    parser.add_argument("--figures", type=Path, default=ROOT / "docs" / "deblur")
    parser.add_argument("--candidate", action="store_true", help="a model not shipped (it fails the never-worse rule)")
    args = parser.parse_args()

    net, info = load_restorer(args.model)
    meta = upgrade_metadata(json.loads((args.run / "config.json").read_text()))
    train = config_from_dict(TrainConfig, meta["config"])  # runs of older versions read the same way
    spec = info["net"]  # the full network spec, defaults included
    seconds = train_seconds(args.run, train.batch)
    found = figures(args.model, args.figures)
    link = Path("../" * (len(args.card.resolve().relative_to(ROOT).parts) - 1))
    figure_dir = args.figures.resolve().relative_to(ROOT)
    summary = json.loads((RESULTS / f"{args.quality}.json").read_text())
    groups = json.loads((RESULTS / f"{args.quality}_groups.json").read_text())
    heldout = (
        json.loads((RESULTS / f"{args.heldout}.json").read_text())
        if (RESULTS / f"{args.heldout}.json").exists()
        else None
    )
    env = environment()
    params = sum(p.numel() for p in net.parameters())
    size_mb = args.model.stat().st_size / 1e6

    def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for row in rows:
            lines.append(
                "| " + " | ".join(f"{row[c]:.3g}" if isinstance(row[c], float) else str(row[c]) for c in columns) + " |"
            )
        return "\n".join(lines)

    summary_columns = [
        "method",
        "images",
        "PSNR",
        "PSNR 95% CI",
        "SSIM",
        "PSNR-Y",
        "SSIM-Y",
        "worse than input",
        "s/MP",
    ]
    group_columns = list(groups["rows"][0])
    real_rows = "\n".join(f"| `{name}` | {v['before']:.2e} | {v['after']:.2e} |" for name, v in found.items())
    toml = (args.run.parent / f"{args.run.name}.toml").resolve()
    if args.candidate:
        intro = (
            f"# `{args.model.name}` — CPU-trained candidate, **not shipped**\n\nThe best deblurring model this project "
            "could train without a GPU. It is not shipped as the default: on the held-out sets below it restores a few "
            "images to a lower PSNR than their blurred input, which the project's rule for a default model forbids "
            "(see `worse than input`). It documents where CPU training stands; a GPU-trained model will replace it."
        )
    else:
        intro = (
            "# `deblur_default.safetensors` — the shipped default deblurring model\n\n`deblur restore photo.jpg` uses "
            "this model when no `--model` is given. **It was trained on a 2-core CPU** (no GPU was available to the "
            "project yet), so it is small and its gains are modest; a GPU-trained model will replace it."
        )
    caveat = (
        "It restores some images of the held-out sets to a lower PSNR than their input (`worse than input` above): "
        "check your results."
        if args.candidate
        else "Check your results: on the held-out sets above no image came out worse than its input, but that is not "
        "a guarantee for every photo."
    )
    text = f"""{intro}

| | |
|---|---|
| network | U-Net generator, width {spec["width"]}, depth {spec["depth"]}, {spec["blocks"]} blocks per stage, pixel-unshuffle input, global residual ({params / 1e6:.2f} M parameters) |
| file | {size_mb:.1f} MB safetensors (weights and the JSON spec of the network; loads without executing code) |
| training loss | L1 only (`adv_weight = 0`): at equal CPU steps the adversarial term made validation crops worse ([ablation]({link}/benchmarks/results/deblur_ablation_cpu.md)) |
| data | sharp photos of `../shared/data/photos/`: {", ".join(Path(d).name for d in train.data)} (training), `val20` (validation and checkpoint choice); nothing from `eval/` |
| degradations | synthesised per batch: {", ".join(train.synth.kernels)} kernels of {train.synth.size} px, Gaussian noise sigma {train.synth.noise[0]}–{train.synth.noise[1]}, JPEG with probability {train.synth.jpeg_prob} |
| steps | {info.get("steps", "?")} steps of {train.batch} crops of {train.crop}², Adam lr {train.optim.lr} (beta1 {train.optim.beta1}), linear decay over the second half, EMA {train.optim.ema} |
| device, time | CPU ({env["cpu"]}, 2 cores), about {seconds / 60:.0f} minutes of training |
| validation | PSNR {info.get("metrics", {}).get("val_psnr", float("nan")):.2f} dB on 16 `val20` crops of 256² (best checkpoint) |

## How it was made

```bash
deblur train --config {toml.relative_to(ROOT) if toml.exists() else "train.toml"}
deblur export {args.run.resolve().relative_to(ROOT)} --out {args.model.resolve().relative_to(ROOT)}
{summary["meta"]["command"]}   # the tables below
python -m benchmarks.model_card {" ".join(sys.argv[1:])}   # this card and its figures
```

{("The config file:" + chr(10) + chr(10) + "```toml" + chr(10) + toml.read_text().strip() + chr(10) + "```") if toml.exists() else ""}

## Quality on held-out synthetic sets

{summary["caption"]}

{table(summary["rows"], summary_columns)}

Per kernel kind (PSNR dB / SSIM on RGB):

{table(groups["rows"], group_columns)}
{("" if heldout is None else chr(10) + "The same check on sets made from `val20` (used to choose the checkpoint, never trained on):" + chr(10) + chr(10) + table(heldout["rows"], summary_columns) + chr(10))}
## Real blurred photos

scikit-image's `clock` (camera moved horizontally while the shutter was open), before | after:

![clock]({link}/{figure_dir}/clock.png)

Real blurred photos from `../shared/data/eval/real_blur` (centre crops; left before, right after):

![real blur]({link}/{figure_dir}/real_blur.jpg)

No ground truth exists for these; the variance of the Laplacian (higher is sharper, but noise raises it too):

| photo | before | after |
|---|---|---|
{real_rows}

## Limitations

- Trained for about {seconds / 3600:.1f} hours on a CPU: it removes a little blur (see the tables), far less than the project's target of
  4 dB, and less than non-blind deconvolution *given the true kernel* (which a real photo never comes with).
- Large blur (kernels over ~31 px), saturated highlights, strong noise and object motion are beyond it.
- It was trained on blur synthesised in display (sRGB) space on photos of the listed sets only.
- {caveat}

Machine: {env["cpu"]}; torch {env["versions"]["torch"]}; Python {platform.python_version()}.
"""
    atomic_write_bytes(args.card, text.encode())
    print(text)


if __name__ == "__main__":
    main()
