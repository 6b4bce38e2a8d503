"""Training throughput of the deblurring trainer, in images per second, at 256x256 crops and batch 16.

Each timed step is a whole training step as ``deblur train`` runs it: synthesising the batch's blur on the device
(camera shake, linear motion and Gaussian kernels of 31 px, noise), one discriminator step and one generator step
(adversarial + L1). Data loading is excluded (crops come from memory), so this is the compute bound. On a GPU the
script also tries bf16 autocast, channels_last and ``torch.compile``, and reports the share of the step the GPU
is busy. Median and interquartile range over repeated steps after a warm-up.

    python -m benchmarks.train_speed [--device cpu] [--steps 10] [--width 16]

Writes ``results/train_speed_<device>.{md,csv,tex,json}``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from benchmarks.common import environment, write_results
from deblur.config import DEFAULT_TRAIN_SYNTH, TrainConfig
from deblur.device import resolve_device
from deblur.synth.degrade import degrade, sample_params
from deblur.train.loop import autocast
from deblur.train.objectives import DeblurObjective
from deblur.train.run import build_networks


def measure(
    config: TrainConfig, device: torch.device, steps: int, precision: str, channels_last: bool, compile_: bool
) -> dict[str, Any]:
    torch.manual_seed(0)
    gen, disc = build_networks(config.gen, config.disc)
    gen, disc = gen.to(device), disc.to(device)
    if channels_last:
        gen, disc = gen.to(memory_format=torch.channels_last), disc.to(memory_format=torch.channels_last)
    step_gen, step_disc = (torch.compile(gen), torch.compile(disc)) if compile_ else (gen, disc)
    opt_g = torch.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999))
    objective = DeblurObjective()
    sharp = torch.rand(config.batch, 3, config.crop, config.crop, generator=torch.Generator().manual_seed(0)).to(device)
    generator = torch.Generator().manual_seed(0)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    def update(loss_fn: Callable[..., tuple[torch.Tensor, Any]], optimizer: torch.optim.Optimizer, batch: dict) -> None:
        with autocast(device, precision):
            loss, _ = loss_fn(step_gen, step_disc, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def step() -> None:
        params = sample_params(DEFAULT_TRAIN_SYNTH, config.batch, generator, device)
        batch = {"blurred": degrade(sharp, params), "sharp": sharp}
        if channels_last:
            batch = {k: v.contiguous(memory_format=torch.channels_last) for k, v in batch.items()}
        update(objective.d_loss, opt_d, batch)
        disc.requires_grad_(False)  # the G step's gradient does not reach D's weights
        update(objective.g_loss, opt_g, batch)
        disc.requires_grad_(True)

    for _ in range(3):
        step()
    sync()
    times = []
    busy = []
    for _ in range(steps):
        start = time.perf_counter()
        if device.type == "cuda":
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
        step()
        if device.type == "cuda":
            end.record()
        sync()
        wall = time.perf_counter() - start
        times.append(wall)
        if device.type == "cuda":
            busy.append(begin.elapsed_time(end) / 1000 / wall)
    median = statistics.median(times)
    quartiles = statistics.quantiles(times, n=4) if len(times) > 1 else [median, median, median]
    return {
        "images_per_s": config.batch / median,
        "step_ms": 1000 * median,
        "step_ms_iqr": 1000 * (quartiles[2] - quartiles[0]),
        "gpu_busy": statistics.median(busy) if busy else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--width", type=int, default=TrainConfig(data=("unused",)).gen["width"])
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    config = TrainConfig(data=("unused",), batch=args.batch, crop=args.crop, gen={"name": "unet", "width": args.width})
    variants = [("fp32", False, False)]
    if device.type == "cuda":
        variants += [("bf16", False, False), ("bf16", True, False), ("bf16", True, True)]
    rows = []
    for precision, channels_last, compile_ in variants:
        result = measure(config, device, args.steps, precision, channels_last, compile_)
        rows.append(
            {
                "variant": f"{precision}{' channels_last' if channels_last else ''}{' compile' if compile_ else ''}",
                "width": args.width,
                **result,
            }
        )
        print(rows[-1], flush=True)
    meta = environment({"data": 0})
    meta.update({"batch": args.batch, "crop": args.crop, "steps": args.steps})
    where = meta["gpu"] or f"{meta['cpu']} ({meta['torch_threads']} threads)"
    caption = (
        f"Deblurring training throughput: one step = on-device blur synthesis (31 px kernels) + D step + G step "
        f"(non-saturating + L1), {args.crop}x{args.crop} crops, batch {args.batch}, U-Net width {args.width}; "
        f"median of {args.steps} steps after 3 warm-up steps on {where}."
    )
    columns = ["variant", "width", "images_per_s", "step_ms", "step_ms_iqr", "gpu_busy"]
    write_results(f"train_speed_{device.type}", rows, columns, caption, meta)
    print(caption)


if __name__ == "__main__":
    main()
