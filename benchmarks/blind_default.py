"""The blind default model's own checks: sharp photos left alone, speed at 1280x720, and real blurred photos.

1. *Sharp photos come back nearly unchanged*: every photo of ``--sharp`` (default: Kodak24, evaluation only, never
   tuned on) is restored blind as it is, unblurred, and scored against itself (PSNR after 8-bit rounding; a photo
   returned untouched scores infinity, reported as 99 dB).
2. *Speed*: one 1280x720 photo (a Kodak24 photo resized, blurred by a 31 px camera-shake kernel, 1% noise) restored
   blind with ``deblur.restore`` on ``--threads`` CPU threads: kernel estimation, then deconvolution and refinement,
   and the whole call; medians over ``--repeats`` after a warm-up.
3. *Real blurred photos* (``--figure``): before/after crops of scikit-image's clock and of ``eval/real_blur`` photos
   with their estimated kernels, as one PNG for the model card.

    python -m benchmarks.blind_default --model blind.safetensors [--threads 2] [--figure]

Writes ``results/<model>_sharp.*``, ``results/<model>_speed_cpu.*``, ``docs/deblur/<model>_real_blur.jpg`` and
``docs/deblur/<model>_example.jpg`` (the README's example photo).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import environment, write_results
from deblur import restore
from deblur.io import list_images, read_image
from deblur.metrics import psnr
from deblur.ops.conv import blur
from deblur.restoration import (
    BlindRestorer,
    WithKernel,
    auto_tile,
    blind_settings,
    default_model_path,
    load_restorer,
    restore_tensor,
)
from deblur.synth.kernels import random_trajectory_kernels

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "data" / "eval"


def sharp_check(net: Path, folder: Path) -> list[dict]:
    """Each sharp photo restored blind (by the model file ``net``, with its recommended settings) and scored
    against itself."""
    rows = []
    for path in list_images(folder):
        sharp = read_image(path)
        found: list = []
        restored = restore(sharp, net, estimates=found)
        levels = 255.0
        rounded = (restored.clamp(0, 1) * levels).round() / levels
        value = float(psnr(rounded[None].double(), ((sharp * levels).round() / levels)[None].double())[0])
        estimate = found[0]
        rows.append(
            {
                "image": path.stem,
                "PSNR": 99.0 if not math.isfinite(value) else value,
                "unchanged": bool(estimate.applied == 0),
                "blur-free": bool(estimate.blur_free),
                "confidence": estimate.confidence,
            }
        )
    return rows


def speed(model: Path, photo: Path, repeats: int, kernel_size: int | None = None) -> list[dict]:
    """Median seconds of blind restoration of one 1280x720 photo: estimation, the rest, and the whole call."""
    image = read_image(photo)[None]
    image = torch.nn.functional.interpolate(image, size=(720 + 30, 1280 + 30), mode="bilinear", antialias=True)
    kernel = random_trajectory_kernels(1, 31, torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(0)
    blurred = blur(image, kernel, padding="valid")
    blurred = (blurred + 0.01 * torch.randn(blurred.shape, generator=generator)).clamp(0, 1)
    # a confidence floor of 0 times the whole pipeline even if this photo's self-check would skip it
    restorer = BlindRestorer.from_file(model, kernel_size=kernel_size, min_confidence=0.0)
    times: dict[str, list[float]] = {"kernel estimation": [], "restoration with the kernel": [], "total": []}
    for round_ in range(repeats + 1):
        start = time.perf_counter()
        found = restorer.estimate(blurred)
        estimated = time.perf_counter() - start
        # restored at full strength whatever the critic decided for this photo, so that the whole pipeline is timed
        start = time.perf_counter()
        overlap = max(32, found.kernel.shape[-1])
        restore_tensor(WithKernel(restorer.net, found.kernel), blurred, auto_tile(), overlap)
        restored = time.perf_counter() - start
        if round_:  # the first round warms up
            times["kernel estimation"].append(estimated)
            times["restoration with the kernel"].append(restored)
            times["total"].append(estimated + restored)
    rows = [
        {"step": name, "median_s": float(np.median(v)), "min_s": min(v), "max_s": max(v)} for name, v in times.items()
    ]
    return rows


def figure(net: Path, out: Path, sources: list[Path] | None = None, side: int = 320) -> Path:
    """Before/after of the clock and of real blurred photos (or of ``sources``), the middle ``side`` x ``side`` px
    of each, with each estimated kernel in the corner (the model file ``net`` with its recommended settings)."""
    import cv2

    from deblur.io import write_image

    if sources is None:
        sources = [ROOT / "examples" / "blurred" / "clock.png"]
        sources += [EVAL / "real_blur" / "koehler" / f"Blurry{i}_1.png" for i in (1, 3)]
        # photos whose file names give the kernel size their authors used (55, 65, 79, 99 px)
        misc = ("test3_blur_55", "0015_blur65", "2013622235456945_blur_79", "color_patch_blur_99")
        sources += [EVAL / "real_blur" / "misc" / f"{name}.png" for name in misc]
    rows = []
    for path in sources:
        blurred = read_image(path)
        found: list = []
        restored = restore(blurred, net, estimates=found)
        height, width = blurred.shape[-2:]
        top, left = max(0, (height - side) // 2), max(0, (width - side) // 2)
        crop = (slice(None), slice(top, top + side), slice(left, left + side))
        before, after = blurred[crop], restored[crop].clamp(0, 1)
        kernel = found[0].kernel
        estimate = found[0]
        gain = "-" if estimate.predicted_gain is None else f"{estimate.predicted_gain:+.1f} dB"
        print(f"{path.name}: {estimate.found.method}, predicted {gain}, strength {estimate.applied:.2f}")
        picture = torch.from_numpy(
            cv2.resize((kernel / kernel.max()).numpy(), (96, 96), interpolation=cv2.INTER_NEAREST)
        ).expand(3, -1, -1)
        after = after.clone()
        after[:, :96, -96:] = picture  # the kernel in the top-right corner
        pad = torch.ones(3, before.shape[1], 8)
        rows.append(torch.cat([before, pad, after], dim=-1))
    width = max(r.shape[-1] for r in rows)
    rows = [torch.nn.functional.pad(r, (0, width - r.shape[-1]), value=1.0) for r in rows]
    grid = torch.cat([torch.cat([r, torch.ones(3, 8, width)], dim=1) for r in rows], dim=1)
    return write_image(out, grid, overwrite=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a blind model file (default: the shipped default model)")
    parser.add_argument("--sharp", type=Path, default=EVAL / "kodak24")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--figure", action="store_true", help="also draw docs/deblur/<model>_real_blur.jpg and <model>_example.jpg"
    )
    parser.add_argument("--no-sharp", action="store_true")
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = args.model or default_model_path()
    _, info = load_restorer(model, "cpu")
    meta = environment({"model": str(model), "threads": args.threads, **blind_settings(info)})
    if not args.no_sharp:
        rows = sharp_check(model, args.sharp)
        values = [r["PSNR"] for r in rows]
        caption = (
            f"Sharp photos restored blind by {model.name}: {len(rows)} unblurred photos of {args.sharp.name} "
            f"(evaluation only), PSNR against themselves after 8-bit rounding (99: returned unchanged). "
            f"Lowest {min(values):.1f} dB; {sum(v >= 38 for v in values)} of {len(rows)} at 38 dB or more; "
            f"{sum(r['unchanged'] for r in rows)} returned unchanged."
        )
        columns = ["image", "PSNR", "unchanged", "blur-free", "confidence"]
        print(Path(write_results(f"{model.stem}_sharp", rows, columns, caption, meta)).read_text())
    if not args.no_speed:
        rows = speed(model, sorted((EVAL / "kodak24").glob("*.png"))[0], args.repeats)
        caption = (
            f"Blind restoration of one 1280x720 RGB photo by {model.name} on the CPU, {args.threads} threads: medians "
            f"of {args.repeats} runs after a warm-up (estimation: every hypothesis and the critic's judgement; the "
            "restoration is timed at full strength whatever the critic decided)."
        )
        print(
            Path(
                write_results(f"{model.stem}_speed_cpu", rows, ["step", "median_s", "min_s", "max_s"], caption, meta)
            ).read_text()
        )
    if args.figure:
        print(figure(model, ROOT / "docs" / "deblur" / f"{model.stem}_real_blur.jpg"))
        example = ROOT / "examples" / "blurred" / "astronaut_shake.png"  # the README's main command, whole
        print(figure(model, ROOT / "docs" / "deblur" / f"{model.stem}_example.jpg", [example], side=1024))


if __name__ == "__main__":
    main()
