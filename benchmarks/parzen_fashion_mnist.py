"""Parzen-window log-likelihood of the classic GANs on Fashion-MNIST (the protocol of Goodfellow et al. 2014, Table 1).

For each model: train it with the recorded settings (or reuse a finished run in ``--runs``), draw 10,000 samples
from its EMA generator, fit a Gaussian Parzen window to them, choose sigma on the 10,000 held-out training images
(never trained on), and report the mean log-likelihood of the 10,000 test images with its standard error. The
same estimator on 10,000 real training images gives the reference a perfect generator would reach. A small CNN,
trained here on the real training split, scores sample quality: its mean confidence on generated images, the
number of classes it sees among them, and for ``cgan`` how often it agrees with the requested label.

    python -m benchmarks.parzen_fashion_mnist --data ../shared/data/fashion-mnist --runs runs/parzen \
        [--models mlp,dcgan]   # only these; the other rows are kept from the last results
        [--export]   # also write models/gan_fashion_mnist_<model>.safetensors and docs/gan/<model>.png
        [--shipped]  # score the shipped models/gan_fashion_mnist_<model>.safetensors; nothing is trained

Writes ``results/parzen_fashion_mnist.{md,csv,tex,json}``; the Markdown file ends with how each row was made (the
command, settings, seed, steps, training time, device and date).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import RESULTS, environment, write_results
from deblur.config import GANConfig, config_from_dict, load_config
from deblur.data.mnist import load_mnist_family
from deblur.device import resolve_device
from deblur.nets import create_net
from deblur.parzen import parzen_evaluate
from deblur.train.checkpoint import load_checkpoint
from deblur.train.gan import parzen_score, sample_images, train_gan
from deblur.train.loop import save_grid
from deblur.train.run import export_generator, load_generator
from deblur.weights import read_metadata

ROOT = Path(__file__).resolve().parent.parent
SEED = 0
# the settings each model is trained with (every other GANConfig field at its default)
MODELS: dict[str, dict[str, Any]] = {
    "mlp": {"model": "mlp", "steps": 15_000, "batch": 100},
    "dcgan": {
        "model": "dcgan",
        "steps": 40_000,
        "batch": 64,
        "image_size": 32,
        "lr_decay_from": 0.5,
        "precision": "bf16",  # bf16 autocast: 1.6x faster on CPUs with AVX512-BF16, as on a GPU
    },
    # conditioning = projection (the GANConfig default since issue 19; one-hot planes gave label accuracy 0.885);
    # aux_classes = AC-GAN class loss (label accuracy 0.961 with it, 0.900 without)
    "cgan": {
        "model": "cgan",
        "steps": 24_000,
        "batch": 64,
        "image_size": 32,
        "lr_decay_from": 0.5,
        "aux_classes": 1.0,
        "precision": "bf16",
    },
    # one band level on a 16 px coarse GAN: with two (8 px coarse) the 8 -> 16 px band lost most (308 nats at 30,000
    # steps; the model card's review)
    "lapgan": {
        "model": "lapgan",
        "lapgan_levels": 1,
        "steps": 24_000,
        "batch": 32,
        "width": 32,
        "lr_decay_from": 0.5,
        "precision": "bf16",
    },
    # BEGAN: the paper's lambda_k = 0.001 and lr 1e-4 are tuned for 10^5+ steps; at 2,000 steps they leave k near 0
    # and G drawing black images (the autoencoder reconstructs them best); 10x lambda_k and 4x lr let garments
    # appear within 1,500 steps (model card); gamma 0.7 (1,500-step dev runs, reduced Parzen: gamma 0.5 -306,
    # 0.7 -193, 0.85 -237 and mostly footwear); fp32, as bf16 is coarse against equilibrium errors of 0.016
    # (later gamma 1.0 with EBGAN's pull-away term: 272.1); a discriminator twice as wide and 4x slower than G: 284.6
    # (8,000 steps, best held-out step 3,500); G faster than D (lr 8e-4: 296.3; 1.6e-3, 16x D's: 298.1), 4,000 steps;
    # an EMA that averages over 2,000 steps from step 1,500 (the default ramp reaches 0.999 only near 9,000): see card
    "began": {
        "model": "began",
        "steps": 6_000,
        "batch": 32,
        "width": 16,
        "disc_width": 32,
        "lr": 1.6e-3,
        "lr_d": 1e-4,
        "lambda_k": 0.01,
        "gamma": 1.0,
        "pull_away": 0.1,
        "ema": 0.9995,
        "ema_start": 1_500,
        "precision": "fp32",
        "eval_every": 500,
    },
}
COLUMNS = ("model", "parzen", "stderr", "sigma", "confidence", "steps", "train_min", "device")
PAPER_MNIST = [  # Goodfellow et al. 2014, Table 1 (MNIST, not Fashion-MNIST): for context only
    ("DBN (paper, MNIST)", 138, 2.0),
    ("Stacked CAE (paper, MNIST)", 121, 1.6),
    ("Deep GSN (paper, MNIST)", 214, 1.1),
    ("Adversarial nets (paper, MNIST)", 225, 2.0),
]


def gan_config(name: str, data: Path, runs: Path, device: str) -> GANConfig:
    return load_config(
        GANConfig,
        overrides={
            **MODELS[name],
            "data": data,
            "out": runs / name,
            "seed": SEED,
            "device": device,
            "sample_every": 1000,
            "ckpt_every": 1000,
            "log_every": 100,
        },
    )


IRRELEVANT = ("out", "device", "log_every", "sample_every", "ckpt_every")
"""Settings that do not change what a run computes (on a given kind of device)."""


def same_training(saved: dict[str, Any], wanted: GANConfig) -> bool:
    """Whether a saved run's settings (a checkpoint's ``meta``, of this or an older version: fields added since
    take their defaults) compute the same as ``wanted``."""
    found = config_from_dict(GANConfig, saved.get("config", saved.get("gan", {})))
    same = {k: getattr(wanted, k) for k in IRRELEVANT}
    if Path(found.data).resolve() == Path(wanted.data).resolve():  # one folder, however it is spelled
        same["data"] = wanted.data
    return dataclasses.replace(found, **same) == wanted


def train_or_reuse(config: GANConfig) -> dict[str, Any]:
    """Train unless ``out/last.pt`` already holds a finished run with these settings; returns timing info.

    An unfinished run with these settings is continued, as is a shorter one where the learning rate is constant (the
    step count changes nothing else, so the continued run computes what one run would); the training time adds up
    over the segments. A run with other settings is refused, not continued."""
    checkpoint, timing = config.out / "last.pt", config.out / "train_seconds.json"
    before = 0.0
    if checkpoint.exists():
        saved = load_checkpoint(checkpoint)
        found = int(saved["meta"].get("config", {}).get("steps", config.steps))
        extendable = config.optim.lr_decay_from >= 1 or found == config.steps
        if not (extendable and same_training(saved["meta"], dataclasses.replace(config, steps=found))):
            raise SystemExit(f"error: {config.out} holds a run with other settings; move it or pass another --runs")
        if timing.exists():
            if saved["state"]["step"] >= config.steps:
                return {"trained_now": False, **json.loads(timing.read_text())}
            before = json.loads(timing.read_text())["train_seconds"]
    start = time.perf_counter()
    train_gan(config, resume=True)
    seconds = before + time.perf_counter() - start
    timing.write_text(json.dumps({"train_seconds": seconds}))
    return {"trained_now": True, "train_seconds": seconds}


def train_classifier(data: Path, device: torch.device, epochs: int = 3) -> tuple[torch.nn.Module, float]:
    """The small CNN on the real training split (the 50,000 images the GANs saw); returns it and its test accuracy."""
    torch.manual_seed(SEED)
    train, test = load_mnist_family(data, "train"), load_mnist_family(data, "test")
    net = create_net("classifier").to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(SEED)
    for _ in range(epochs):
        net.train()
        for index in torch.randperm(len(train), generator=generator).split(128):
            loss = torch.nn.functional.cross_entropy(
                net(train.images[index].to(device)), train.labels[index].to(device)
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    predictions = classify(net, test.images, device).argmax(1)
    return net, float((predictions == test.labels).float().mean())


@torch.no_grad()
def classify(net: torch.nn.Module, images: torch.Tensor, device: torch.device) -> torch.Tensor:
    net.eval()
    return torch.cat([net(chunk.to(device)).softmax(1).cpu() for chunk in images.split(1000)])


def sample_quality(probabilities: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, float]:
    """Mean confidence, share of confident samples, classes seen (>= 2% of samples) and label agreement."""
    confidence, predicted = probabilities.max(1)
    shares = torch.bincount(predicted, minlength=probabilities.shape[1]).float() / len(predicted)
    out = {
        "confidence": float(confidence.mean()),
        "confident_share": float((confidence > 0.9).float().mean()),
        "classes_seen": int((shares >= 0.02).sum()),
    }
    if labels is not None:
        out["label_accuracy"] = float((predicted == labels).float().mean())
    return out


def model_file(name: str) -> Path:
    """Where ``--export`` writes the generator of ``name``, and ``--shipped`` reads it."""
    return ROOT / "models" / f"gan_fashion_mnist_{name}.safetensors"


def shipped_model(name: str) -> Path:
    """The exported model of ``name``, checked to have been trained with the steps of :data:`MODELS`."""
    path = model_file(name)
    if not path.exists():
        raise SystemExit(f"error: {path} does not exist; run without --shipped to train {name}")
    metadata = read_metadata(path)
    steps = metadata.get("config", {}).get("steps", metadata.get("steps"))  # of the run (best.pt may be earlier)
    if steps != MODELS[name]["steps"]:
        raise SystemExit(
            f"error: {path} was trained for {steps} steps, not the {MODELS[name]['steps']} of MODELS['{name}']; "
            "run without --shipped to retrain it"
        )
    return path


def load_previous(path: Path, data: Path) -> dict[str, Any]:
    """Model entries of an earlier run of this script on the same data (kept for the models not run now)."""
    if not path.exists():
        return {}
    previous = json.loads(path.read_text())
    saved = previous.get("meta", {}).get("data")
    if saved is None or Path(saved).resolve() != Path(data).resolve():  # the same folder, however it was spelled
        return {}
    return {name: previous[name] for name in MODELS if name in previous}


def _row(model: str, parzen: float, stderr: float, **cells: Any) -> dict[str, Any]:
    """A table row; the columns not given stay empty."""
    return {"model": model, "parzen": parzen, "stderr": stderr, **dict.fromkeys(COLUMNS[3:], ""), **cells}


def steps_cell(result: dict[str, Any]) -> str:
    """The steps of a row: ``8000``, or ``6500 of 8000`` where the run kept an earlier step's generator."""
    run_steps = result.get("run_steps", result["steps"])
    return f"{result['steps']}" if run_steps == result["steps"] else f"{result['steps']} of {run_steps}"


def table_rows(results: dict[str, Any], names: list[str]) -> list[dict[str, Any]]:
    """The reference, each model in ``names`` and the paper's MNIST rows."""
    real = results["real_data"]
    rows = [
        _row(
            "real training images (reference)",
            real["mean"],
            real["stderr"],
            sigma=real["sigma"],
            confidence=results["classifier"]["confidence"],
        )
    ]
    for name in names:
        r = results[name]
        label = f"{name}" + (f" (label acc. {r['label_accuracy']:.3f})" if "label_accuracy" in r else "")
        rows.append(
            _row(
                label,
                r["mean"],
                r["stderr"],
                sigma=r["sigma"],
                confidence=r["confidence"],
                steps=steps_cell(r),
                train_min=round(r["train_seconds"] / 60, 1) if r["train_seconds"] else "",
                device=r.get("device", ""),
            )
        )
    rows += [_row(label, mean, stderr) for label, mean, stderr in PAPER_MNIST]
    return rows


def reproduce_notes(results: dict[str, Any], names: list[str]) -> str:
    """How each row was made: the command, the recipe, seed, steps, training time, machine and date."""
    lines = [
        "## How the rows were made",
        "",
        f"Reference and classifier: `{results['meta']['command']}` ({results['meta']['date']}, "
        f"{results['meta']['device']}, {results['meta']['cpu']}, {results['meta']['torch_threads']} threads, "
        f"torch {results['meta']['versions']['torch']}).",
        "",
        "| model | settings (every other `GANConfig` field at its default) | seed | steps | training | device | "
        "scored by |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in names:
        r = results[name]
        settings = ", ".join(f"{k}={v}" for k, v in r["config"].items())
        minutes = f"{r['train_seconds'] / 60:.0f} min" if r.get("train_seconds") else ""
        lines.append(
            f"| {name} | {settings} | {r.get('seed', SEED)} | {steps_cell(r)} | {minutes} | {r.get('device', '')} | "
            f"`{r.get('command', '')}` ({r.get('date', '')}"
            + (f"; the shipped file, trained {r['trained']}" if r.get("shipped") else "")
            + ") |"
        )
    lines += [
        "",
        "Each model trains with `deblur gan train --model NAME --data DATA --out RUNS/NAME` and the settings above "
        "(the script passes them through `GANConfig`); a finished run with the same settings is reused, not "
        "retrained. Training minutes are wall-clock minutes on a 2-core CPU that was sometimes shared with other "
        "jobs. Rows of models not named in `--models` are kept from the previous run of the script.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "fashion-mnist")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "parzen")
    parser.add_argument(
        "--models",
        default=",".join(MODELS),
        help="comma-separated subset of " + ",".join(MODELS) + "; the other rows are kept from the last results",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--shipped",
        action="store_true",
        help="score the shipped models/gan_fashion_mnist_NAME.safetensors instead of training (or reusing a run); "
        "their training time is kept from the previous results",
    )
    parser.add_argument("--export", action="store_true", help="write models/*.safetensors and docs/gan/*.png")
    args = parser.parse_args()
    device = resolve_device(args.device)
    names = [n for n in args.models.split(",") if n]
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        parser.error(f"unknown models {', '.join(unknown)}; known: {', '.join(MODELS)}")
    env = environment({"torch": SEED})

    results: dict[str, Any] = load_previous(RESULTS / "parzen_fashion_mnist.json", args.data)
    start = time.perf_counter()
    real = parzen_score(args.data, None, 10_000, SEED, device=device)
    results["real_data"] = {**real.as_dict(), "seconds": time.perf_counter() - start}
    print(f"real data: {real.mean:.1f} +- {real.stderr:.1f} (sigma {real.sigma:.4f})", flush=True)
    classifier, accuracy = train_classifier(args.data, device)
    test_images = load_mnist_family(args.data, "test").images
    results["classifier"] = {"test_accuracy": accuracy, **sample_quality(classify(classifier, test_images, device))}
    print(f"classifier test accuracy {accuracy:.4f}", flush=True)
    val, test = load_mnist_family(args.data, "val").images, test_images

    for name in names:
        config = gan_config(name, args.data, args.runs, args.device)
        if args.shipped:
            source = shipped_model(name)
            before = results.get(name, {})
            trained = before.get("trained", before.get("date"))
            timing = {"train_seconds": before.get("train_seconds"), "trained": trained}
        else:
            # with eval_every, best.pt: the step whose samples scored highest on the held-out split (not the test)
            timing, source = train_or_reuse(config), config.out / ("best.pt" if config.eval_every else "last.pt")
        gen, meta = load_generator(source, device, task="gan")
        n_classes = int(getattr(gen, "n_classes", 0) or 0)
        samples = sample_images(gen, meta, 10_000, seed=SEED)
        start = time.perf_counter()
        parzen = parzen_evaluate(samples.to(device), val.to(device), test.to(device))
        labels = torch.arange(10_000) % n_classes if n_classes else None
        quality = sample_quality(classify(classifier, samples, device), labels)
        results[name] = {
            **parzen.as_dict(),
            **quality,
            "steps": meta["steps"],
            "run_steps": meta["config"]["steps"],
            "train_seconds": timing["train_seconds"],
            "parzen_seconds": time.perf_counter() - start,
            "config": MODELS[name],
            "seed": SEED,
            "run": str(source.relative_to(ROOT) if args.shipped else config.out),
            "device": f"{device} ({env['gpu'] or env['cpu']})",
            "command": env["command"],
            "date": env["date"],
            **(
                {"trained": timing["trained"], "shipped": True, "model_file": str(source.relative_to(ROOT))}
                if args.shipped
                else {}
            ),
        }
        print(f"{name}: {parzen.mean:.1f} +- {parzen.stderr:.1f} (sigma {parzen.sigma:.4f}), {quality}", flush=True)
        if args.export and not args.shipped:
            extra = {
                "parzen_fashion_mnist": parzen.as_dict(),
                "sample_quality": quality,
                "trained_on": "Fashion-MNIST training split, first 50,000 images (Xiao et al. 2017)",
            }
            path = export_generator(source, model_file(name), overwrite=True, extra=extra, task="gan")
            results[name]["model_file"] = str(path.relative_to(ROOT))
        if args.export:
            # a conditional generator cycles through the classes: ten columns, one class each
            columns = n_classes or 8
            grid = sample_images(gen, meta, 8 * columns, seed=SEED + 1)
            save_grid(ROOT / "docs" / "gan" / f"{name}.png", grid, nrow=columns)

    shown = [n for n in MODELS if n in results]
    rows = table_rows(results, shown)
    best = max(shown, key=lambda n: results[n]["mean"]) if shown else None
    bold = {(1 + shown.index(best), "parzen")} if best else set()
    env.update({"device": str(device), "data": str(args.data), "models": {n: results[n]["config"] for n in shown}})
    results["meta"] = env
    caption = (
        "Gaussian Parzen-window log-likelihood (nats, mean +- standard error over the 10,000 Fashion-MNIST test "
        "images; sigma chosen on the 10,000 held-out training images) of 10,000 samples per model, pixels in "
        f"[0, 1]. Confidence: mean top-class probability of a CNN trained on the real training split (test accuracy "
        f"{accuracy:.3f}). The paper's rows are MNIST, for context only."
    )
    write_results("parzen_fashion_mnist", rows, COLUMNS, caption, env, bold=bold, notes=reproduce_notes(results, shown))
    (RESULTS / "parzen_fashion_mnist.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print((RESULTS / "parzen_fashion_mnist.md").read_text())


if __name__ == "__main__":
    main()
