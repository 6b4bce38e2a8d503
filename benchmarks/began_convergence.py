"""BEGAN's convergence measure over a run: a table (CSV, Markdown, LaTeX, JSON) and a curve (PNG).

``M = L(x) + |gamma L(x) - L(G(z))|`` (Berthelot et al. 2017, sec. 3.4) is logged by every BEGAN run
(``metrics.jsonl``). This averages it, ``k`` and both reconstruction losses over windows of steps, plots them, and
says how steadily M falls: the share of windows below the one before, and M's fall from the first window to the last.

    python -m benchmarks.began_convergence runs/parzen/began --name began_convergence_fashion_mnist [--window 500]

Writes ``results/<name>.{png,csv,md,tex,json}``.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS, environment, write_results
from deblur.io import atomic_write_bytes
from deblur.train.log import read_metrics

COLUMNS = ["steps", "convergence_M", "k", "L_real", "L_fake"]


def convergence_rows(metrics: list[dict[str, Any]], window: int) -> list[dict[str, Any]]:
    """Means of M, k, L(x) and L(G(z)) over consecutive windows of ``window`` steps (the logged steps in each)."""
    logged = [m for m in metrics if "convergence" in m]
    last = max((m["step"] for m in logged), default=0)
    rows = []
    for end in range(window, last + window, window):
        chunk = [m for m in logged if end - window < m["step"] <= end]
        if chunk:
            mean = {k: sum(m[k] for m in chunk) / len(chunk) for k in ("convergence", "k", "l_real", "l_fake")}
            rows.append(
                {
                    "steps": min(end, last),
                    "convergence_M": mean["convergence"],
                    "k": mean["k"],
                    "L_real": mean["l_real"],
                    "L_fake": mean["l_fake"],  # the D step's, as M uses; G's loss may add a pull-away term
                }
            )
    return rows


def steadiness(rows: list[dict[str, Any]]) -> dict[str, float]:
    """How steadily M falls: the share of windows whose M is below the previous window's, and first / last M."""
    values = [r["convergence_M"] for r in rows]
    falls = [b < a for a, b in zip(values, values[1:], strict=False)]
    return {
        "falling_share": sum(falls) / len(falls) if falls else 0.0,
        "first_M": values[0] if values else float("nan"),
        "last_M": values[-1] if values else float("nan"),
    }


def plot_convergence(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    """M, L(x) and L(G(z)) against steps (left axis) and k (right axis), written atomically as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["steps"] for r in rows]
    figure, axis = plt.subplots(figsize=(6, 3.6))
    axis.plot(steps, [r["convergence_M"] for r in rows], marker="o", markersize=3, label="M (convergence)")
    axis.plot(steps, [r["L_real"] for r in rows], linestyle="--", label="L(x)")
    axis.plot(steps, [r["L_fake"] for r in rows], linestyle=":", label="L(G(z))")
    axis.set_xlabel("step")
    axis.set_ylabel("L1 reconstruction (pixels in [0, 1])")
    axis.grid(alpha=0.3)
    right = axis.twinx()
    right.plot(steps, [r["k"] for r in rows], color="grey", linewidth=0.8, label="k (right axis)")
    right.set_ylabel("k")
    lines = axis.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    axis.legend(lines, [line.get_label() for line in lines], fontsize=8)
    axis.set_title(title, fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())


def write_convergence(
    run: Path, name: str, window: int, title: str, extra_notes: str = "", meta: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Tables and curve of ``run``'s convergence measure as ``results/<name>.*`` (``meta`` joins the JSON's
    environment); returns the rows, the steadiness figures and the caption."""
    rows = convergence_rows(read_metrics(run), window)
    if not rows:
        raise SystemExit(f"error: {run}/metrics.jsonl holds no BEGAN convergence measure; is it a BEGAN run?")
    plot_convergence(rows, RESULTS / f"{name}.png", title)
    summary = steadiness(rows)
    info = environment({"torch": 0})
    info.update({"run": str(run), "window": window, **summary, **(meta or {})})
    caption = (
        f"{title}: convergence measure M (lower is better), k and the reconstruction losses L(x), L(G(z)), mean over "
        f"{window}-step windows. M is below the previous window in {summary['falling_share']:.0%} of the windows "
        f"and falls from {summary['first_M']:.4f} to {summary['last_M']:.4f}."
    )
    notes = f"Made with `{info['command']}` ({info['date']}) from `{run}/metrics.jsonl`. {extra_notes}".strip()
    write_results(name, rows, COLUMNS, caption, info, notes=notes, out_dir=RESULTS)
    return {"rows": rows, **summary, "caption": caption}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="BEGAN run folder (metrics.jsonl)")
    parser.add_argument("--name", required=True, help="stem of the result files")
    parser.add_argument("--window", type=int, default=500, help="steps per point")
    parser.add_argument("--title", default="", help="plot title (default: the run folder)")
    args = parser.parse_args()
    result = write_convergence(args.run, args.name, args.window, args.title or f"BEGAN, {args.run}")
    print(result["caption"])
    print(f"wrote {RESULTS / args.name}.png and its table ({len(result['rows'])} points)")


if __name__ == "__main__":
    main()
