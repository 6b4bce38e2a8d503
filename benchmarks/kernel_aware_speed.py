"""Speed of a kernel-aware model at 1280x720 on this machine: the whole forward pass, its deconvolution and its
refiner (fp32 and, on CPUs with native bf16, bf16 autocast), with the share of time spent in FFTs and the
arithmetic rate.

One 1280x720 RGB image and a 27 px kernel, ``torch.inference_mode``, the image channels_last as ``deblur restore``
passes it; medians and interquartile ranges over repeats after a warm-up, the variants interleaved round by round.
FLOPs: the refiner's convolutions are counted with ``torch.utils.flop_counter``; each real FFT of ``N`` points is
counted as ``2.5 N log2 N`` (half the complex transform's ``5 N log2 N``), the usual convention; elementwise work
(shrinkage, the ADMM updates) is not counted, so the GFLOP/s figures are lower bounds. The FFT share is the
profiler's self time in ``aten::_fft_*`` over the whole forward pass.

    python -m benchmarks.kernel_aware_speed [--model models/kernel_aware_centred_adv.safetensors] [--repeats 7]

Writes ``results/<model>_speed_cpu.{md,csv,tex,json}``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.common import environment, time_calls, write_results
from deblur.ops.fft import deconv_grid
from deblur.weights import load_model

ROOT = Path(__file__).resolve().parent.parent


def fft_flops(net: torch.nn.Module, image: torch.Tensor, kernel: torch.Tensor) -> float:
    """FLOPs of the deconvolution's FFTs by the ``2.5 N log2 N`` convention: 4 real transforms per ADMM
    iteration and 2 to start, each over the channels of the padded grid."""
    (height, width), _ = deconv_grid(image, kernel)
    points = image.shape[0] * image.shape[1] * height * width
    transforms = 4 * net.iterations + 3  # and the OTF of the kernel and of the differences (small, counted)
    solves = 1 + (getattr(net, "sharp_factor", None) is not None)  # the sharper deconvolution doubles the batch
    wiener = 2 if getattr(net, "wiener_nsr", None) is not None else 0  # one more FFT pair
    return (solves * transforms + wiener) * 2.5 * points * math.log2(height * width)


def fft_share(fn: Callable[[], object]) -> float:
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    ffts = sum(e.self_cpu_time_total for e in events if e.key.startswith("aten::_fft"))
    return ffts / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "kernel_aware_centred_adv.safetensors")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    net, info = load_model(args.model)
    net.eval()
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, 720, 1280, generator=generator).contiguous(memory_format=torch.channels_last)
    kernel = torch.rand(1, 27, 27, generator=generator)
    kernel = kernel / kernel.sum()
    deconvolved, condition = net.refiner_inputs(image, kernel)  # the blurred image and any other branch

    def forward(bf16: bool):
        def run() -> torch.Tensor:
            net.cpu_bf16 = bf16
            return net(image, kernel)

        return run

    def refiner(bf16: bool):
        def run() -> torch.Tensor:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                return net.refiner(deconvolved, condition=condition)

        return run

    fns = {
        "model (refiner bf16)": forward(True),
        "model (fp32)": forward(False),
        "deconvolution": lambda: net.deconvolve(image, kernel),
        "refiner bf16": refiner(True),
        "refiner fp32": refiner(False),
    }
    with torch.inference_mode():
        times = time_calls(fns, torch.device("cpu"), repeats=args.repeats, warmup=2)
        with FlopCounterMode(display=False) as counter:
            net.refiner(deconvolved, condition=condition)
        refiner_flops = counter.get_total_flops()
        transform_flops = fft_flops(net, image, kernel)
        share = {name: fft_share(fn) for name, fn in fns.items() if name.startswith("model")}
    flops = {
        "model (refiner bf16)": refiner_flops + transform_flops,
        "model (fp32)": refiner_flops + transform_flops,
        "deconvolution": transform_flops,
        "refiner bf16": refiner_flops,
        "refiner fp32": refiner_flops,
    }
    rows = []
    for name, timing in times.items():
        seconds = timing["median_ms"] / 1000
        rows.append(
            {
                "part": name,
                "median_s": round(seconds, 3),
                "q1_s": round(timing["q1_ms"] / 1000, 3),
                "q3_s": round(timing["q3_ms"] / 1000, 3),
                "gflop": round(flops[name] / 1e9, 2),
                "gflop_per_s": round(flops[name] / 1e9 / seconds, 1),
                "fft_share": round(share[name], 2) if name in share else "",
            }
        )
    spec = info["net"]
    caption = (
        f"{args.model.name} at 1280x720 RGB, 27 px kernel, on the CPU with {torch.get_num_threads()} torch threads: "
        f"{spec.get('iterations')} ADMM iterations (beta_max {spec.get('beta_max', 256)}), refiner "
        f"{spec['refiner']}; median of {args.repeats} after a warm-up. GFLOP: refiner convolutions counted, FFTs "
        "at 2.5 N log2 N, elementwise work not counted. FFT share: profiler self time in aten::_fft_* over the "
        "whole forward pass."
    )
    write_results(
        f"{args.model.stem}_speed_cpu",
        rows,
        ["part", "median_s", "q1_s", "q3_s", "gflop", "gflop_per_s", "fft_share"],
        caption,
        environment(),
    )
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
