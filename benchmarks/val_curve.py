"""Validation PSNR over training steps for one or more deblurring runs, as a PNG plot and a CSV table.

Reads each run's ``metrics.jsonl`` (``val_psnr`` and ``val_ssim`` as ``deblur train`` logs them); an optional
reference line (for example the deconvolution alone on the same validation set) is drawn dashed.

    python -m benchmarks.val_curve runs/ka_centred_adv --name ka_centred_adv_val --reference "hl_deconv alone=22.21"

Writes ``results/<name>.png`` and ``results/<name>.{csv,md,tex,json}``.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from benchmarks.common import RESULTS, environment, write_results
from deblur.io import atomic_write_bytes
from deblur.train.log import read_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="run folders (metrics.jsonl)")
    parser.add_argument("--name", required=True, help="stem of the result files")
    parser.add_argument("--reference", action="append", default=[], help="LABEL=PSNR, a dashed horizontal line")
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = []
    figure, axis = plt.subplots(figsize=(6, 3.6))
    for run in args.runs:
        points = [m for m in read_metrics(run) if "val_psnr" in m]
        rows += [
            {
                "run": run.name,
                "step": m["step"],
                "val_psnr": round(m["val_psnr"], 3),
                "val_ssim": round(m["val_ssim"], 4),
            }
            for m in points
        ]
        axis.plot([m["step"] for m in points], [m["val_psnr"] for m in points], marker="o", label=run.name)
    for reference in args.reference:
        label, value = reference.rsplit("=", 1)
        axis.axhline(float(value), linestyle="--", color="grey", label=label)
    axis.set_xlabel("step")
    axis.set_ylabel("validation PSNR (dB)")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    atomic_write_bytes(RESULTS / f"{args.name}.png", buffer.getvalue())
    caption = f"Validation PSNR/SSIM over training steps: {', '.join(str(r) for r in args.runs)}."
    write_results(args.name, rows, ["run", "step", "val_psnr", "val_ssim"], caption, environment())
    print(f"wrote {RESULTS / args.name}.png and its table ({len(rows)} points)")


if __name__ == "__main__":
    main()
