"""The critic's calibration: predicted against true gain on photos it never trained on.

Samples come from ``python -m deblur.train.critic generate`` (training photos; the critic's metadata lists the
photos it held out of its fit, and only those are scored here). Per held-out image, the blind policy of
``deblur.restoration.blind`` is applied to the critic's predictions (the best hypothesis by its pessimistic predicted
gain, the strength from ``MIN_GAIN`` and ``FULL_GAIN``) and compared with the best hypothesis and the true kernel.

    python -m benchmarks.critic_calibration SAMPLES.pt [...] [--critic models/deblur_critic.safetensors]

Writes ``results/deblur_critic_calibration.*`` (per kind of blur) and ``docs/deblur/deblur_critic_calibration.png``
(a scatter of predicted against true gain, every candidate of every held-out crop).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import torch

from benchmarks.common import environment, write_results
from deblur.restoration.blind import FULL_GAIN, MIN_GAIN
from deblur.train.critic import GAIN_RANGE, calibration, sample_features
from deblur.weights import load_model

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("samples", type=Path, nargs="+")
    parser.add_argument("--critic", type=Path, default=ROOT / "models" / "deblur_critic.safetensors")
    args = parser.parse_args()
    critic, info = load_model(args.critic)
    held = set(info["data"]["held_out_photos"])
    samples = [s for path in args.samples for s in torch.load(path) if s["photo"] in held and s["gain"] == s["gain"]]
    with torch.no_grad():
        predicted = critic.from_features(sample_features(samples))
    gains = torch.tensor([s["gain"] for s in samples])
    rows = calibration(predicted, samples, MIN_GAIN, FULL_GAIN)
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row)
        by_kind["all"].append(row)
    table = []
    for kind, group in sorted(by_kind.items(), key=lambda item: (item[0] == "all", item[0])):
        count = len(group)
        table.append(
            {
                "kind": kind,
                "images": count,
                "applied gain": sum(r["realised"] for r in group) / count,
                "chosen at full strength": sum(r["gain"] for r in group) / count,
                "best hypothesis": sum(r["best"] for r in group) / count,
                "true kernel": sum(r["true_kernel"] for r in group) / count,
                "left unchanged": sum(r["strength"] == 0 for r in group),
                "> 0.3 dB worse": sum(r["realised"] < -0.3 for r in group),
                "> 1 dB worse": sum(r["realised"] < -1 for r in group),
            }
        )
    clipped = gains.clamp(*GAIN_RANGE)
    pearson = float(torch.corrcoef(torch.stack([predicted, clipped]))[0, 1])
    caption = (
        f"The critic ({args.critic.name}) on {len(rows)} held-out images ({len(samples)} judged crops of candidate "
        f"restorations; photos it never trained on): mean gain over the input in dB when the blind policy applies its "
        f"choice (a lower bound: strength x gain), the chosen hypothesis at full strength, the best hypothesis, and "
        f"the true kernel. Predicted against true gain per crop (clipped to {GAIN_RANGE}): Pearson {pearson:.2f}."
    )
    columns = list(table[0])
    meta = environment({"critic": str(args.critic), "samples": [str(p) for p in args.samples], "pearson": pearson})
    print(Path(write_results("deblur_critic_calibration", table, columns, caption, meta)).read_text())
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 5), dpi=110)
    names = sorted({s["name"].split()[0] for s in samples})
    for name in names:
        mask = torch.tensor([s["name"].split()[0] == name for s in samples])
        axis.scatter(clipped[mask], predicted[mask], s=6, alpha=0.5, label=name)
    axis.plot(GAIN_RANGE, GAIN_RANGE, "k--", lw=0.8)
    axis.axhline(MIN_GAIN, color="grey", lw=0.6)
    axis.set_xlabel("true gain over the input (dB, clipped)")
    axis.set_ylabel("critic's predicted gain (dB)")
    axis.set_title(f"critic on held-out photos: Pearson {pearson:.2f}", fontsize=10)
    axis.legend(fontsize=7, markerscale=2)
    figure.tight_layout()
    out = ROOT / "docs" / "deblur" / "deblur_critic_calibration.png"
    figure.savefig(out)
    print(out)


if __name__ == "__main__":
    main()
