"""Non-blind deconvolution on Kodak24 x Levin et al.'s 8 camera-shake kernels, and its speed.

The protocol of ``deblur bench --sharp --kernels``: every Kodak24 photo blurred by every kernel (centred by its
centre of mass, as kernel banks are), valid convolution, 1% Gaussian noise (seed 0), PSNR/SSIM on RGB of outputs
rounded to 8 bits. Methods, all given the true kernel: scikit-image's Wiener (balance 0.02, as in the README's
table), unsupervised Wiener and Richardson-Lucy (20 iterations), and deblur's ``hl_deconv`` (hyper-Laplacian prior,
unknown border; prior weight 7e-4 chosen on photos/val20 x synthetic camera-shake kernels, never on Kodak24 or
Levin's kernels). Then the time of one 768x512 RGB deconvolution (27 px kernel; median of 7 after a warm-up).

    python -m benchmarks.deconv_nonblind [--limit N] [--no-quality]
    python -m benchmarks.deconv_nonblind --model models/kernel_aware_centred_adv.safetensors --no-speed

Writes ``results/deconv_levin_kodak24.*`` (deblur bench's tables and plots) and ``results/deconv_speed_<device>.*``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from benchmarks.common import RESULTS, environment, time_calls, write_results
from deblur import bench
from deblur.config import BenchConfig
from deblur.ops.deconv import hl_deconv, richardson_lucy, wiener_deconv

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "data" / "eval"


def speed(device: torch.device, repeats: int = 7) -> list[dict[str, object]]:
    """Seconds per 768x512 RGB image for each torch deconvolution."""
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, 512, 768, generator=generator).to(device)
    kernel = torch.rand(1, 27, 27, generator=generator).to(device)
    kernel = kernel / kernel.sum()
    methods = {
        "hl_deconv (masked border, 10 iterations)": lambda: hl_deconv(image, kernel),
        "hl_deconv (edge taper, 10 iterations)": lambda: hl_deconv(image, kernel, boundary="taper"),
        "wiener_deconv (estimated NSR)": lambda: wiener_deconv(image, kernel),
        "richardson_lucy (20 iterations)": lambda: richardson_lucy(image, kernel, 20),
    }
    timings = time_calls(methods, device, repeats=repeats, warmup=1)
    rows = [
        {
            "method": name,
            "median_s": round(timing["median_ms"] / 1000, 4),
            "min_s": round(timing["min_ms"] / 1000, 4),
            "max_s": round(timing["max_ms"] / 1000, 4),
        }
        for name, timing in timings.items()
    ]
    return rows


def default_name(args: argparse.Namespace) -> str:
    name = "deconv_levin_kodak24" if args.model is None else f"{args.model.stem}_levin_kodak24"
    name += f"_kernel_error_{args.kernel_error:g}" if args.kernel_error else ""
    name += "_blind" if getattr(args, "blind", False) else ""
    return name + ("_recentred" if args.kernel_error and args.recenter else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sharp", type=Path, default=EVAL / "kodak24")
    parser.add_argument("--kernels", type=Path, default=EVAL / "levin_kernels")
    parser.add_argument("--limit", type=int, help="first N photos only")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-quality", action="store_true", help="speed only")
    parser.add_argument("--no-speed", action="store_true", help="quality only")
    parser.add_argument(
        "--model", type=Path, help="score this model (kernel-aware: given the true kernels) instead of the baselines"
    )
    parser.add_argument("--name", help="stem of the result files")
    parser.add_argument(
        "--kernel-error",
        type=float,
        default=0.0,
        help="give the methods kernels perturbed at this strength (0-1: shifts, extent, smoothing, trails)",
    )
    parser.add_argument(
        "--recenter",
        action="store_true",
        help="centre the perturbed kernels by their centre of mass first, as deblur restore --kernel does",
    )
    parser.add_argument("--no-unsupervised", action="store_true", help="leave out unsupervised Wiener (slowest)")
    parser.add_argument("--both", action="store_true", help="the baselines and --model in one table")
    parser.add_argument(
        "--blind",
        action="store_true",
        help="--model estimates each kernel (not given it); adds the shift-tolerant PSNR and the kernels' correlation",
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    if not args.no_quality:
        kernels = args.kernels
        chosen = sorted(kernels.glob("levin_*.npy")) if kernels.is_dir() else []
        if chosen:  # the 8 kernels once: the folder also holds Levin09.mat, the same kernels again
            kernels = Path(tempfile.mkdtemp()) / "levin_kernels"  # the tables name the folder
            kernels.mkdir()
            for path in chosen:
                (kernels / path.name).symlink_to(path.resolve())
        config = BenchConfig(
            out=RESULTS,
            sharp=args.sharp,
            kernels=kernels,
            noise=0.01,
            kernel_error=args.kernel_error,
            recenter=args.recenter,
            overwrite=True,  # the results folder holds the latest run of each table
            models=(args.model,) if args.model else (),
            blind=args.blind,
            shift_tolerant=args.blind,
            baselines=args.model is None or args.both,  # the same items (seed 0) as the baselines' table
            unsupervised=not args.no_unsupervised,
            wiener_balance=0.02,
            hl_weight=7e-4,
            device=args.device,
            tile=0,
            limit=args.limit,
            name=args.name or default_name(args),
        )
        _, written = bench.benchmark(config)
        print(Path(written["summary"]).read_text())
    if args.no_speed:
        return
    rows = speed(device)
    caption = (
        f"Seconds per 768x512 RGB image (27 px kernel) on {device.type}, torch threads {torch.get_num_threads()}; "
        "median of 7 runs after a warm-up."
    )
    write_results(f"deconv_speed_{device.type}", rows, ["method", "median_s", "min_s", "max_s"], caption, environment())
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
