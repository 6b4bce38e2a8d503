"""Speed of blur synthesis: direct vs FFT convolution by kernel size, and a whole synthetic batch.

Measures, on every available device (or the one named with --device):

1. per-sample blur of a 16 x 3 x 256 x 256 batch with kornia ``filter2d`` (direct) and ``fft_conv`` (FFT) for
   kernel sizes 3-65 px, and the crossover: the smallest size from which FFT is faster at every larger size;
2. one synthetic batch: 16 x 3 x 256 x 256 with per-sample 31 x 31 kernels plus Gaussian noise: applying given
   parameters (``degrade``, with each convolution method), drawing them (``sample_params``, camera-shake kernels
   on the CPU), and both.

Timing: 5 warm-up rounds, then the median and interquartile range of 20 (CPU) or 50 (GPU) synchronised calls,
the methods compared called in turn within each round so that they see the same machine state.
Writes ``results/synth_speed_<device>.{csv,md,tex,json}``.

    python benchmarks/synth_speed.py [--device cpu|cuda] [--threads N]
"""

from __future__ import annotations

import argparse

import torch

from benchmarks.common import environment, time_calls, write_results
from deblur.config import SynthConfig
from deblur.ops.conv import FFT_FROM_KERNEL_SIZE, blur
from deblur.synth import degrade, random_trajectory_kernels, sample_params

SIZES = (3, 5, 9, 13, 17, 21, 25, 31, 37, 41, 45, 51, 57, 65)
BATCH, CHANNELS, SIDE = 16, 3, 256


def crossover(rows: list[dict]) -> int | None:
    """Smallest kernel size from which FFT is faster at this and every larger size."""
    best = None
    for row in reversed(rows):
        if row["fft_ms"] < row["direct_ms"]:
            best = row["size"]
        else:
            break
    return best


def run(device: torch.device, seed: int = 0) -> None:
    repeats = 50 if device.type == "cuda" else 20
    generator = torch.Generator().manual_seed(seed)
    sharp = torch.rand(BATCH, CHANNELS, SIDE, SIDE, generator=generator).to(device)
    rows = []
    for size in SIZES:
        kernels = random_trajectory_kernels(BATCH, size, generator, device)
        timings = time_calls(
            {
                "direct": lambda k=kernels: blur(sharp, k, method="direct"),
                "fft": lambda k=kernels: blur(sharp, k, method="fft"),
            },
            device,
            repeats,
        )
        direct, fft = timings["direct"], timings["fft"]
        rows.append(
            {
                "size": size,
                "direct_ms": direct["median_ms"],
                "direct_iqr_ms": direct["q3_ms"] - direct["q1_ms"],
                "fft_ms": fft["median_ms"],
                "fft_iqr_ms": fft["q3_ms"] - fft["q1_ms"],
                "faster": "fft" if fft["median_ms"] < direct["median_ms"] else "direct",
            }
        )
        print(f"{device.type} k={size:2d}: direct {direct['median_ms']:8.3f} ms   fft {fft['median_ms']:8.3f} ms")
    cross = crossover(rows)

    calls = {}
    for conv in ("auto", "direct", "fft"):
        config = SynthConfig(kernels=("trajectory",), size=31, noise=(0.01, 0.01), conv=conv)
        params = sample_params(config, BATCH, torch.Generator().manual_seed(seed), device)
        calls[f"degrade_{conv}"] = lambda p=params: degrade(sharp, p)
    params_gen = torch.Generator().manual_seed(seed)
    config = SynthConfig(kernels=("trajectory",), size=31, noise=(0.01, 0.01))
    calls["sample_params"] = lambda: sample_params(config, BATCH, params_gen, device)
    calls["sample_and_degrade"] = lambda: degrade(sharp, sample_params(config, BATCH, params_gen, device))
    synthesis = time_calls(calls, device, repeats)
    apply_only, full = synthesis["degrade_auto"], synthesis["sample_and_degrade"]
    for name, timing in synthesis.items():
        print(
            f"{device.type} batch 16x3x256x256, 31 px trajectory kernels + noise, {name}: {timing['median_ms']:.3f} ms"
        )
    print(f"{device.type}: FFT faster from {cross} px")

    meta = environment({"torch": seed})
    meta.update(
        {
            "device": str(device),
            "batch": [BATCH, CHANNELS, SIDE, SIDE],
            "crossover_size": cross,
            "synthesis_31px_trajectory_noise": synthesis,
            "fft_from_kernel_size_in_use": FFT_FROM_KERNEL_SIZE,
        }
    )
    columns = ["size", "direct_ms", "direct_iqr_ms", "fft_ms", "fft_iqr_ms", "faster"]
    bold = {(i, "direct_ms" if r["faster"] == "direct" else "fft_ms") for i, r in enumerate(rows)}
    caption = (
        f"Per-sample blur of a {BATCH}x{CHANNELS}x{SIDE}x{SIDE} batch on {meta['gpu'] or meta['cpu']} "
        f"({meta['torch_threads']} threads): median and IQR of {repeats} calls in ms. FFT is faster from {cross} px. "
        f"One synthetic batch with 31 px kernels and noise: {apply_only['median_ms']:.2f} ms to apply given "
        f"parameters, "
        f"{full['median_ms']:.2f} ms drawing camera-shake kernels too."
    )
    print(write_results(f"synth_speed_{device.type}", rows, columns, caption, meta, bold=bold).read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], action="append", help="default: every available device")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.device or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    for name in devices:
        run(torch.device(name), args.seed)


if __name__ == "__main__":
    main()
