"""Deblurring quality on held-out synthetic sets: models against the blurred input and non-blind deconvolution.

For each kernel kind (linear motion, camera-shake trajectory, Gaussian; 31 px; 1% Gaussian noise) a set is made
with ``deblur synth --valid`` (valid convolution, so no border effect helps any method) from held-out photos that
no model trained on (default: ``../shared/data/photos/val20``, which ``deblur train --val`` keeps out). Methods:
the blurred input; scikit-image's Wiener and Richardson-Lucy deconvolution given the *true* kernel (per channel,
on a reflect-padded image, cropped back), with the Wiener balance and the RL iteration count chosen on a set made
from training photos (``--tune``, default ``photos/set14``), never on the held-out photos; and every ``--model``.
PSNR and SSIM are computed on RGB in [0, 1] (SSIM: Gaussian window, sigma 1.5, as scikit-image), per image, then
averaged per kind; 95% confidence intervals from the per-image spread.

    python -m benchmarks.deblur_quality --model models/a.safetensors [--model b.safetensors] [--name quality]

Writes ``results/<name>.{md,csv,tex,json}`` and ``results/<name>_per_image.csv``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.common import RESULTS, environment, write_results
from deblur.config import SynthConfig
from deblur.io import read_image
from deblur.metrics import psnr, ssim
from deblur.synth.folder import synthesize_folder
from deblur.weights import load_model

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("motion", "trajectory", "gaussian")
SEEDS = {"motion": 101, "trajectory": 102, "gaussian": 103}
WIENER_BALANCES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
RL_ITERATIONS = (5, 10, 20, 40)


def make_set(photos: Path, out: Path, kind: str, size: int, noise: float) -> Path:
    """A held-out set for one kernel kind (reused if it exists with the same settings)."""
    config = SynthConfig(kernels=(kind,), size=size, noise=(noise, noise), valid=True)
    manifest = out / "manifest.json"
    if manifest.exists() and json.loads(manifest.read_text())["config"]["kernels"] == [kind]:
        return out
    synthesize_folder(photos, out, config, seed=SEEDS[kind], overwrite=True, progress=False)
    return out


def load_set(folder: Path) -> list[dict[str, Any]]:
    items = json.loads((folder / "manifest.json").read_text())["items"]
    return [
        {
            "name": item["name"],
            "kind": item["kind"],
            "blurred": read_image(folder / item["blurred"]),
            "sharp": read_image(folder / item["sharp"]),
            "kernel": np.load(folder / item["kernel"]).astype(np.float64),
        }
        for item in items
    ]


def _per_channel(image: torch.Tensor, kernel: np.ndarray, fn: Any) -> torch.Tensor:
    pad = kernel.shape[0]
    array = image.double().numpy()
    out = []
    for channel in array:
        padded = np.pad(channel, pad, mode="reflect")
        out.append(np.clip(fn(padded, kernel), 0, 1)[pad:-pad, pad:-pad])
    return torch.from_numpy(np.stack(out)).float()


def wiener(image: torch.Tensor, kernel: np.ndarray, balance: float) -> torch.Tensor:
    from skimage.restoration import wiener as sk_wiener

    return _per_channel(image, kernel, lambda x, k: sk_wiener(x, k, balance))


def richardson_lucy(image: torch.Tensor, kernel: np.ndarray, iterations: int) -> torch.Tensor:
    from skimage.restoration import richardson_lucy as sk_rl

    return _per_channel(image, kernel, lambda x, k: sk_rl(x, k, num_iter=iterations, clip=True))


def score(restored: torch.Tensor, sharp: torch.Tensor) -> tuple[float, float]:
    return float(psnr(restored[None], sharp[None])[0]), float(ssim(restored[None], sharp[None])[0])


def tune(items: list[dict[str, Any]]) -> tuple[float, int]:
    """The Wiener balance and RL iteration count with the best mean PSNR on ``items`` (training photos)."""
    best_balance = max(
        WIENER_BALANCES,
        key=lambda b: np.mean([score(wiener(i["blurred"], i["kernel"], b), i["sharp"])[0] for i in items]),
    )
    best_iterations = max(
        RL_ITERATIONS,
        key=lambda n: np.mean([score(richardson_lucy(i["blurred"], i["kernel"], n), i["sharp"])[0] for i in items]),
    )
    return best_balance, best_iterations


@torch.no_grad()
def run_model(net: torch.nn.Module, image: torch.Tensor) -> torch.Tensor:
    return net(image[None]).clamp(0, 1)[0]


def mean_ci(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% confidence interval (normal approximation)."""
    mean = float(np.mean(values))
    half = 1.96 * float(np.std(values, ddof=1)) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return mean, half


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=ROOT.parent / "shared" / "data" / "photos" / "val20")
    parser.add_argument("--tune", type=Path, default=ROOT.parent / "shared" / "data" / "photos" / "set14")
    parser.add_argument("--sets", type=Path, default=ROOT / "runs" / "heldout")
    parser.add_argument("--model", type=Path, action="append", default=[], help="a .safetensors model (repeatable)")
    parser.add_argument("--label", action="append", default=[], help="table name of each --model, in order")
    parser.add_argument("--size", type=int, default=31)
    parser.add_argument("--noise", type=float, default=0.01)
    parser.add_argument("--name", default="deblur_quality")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())

    tuning = [
        item
        for kind in KINDS
        for item in load_set(make_set(args.tune, args.sets / f"tune_{kind}", kind, args.size, args.noise))
    ]
    balance, iterations = tune(tuning)
    print(f"tuned on {len(tuning)} images of {args.tune}: Wiener balance {balance}, RL {iterations} iterations")

    methods: dict[str, Any] = {
        "blurred input": lambda image, kernel: image,
        f"Wiener (true kernel, balance {balance})": lambda image, kernel: wiener(image, kernel, balance),
        f"Richardson-Lucy (true kernel, {iterations} it.)": lambda image, kernel: richardson_lucy(
            image, kernel, iterations
        ),
    }
    labels = args.label + [path.stem for path in args.model[len(args.label) :]]
    for label, path in zip(labels, args.model, strict=True):
        net, _ = load_model(path)
        methods[label] = lambda image, kernel, net=net: run_model(net, image)

    per_image: list[dict[str, Any]] = []
    for kind in KINDS:
        for item in load_set(make_set(args.photos, args.sets / kind, kind, args.size, args.noise)):
            for method, fn in methods.items():
                start = time.perf_counter()
                restored = fn(item["blurred"], item["kernel"])
                seconds = time.perf_counter() - start
                value_psnr, value_ssim = score(restored, item["sharp"])
                per_image.append(
                    {
                        "method": method,
                        "kind": kind,
                        "image": item["name"],
                        "psnr": value_psnr,
                        "ssim": value_ssim,
                        "seconds": seconds,
                    }
                )
        print(f"{kind}: done", flush=True)

    rows = []
    for method in methods:
        row: dict[str, Any] = {"method": method}
        for kind in (*KINDS, "all"):
            chosen = [r for r in per_image if r["method"] == method and (kind == "all" or r["kind"] == kind)]
            row[f"{kind}_psnr"], row[f"{kind}_psnr_ci"] = mean_ci([r["psnr"] for r in chosen])
            row[f"{kind}_ssim"], _ = mean_ci([r["ssim"] for r in chosen])
        blurred = [r["psnr"] for r in per_image if r["method"] == "blurred input"]
        mine = [r["psnr"] for r in per_image if r["method"] == method]
        row["worse_than_input"] = sum(m < b for m, b in zip(mine, blurred, strict=True))
        row["seconds_per_image"] = float(np.median([r["seconds"] for r in per_image if r["method"] == method]))
        rows.append(row)
    columns = ["method"] + [f"{k}_{m}" for k in (*KINDS, "all") for m in ("psnr", "ssim")]
    columns += ["all_psnr_ci", "worse_than_input", "seconds_per_image"]
    bold = set()
    for column in columns[1:-3]:
        best = max(range(len(rows)), key=lambda i, c=column: rows[i][c])
        bold.add((best, column))
    count = len(per_image) // len(methods)
    caption = (
        f"Held-out synthetic sets: {count} images made by `deblur synth --valid` from {args.photos.name} (never "
        f"trained or tuned on), {args.size} px kernels of each kind, {args.noise:.0%} Gaussian noise. PSNR (dB) and "
        f"SSIM on RGB in [0, 1], per image then mean; `all_psnr_ci` is the 95% CI half-width; "
        f"`worse_than_input` counts images restored below the blurred input's PSNR. Deconvolution is given the true "
        f"kernel; its settings were chosen on {args.tune.name}."
    )
    meta = environment({"synth": SEEDS[KINDS[0]]})
    meta.update({"models": [str(p) for p in args.model], "wiener_balance": balance, "rl_iterations": iterations})
    write_results(args.name, rows, columns, caption, meta, bold=bold)
    with open(RESULTS / f"{args.name}_per_image.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(per_image[0]))
        writer.writeheader()
        writer.writerows(per_image)
    print(caption)
    for row in rows:
        print(f"{row['method']:45s} " + " ".join(f"{row[c]:.4g}" for c in columns[1:]))


if __name__ == "__main__":
    main()
