"""Restoration speed at 1280x720: the default deblurring U-Net against pix2pix's ``unet_256`` as a reference peer.

pix2pix's generator (Isola et al. 2017, ``unet_256``: eight stride-2 4x4 convolutions with 64..512 channels, batch
norm, a mirrored decoder with skips; 54.4 M parameters) is built here from the paper's description with random
weights. Both run in ``torch.inference_mode`` on one 1280x720 RGB image (pix2pix's needs sides divisible by 256, so
it gets 1280x768), NCHW and channels_last; steady-state median and spread over repeats after a warm-up, all
variants interleaved round by round. MACs are counted with ``torch.utils.flop_counter``.

    python -m benchmarks.restore_speed [--model models/x.safetensors] [--threads 2] [--repeats 7]

Writes ``results/restore_speed_<device>.{md,csv,tex,json}``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.common import environment, time_calls, write_results
from deblur.config import TrainConfig
from deblur.device import resolve_device
from deblur.train.run import build_networks


class Pix2PixBlock(nn.Module):
    """One level of pix2pix's U-Net: down, the inner levels, up, with the skip concatenated."""

    def __init__(self, outer: int, inner: int, sub: nn.Module | None, outermost: bool = False) -> None:
        super().__init__()
        down = [nn.LeakyReLU(0.2), nn.Conv2d(outer if not outermost else 3, inner, 4, 2, 1, bias=False)]
        if outermost:
            down = down[1:]
        elif sub is not None:
            down.append(nn.BatchNorm2d(inner))
        up_in = inner * 2 if sub is not None else inner
        up: list[nn.Module] = [nn.ReLU(), nn.ConvTranspose2d(up_in, outer if not outermost else 3, 4, 2, 1)]
        up += [nn.Tanh()] if outermost else [nn.BatchNorm2d(outer)]
        self.outermost = outermost
        self.model = nn.Sequential(*down, *([sub] if sub is not None else []), *up)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


def pix2pix_unet_256(width: int = 64) -> nn.Module:
    block = Pix2PixBlock(width * 8, width * 8, None)  # innermost
    for _ in range(3):
        block = Pix2PixBlock(width * 8, width * 8, block)
    for mult in (4, 2, 1):
        block = Pix2PixBlock(width * mult, width * mult * 2, block)
    return Pix2PixBlock(width, width, block, outermost=True).eval()


def macs(net: nn.Module, x: torch.Tensor) -> float:
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        net(x)
    return counter.get_total_flops() / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a deblurring model file (default: the default architecture, random weights)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    if args.model:
        from deblur.restoration import load_restorer

        ours, _ = load_restorer(args.model, device)
    else:
        default = TrainConfig(data=("unused",))
        ours, _ = build_networks(default.gen, default.disc)
    nets: dict[str, tuple[nn.Module, torch.Tensor]] = {
        "deblur U-Net (default)": (ours.eval().to(device), torch.rand(1, 3, 720, 1280, device=device)),
        "pix2pix unet_256": (pix2pix_unet_256().to(device), torch.rand(1, 3, 768, 1280, device=device)),
    }
    calls: dict[str, Any] = {}
    info: dict[str, dict[str, float]] = {}
    for name, (net, x) in nets.items():
        info[name] = {"params_m": sum(p.numel() for p in net.parameters()) / 1e6, "gmacs": macs(net, x) / 1e9}
        info[name]["gmacs_per_mp"] = info[name]["gmacs"] / (x.shape[-1] * x.shape[-2] / 1e6)
        for layout in ("nchw", "channels_last"):
            fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
            net_l, x_l = net.to(memory_format=fmt), x.contiguous(memory_format=fmt)

            def call(net: nn.Module = net_l, x: torch.Tensor = x_l) -> None:
                with torch.inference_mode():
                    net(x)

            calls[f"{name}|{layout}"] = call
            net.to(memory_format=torch.contiguous_format)
    # the public path every user takes: deblur.restore on a uint8 photo (conversions, tiling, clamping included)
    import tempfile

    from deblur.restoration import restore
    from deblur.weights import save_model

    photo = (torch.rand(720, 1280, 3) * 255).to(torch.uint8).numpy()
    model_file = Path(tempfile.mkdtemp()) / "model.safetensors"
    save_model(model_file, ours.to(memory_format=torch.contiguous_format).cpu(), {"task": "deblur"})
    ours.to(device)
    public = {
        "restore(photo, net, tile=None)": lambda: restore(photo, ours, tile=None, device=device),
        "restore(photo, net)": lambda: restore(photo, ours, device=device),
        "restore(photo, model file)": lambda: restore(photo, model_file, device=device),
    }
    for name, fn in public.items():
        calls[f"{name}|public"] = fn
        info[name] = info["deblur U-Net (default)"]
    timings = time_calls(calls, device, repeats=args.repeats, warmup=2)
    rows = []
    for key, timing in timings.items():
        name, layout = key.split("|")
        seconds = timing["median_ms"] / 1000
        rows.append(
            {
                "network": name,
                "layout": layout,
                "seconds": seconds,
                "iqr_ms": timing["q3_ms"] - timing["q1_ms"],
                "params_m": info[name]["params_m"],
                "gmacs": info[name]["gmacs"],
                "gmacs_per_mp": info[name]["gmacs_per_mp"],
                "gflops_per_s": 2 * info[name]["gmacs"] / seconds,
            }
        )
        print(rows[-1], flush=True)
    meta = environment({"weights": 0})
    where = meta["gpu"] or f"{meta['cpu']}, {meta['torch_threads']} threads"
    caption = (
        f"One 1280x720 RGB image (pix2pix: 1280x768), torch.inference_mode, fp32, median of {args.repeats} runs "
        f"after 2 warm-up runs, variants interleaved; {where}. MACs from torch.utils.flop_counter. The public rows "
        "time deblur.restore on a uint8 1280x720 photo with the default network (conversions, tiling and clamping "
        "included); vs_bare_net is their time over the bare network's (channels_last)."
    )
    bare = next(r["seconds"] for r in rows if r["network"].startswith("deblur") and r["layout"] == "channels_last")
    for row in rows:
        row["vs_bare_net"] = round(row["seconds"] / bare, 2)
    columns = ["network", "layout", "seconds", "vs_bare_net", "iqr_ms", "params_m", "gmacs", "gmacs_per_mp"]
    columns.append("gflops_per_s")
    write_results(f"restore_speed_{device.type}", rows, columns, caption, meta)
    print(caption)


if __name__ == "__main__":
    main()
