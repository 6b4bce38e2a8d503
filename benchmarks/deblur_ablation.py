"""What the adversarial term does: L1 only against L1 + adversarial, at equal steps, from two training runs.

Reads the validation PSNR/SSIM that ``deblur train`` logged at ``--step`` in each run (the same fixed, seeded
validation set: centre crops of held-out photos blurred by motion, camera-shake and Gaussian kernels of 31 px with
up to 1% noise) and tiles their sample strips into one figure: blurred | L1 only | L1 + adversarial | sharp.

    deblur train ... --adv-weight 0 --out runs/ablation_l1      # the two runs: identical but for --adv-weight
    deblur train ... --adv-weight 1 --out runs/ablation_adv
    python -m benchmarks.deblur_ablation --l1 runs/ablation_l1 --adv runs/ablation_adv --step 1500

Writes ``results/deblur_ablation_<device>.{md,csv,tex,json}`` and ``docs/deblur/ablation_step<step>.jpg``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch
import torchvision

from benchmarks.common import environment, write_results
from deblur.config import TrainConfig, config_from_dict, config_to_dict
from deblur.io import read_image, write_image
from deblur.train.log import read_metrics
from deblur.weights import upgrade_metadata

ROOT = Path(__file__).resolve().parent.parent


def strip_tiles(path: Path, rows: int = 4) -> list[list[torch.Tensor]]:
    """The tiles of a 3-column sample strip (blurred | restored | sharp), row by row."""
    image = read_image(path)
    side = (image.shape[1] - 2) // rows - 2
    return [
        [
            image[:, 2 + r * (side + 2) : 2 + r * (side + 2) + side, 2 + c * (side + 2) : 2 + c * (side + 2) + side]
            for c in range(3)
        ]
        for r in range(rows)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--l1", type=Path, default=ROOT / "runs" / "ablation_l1")
    parser.add_argument("--adv", type=Path, default=ROOT / "runs" / "ablation_adv")
    parser.add_argument("--step", type=int, default=1500)
    parser.add_argument("--name", help="stem of the result files and the figure (default: deblur_ablation_<device>)")
    args = parser.parse_args()
    rows, configs = [], {}
    for label, run in (("L1 only", args.l1), ("L1 + adversarial", args.adv)):
        meta = json.loads((run / "config.json").read_text())
        configs[label] = config_from_dict(TrainConfig, upgrade_metadata(meta)["config"])  # old runs read the same
        found = [m for m in read_metrics(run) if m.get("step") == args.step and "val_psnr" in m]
        if not found:
            raise SystemExit(f"{run} has no validation at step {args.step}")
        if not rows:
            rows.append(
                {
                    "method": "blurred input",
                    "val_psnr": meta["data"]["val_psnr_blurred"],
                    "val_ssim": meta["data"]["val_ssim_blurred"],
                }
            )
        rows.append({"method": label, "val_psnr": found[0]["val_psnr"], "val_ssim": found[0]["val_ssim"]})
    l1_run, adv_run = configs["L1 only"], configs["L1 + adversarial"]
    same_but_adv = dataclasses.replace(
        l1_run, out=adv_run.out, loss=dataclasses.replace(l1_run.loss, adv_weight=adv_run.loss.adv_weight)
    )
    if same_but_adv != adv_run:
        raise SystemExit("the runs differ in more than the adversarial weight (and their folders)")
    name = f"step_{args.step:07d}.png"
    l1, adv = strip_tiles(args.l1 / "samples" / name), strip_tiles(args.adv / "samples" / name)
    tiles = [t for a, b in zip(l1, adv, strict=True) for t in (a[0], a[1], b[1], a[2])]
    figure = ROOT / "docs" / "deblur" / (f"{args.name}.jpg" if args.name else f"ablation_step{args.step}.jpg")
    grid = torchvision.utils.make_grid(torch.stack(tiles), nrow=4, padding=2, pad_value=1)
    write_image(figure, grid, quality=85, overwrite=True)  # JPEG: a quarter of the PNG's size, as legible
    config = l1_run
    info = environment({"train": config.seed})
    info.update({"runs": [str(args.l1), str(args.adv)], "step": args.step, "train_config": config_to_dict(config)})
    caption = (
        f"Ablation at {args.step} steps (batch {config.batch}, {config.crop} px crops, {config.gen['name']} with "
        f"U-Net width {config.gen.get('refiner', config.gen).get('width', 32)}"
        + (f", started from {config.init}" if config.init else "")
        + f", PatchGAN width {config.disc.get('width', 64)}), identical runs but for the "
        f"adversarial weight (0 against 1, with 100 x L1): PSNR (dB) / SSIM on the fixed validation set, 16 centre "
        f"crops of {config.val_crop} px from held-out photos, RGB in [0, 1]. Figure: {figure.relative_to(ROOT)}."
    )
    device = "cuda" if "cuda" in config.device else "cpu"
    best = {(max(range(len(rows)), key=lambda i, c=c: rows[i][c]), c) for c in ("val_psnr", "val_ssim")}
    write_results(
        args.name or f"deblur_ablation_{device}", rows, ["method", "val_psnr", "val_ssim"], caption, info, bold=best
    )
    print(caption)
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
