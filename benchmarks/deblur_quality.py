"""Deblurring quality on held-out synthetic sets: models against the blurred input and non-blind deconvolution.

One set per kernel kind (linear motion, camera-shake trajectory, Gaussian, defocus; 31 px kernels; 1% Gaussian
noise) is made with ``deblur synth --valid`` (valid convolution: no border effect helps any method) from photos no
model trained or was tuned on — by default the Kodak24 evaluation set in ``../shared/data/eval/kodak24``. Methods
(``deblur.bench``): the blurred input; scikit-image's Wiener, unsupervised Wiener and Richardson-Lucy given the
*true* kernel, with the Wiener balance and the RL iteration count chosen on sets made from training photos
(``--tune``, default ``photos/set14``), never on the test photos; and every ``--model`` (default: the shipped
model). Tables per method (RGB and Y, 95% CIs, images worse than the input, runtimes) and per kernel kind, the
per-image CSV, the PSNR-vs-kernel-size plot and the crop grid are written by ``deblur.bench.write_bench``.

    python -m benchmarks.deblur_quality [--model a.safetensors ...] [--photos DIR] [--name NAME]

Writes ``results/<name>.{md,csv,tex,json}``, ``<name>_groups.*``, ``<name>_per_image.csv`` and two PNG plots.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import RESULTS
from deblur import bench
from deblur.config import SynthConfig
from deblur.device import resolve_device
from deblur.metrics import psnr
from deblur.restoration import default_model_path
from deblur.synth.folder import synthesize_folder

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
KINDS = ("motion", "trajectory", "gaussian", "defocus")
SEEDS = {"motion": 101, "trajectory": 102, "gaussian": 103, "defocus": 104}
WIENER_BALANCES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
RL_ITERATIONS = (5, 10, 20, 40)


def make_set(photos: Path, out: Path, kind: str, size: int, noise: float) -> Path:
    """A held-out set for one kernel kind (reused if it exists with the same settings)."""
    config = SynthConfig(kernels=(kind,), size=size, noise=(noise, noise), valid=True)
    manifest = out / "manifest.json"
    if manifest.exists():
        saved = json.loads(manifest.read_text())
        if (
            saved["config"]["kernels"] == [kind]
            and saved["source"] == str(photos.resolve())
            and saved["seed"] == SEEDS[kind]
        ):
            return out
    synthesize_folder(photos, out, config, seed=SEEDS[kind], overwrite=True, progress=False)
    return out


def load_sets(photos: Path, sets: Path, size: int, noise: float, limit: int | None) -> list[bench.BenchItem]:
    items = []
    for kind in KINDS:
        folder = make_set(photos, sets / f"{photos.name}_{kind}", kind, size, noise)
        items += [dataclasses.replace(i, name=f"{kind}/{i.name}") for i in bench.load_test_set(folder, limit=limit)]
    return items


def tune(items: list[bench.BenchItem]) -> tuple[float, int]:
    """The Wiener balance and RL iteration count with the best mean PSNR on ``items`` (training photos)."""

    def mean_psnr(method: bench.Method) -> float:  # bench.score's PSNR alone: tuning needs no SSIM
        values = [
            psnr(bench.quantize(method.fn(i).double(), i.bit_depth)[None], i.sharp.double().clamp(0, 1)[None])
            for i in items
        ]
        return float(np.mean([float(v[0]) for v in values]))

    balance = max(WIENER_BALANCES, key=lambda b: mean_psnr(bench.wiener(b)))
    iterations = max(RL_ITERATIONS, key=lambda n: mean_psnr(bench.richardson_lucy(n)))
    return balance, iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=DATA / "eval" / "kodak24")
    parser.add_argument("--tune", type=Path, default=DATA / "photos" / "set14")
    parser.add_argument("--sets", type=Path, default=ROOT / "runs" / "heldout")
    parser.add_argument("--model", type=Path, action="append", default=[], help="a .safetensors model (repeatable)")
    parser.add_argument("--size", type=int, default=31)
    parser.add_argument("--noise", type=float, default=0.01)
    parser.add_argument("--limit", type=int, help="first N photos of each set")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--name", default="deblur_quality")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-baselines", action="store_true", help="only the input and the models (quick check)")
    parser.add_argument("--role", default="never trained or tuned on", help="what the photos were to the models")
    parser.add_argument("--blind", action="store_true", help="models estimate each image's kernel (not given it)")
    args = parser.parse_args()
    models = args.model or [default_model_path()]

    methods = [bench.blurred_input()]
    if not args.no_baselines:
        tuning = load_sets(args.tune, args.sets, args.size, args.noise, limit=6)
        balance, iterations = tune(tuning)
        print(f"tuned on {len(tuning)} images of {args.tune}: Wiener balance {balance}, RL {iterations} iterations")
        methods += [bench.wiener(balance), bench.unsupervised_wiener(0), bench.richardson_lucy(iterations)]
    items = load_sets(args.photos, args.sets, args.size, args.noise, args.limit)
    device = resolve_device(args.device)
    methods += [bench.model(path, device, blind=args.blind) for path in models]
    torch.set_num_threads(torch.get_num_threads())
    rows, outputs = bench.run_bench(items, methods)
    description = (
        f"Held-out synthetic sets: {len(items)} images made by `deblur synth --valid` from {args.photos.name} "
        f"({args.role}), {args.size} px kernels of each kind ({', '.join(KINDS)}), {args.noise:g} Gaussian "
        f"noise."
        + (
            ""
            if args.no_baselines
            else f" Deconvolution is given the true kernel; its settings were chosen on {args.tune.name}."
        )
    )
    meta = bench.bench_meta(
        0,
        methods,
        {"photos": str(args.photos), "tune": str(args.tune), "synth_seeds": SEEDS, "kernel_size": args.size},
    )
    written = bench.write_bench(args.out, rows, items, outputs, description, meta, name=args.name)
    print(Path(written["summary"]).read_text())
    print(Path(written["groups"]).read_text())


if __name__ == "__main__":
    main()
