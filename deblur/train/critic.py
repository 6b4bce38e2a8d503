"""Training the critic of blind restoration (:class:`deblur.nets.critic.Critic`) on the pipeline's own candidates.

``generate`` blurs random crops of sharp photos with the project's kernel generators (motion, camera shake,
Gaussian, defocus, 5-99 px; some left sharp), runs the blind pipeline's hypotheses on each
(:func:`~deblur.ops.estimate.hypotheses.kernel_hypotheses`), adds the true kernel and a perturbed one, restores the
judged crops exactly as :meth:`~deblur.restoration.blind.BlindRestorer.judge` does, and records each candidate's
true gain. ``fit`` trains the critic on those samples (Huber loss on the gain plus a pairwise ranking loss within
each crop), holding out a fifth of the photos, and writes the critic with its calibration.

    python -m deblur.train.critic generate --photos DIR [DIR ...] --count N --seed S --out samples.pt
    python -m deblur.train.critic fit samples.pt [...] --out critic.safetensors [--steps 3000]
"""

from __future__ import annotations

import argparse
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from deblur.io import list_images, read_image
from deblur.metrics import psnr
from deblur.nets import create_net
from deblur.nets.critic import FEATURES, Critic, critic_features, pessimistic_gain
from deblur.ops.conv import blur
from deblur.ops.estimate import luminance
from deblur.ops.estimate.hypotheses import kernel_hypotheses
from deblur.ops.psf import center_kernels
from deblur.synth.kernels import SAMPLERS, perturb_kernels

__all__ = ["calibration", "fit_critic", "generate_samples", "sample_features"]

KINDS = {"motion": 1.0, "trajectory": 1.3, "gaussian": 0.8, "defocus": 0.8, "none": 0.4}
"""Kinds of blur drawn for the samples, with their weights ("none": a sharp crop with noise only)."""

LARGE_SHARE = 0.2
"""The share of blurred samples with a kernel of 47-99 px (the rest: 5-45 px)."""

GAIN_RANGE = (-10.0, 15.0)
"""Gains are clipped to this range for training: beyond it only the sign matters."""


def _u8(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


@torch.no_grad()
def generate_samples(
    net: torch.nn.Module, photos: list[Path], count: int, seed: int, progress: bool = True
) -> list[dict[str, Any]]:
    """``count`` blurred crops of ``photos``, each with every candidate's judged crops and true gains (dB).

    Each sample: ``group`` (the blurred crop), ``crop``, ``photo``, ``kind``, ``size``, ``name`` (the candidate),
    ``blurred`` and ``restored`` (uint8 ``(3, s, s)``), ``kernel`` (float16) and ``gain``.
    """
    from deblur.restoration.blind import JUDGE_CROPS, JUDGE_SIDE, judge_crops

    rng, generator = random.Random(seed), torch.Generator().manual_seed(seed)
    samples: list[dict[str, Any]] = []
    for group in range(count):
        path = rng.choice(photos)
        kind = rng.choices(list(KINDS), list(KINDS.values()))[0]
        sharp = read_image(path)[None]
        height, width = sharp.shape[-2:]
        side = min(height, width, 512)
        top, left = rng.randint(0, height - side), rng.randint(0, width - side)
        sharp = sharp[..., top : top + side, left : left + side]
        size = rng.randrange(47, 100, 2) if rng.random() < LARGE_SHARE else rng.randrange(5, 46, 2)
        size = min(size, (side // 3) | 1)
        if kind == "none":
            kernel = torch.zeros(1, 3, 3)
            kernel[0, 1, 1] = 1
        else:
            kernel = center_kernels(SAMPLERS[kind](1, size, generator))
        clean = blur(sharp, kernel, padding="valid")
        blurred = (clean + rng.uniform(0.003, 0.015) * torch.randn(clean.shape, generator=generator)).clamp(0, 1)
        reach = kernel.shape[-1] // 2
        sharp = sharp[..., reach : sharp.shape[-2] - reach, reach : sharp.shape[-1] - reach]
        hypotheses = kernel_hypotheses(luminance(blurred)[0, 0], 99)
        if kind != "none":
            hypotheses["true"] = kernel[0]
            hypotheses["perturbed"] = perturb_kernels(kernel, rng.uniform(0.3, 1.0), generator)[0]
        context_reach = max(k.shape[-1] for k in hypotheses.values()) // 2 + 16
        where = judge_crops(blurred[0], JUDGE_SIDE, JUDGE_CROPS, context_reach)
        context = where.windows(blurred[0])
        blurred_crops, sharp_crops = where.crops(context), where.crops(where.windows(sharp[0]))
        base = psnr(blurred_crops, sharp_crops)
        for name, candidate in hypotheses.items():
            if not bool(torch.isfinite(candidate).all()):
                continue
            kernels = candidate.float()[None].expand(len(context), -1, -1)
            restored = where.crops(net(context, kernels).float().clamp(0, 1))
            gains = (psnr(restored, sharp_crops) - base).tolist()
            for index, gain in enumerate(gains):
                samples.append(
                    {
                        "group": group,
                        "crop": index,
                        "photo": path.stem,
                        "kind": kind,
                        "size": kernel.shape[-1],
                        "name": name,
                        "blurred": _u8(blurred_crops[index]),
                        "restored": _u8(restored[index]),
                        "kernel": candidate.half(),
                        "gain": float(gain),
                    }
                )
        if progress:
            print(f"{group + 1}/{count} {path.stem} {kind} {kernel.shape[-1]} px", flush=True)
    return samples


def sample_features(samples: list[dict[str, Any]], batch: int = 64) -> torch.Tensor:
    """:func:`critic_features` of samples ``(N, len(FEATURES))`` (crops of one size measured together)."""
    out = torch.empty(len(samples), len(FEATURES))
    by_shape: dict[tuple, list[int]] = defaultdict(list)
    for index, sample in enumerate(samples):
        by_shape[tuple(sample["blurred"].shape)].append(index)
    for indices in by_shape.values():
        for start in range(0, len(indices), batch):
            chunk = [samples[i] for i in indices[start : start + batch]]
            side = max(s["kernel"].shape[-1] for s in chunk)
            kernels = torch.stack(
                [F.pad(s["kernel"].float(), [(side - s["kernel"].shape[-1]) // 2] * 4) for s in chunk]
            )
            blurred = torch.stack([s["blurred"] for s in chunk]).float() / 255
            restored = torch.stack([s["restored"] for s in chunk]).float() / 255
            out[indices[start : start + batch]] = critic_features(blurred, restored, kernels)
    return out


def fit_critic(
    features: torch.Tensor,
    gains: torch.Tensor,
    crops: list[Any],
    steps: int = 3000,
    width: int = 32,
    depth: int = 2,
    rank_weight: float = 0.0,
    seed: int = 0,
) -> Critic:
    """A critic fitted to ``features`` ``(N, F)`` and true ``gains`` ``(N,)``: Huber loss on the clipped gain, plus
    ``rank_weight`` times a pairwise logistic ranking loss among the candidates of one crop (``crops[i]`` names
    sample ``i``'s crop). AdamW with a cosine schedule, batches of 256."""
    torch.manual_seed(seed)
    critic = create_net("critic", width=width, depth=depth)
    critic.mean.copy_(features.mean(0))
    critic.scale.copy_(features.std(0).clamp(min=1e-6))
    target = gains.clamp(*GAIN_RANGE)
    optimizer = torch.optim.AdamW(critic.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    members: dict[Any, list[int]] = defaultdict(list)
    for index, crop in enumerate(crops):
        members[crop].append(index)
    groups = [torch.tensor(v) for v in members.values() if len(v) > 1]
    for _ in range(steps):
        batch = torch.randint(len(features), (256,))
        loss = F.smooth_l1_loss(critic.from_features(features[batch]), target[batch], beta=1.0)
        if rank_weight and groups:
            ranking = 0.0
            for pick in torch.randint(len(groups), (32,)).tolist():
                members_ = groups[pick]
                predicted, true = critic.from_features(features[members_]), target[members_]
                sign = torch.sign(true[:, None] - true[None])
                weight = (true[:, None] - true[None]).abs().clamp(max=3)
                ranking = ranking + (weight * F.softplus(-sign * (predicted[:, None] - predicted[None]))).mean()
            loss = loss + rank_weight * ranking / 32
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return critic.eval()


def calibration(
    predicted: torch.Tensor, samples: list[dict[str, Any]], min_gain: float, full_gain: float
) -> list[dict[str, Any]]:
    """Per blurred crop group (one image), what the blind policy would do with these predictions: the hypothesis
    chosen (the true and perturbed kernels are not candidates), its predicted gain (:func:`pessimistic_gain`) and
    true gain (the mean over the judged crops), the strength applied, the gain realised (approximately strength x
    gain, a lower bound: blending is kinder), the best hypothesis's gain and the true kernel's."""
    per: dict[tuple, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for value, sample in zip(predicted.tolist(), samples, strict=True):
        image = (sample["photo"], sample["group"], sample["kind"], sample["size"])
        per[image][sample["name"]].append((value, sample["gain"]))
    rows = []
    for (photo, _, kind, size), candidates in per.items():
        means = {
            n: (pessimistic_gain(torch.tensor([p for p, _ in v])), sum(t for _, t in v) / len(v))
            for n, v in candidates.items()
        }
        hypotheses = {n: v for n, v in means.items() if n not in ("true", "perturbed")}
        if not hypotheses:
            continue
        chosen = max(hypotheses, key=lambda n: hypotheses[n][0])
        guess, gain = hypotheses[chosen]
        strength = min(max((guess - min_gain) / (full_gain - min_gain), 0.0), 1.0)
        rows.append(
            {
                "photo": photo,
                "kind": kind,
                "size": size,
                "chosen": chosen,
                "predicted": guess,
                "gain": gain,
                "strength": strength,
                "realised": strength * gain,
                "best": max([0.0] + [v[1] for v in hypotheses.values()]),
                "true_kernel": means.get("true", (0.0, 0.0))[1],
            }
        )
    return rows


def _photos(folders: list[Path]) -> list[Path]:
    return sorted(path for folder in folders for path in list_images(folder))


def main() -> None:
    """``generate`` samples or ``fit`` the critic (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("generate")
    make.add_argument("--photos", type=Path, nargs="+", required=True)
    make.add_argument("--count", type=int, default=400)
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--model", type=Path, default=Path("models/kernel_aware_centred_adv.safetensors"))
    make.add_argument("--out", type=Path, required=True)
    fit = commands.add_parser("fit")
    fit.add_argument("samples", type=Path, nargs="+")
    fit.add_argument("--out", type=Path, required=True)
    fit.add_argument("--steps", type=int, default=3000)
    fit.add_argument("--width", type=int, default=32)
    fit.add_argument("--rank-weight", type=float, default=0.0)
    fit.add_argument("--holdout", type=float, default=0.2, help="share of photos held out for calibration")
    args = parser.parse_args()
    if args.command == "generate":
        from deblur.restoration.models import load_restorer

        net, _ = load_restorer(args.model, "cpu")
        samples = generate_samples(net, _photos(args.photos), args.count, args.seed)
        torch.save(samples, args.out)
        return
    from deblur.restoration.blind import FULL_GAIN, MIN_GAIN
    from deblur.weights import save_model

    samples = [s for path in args.samples for s in torch.load(path) if s["gain"] == s["gain"]]
    features = sample_features(samples)
    gains = torch.tensor([s["gain"] for s in samples])
    photos = sorted({s["photo"] for s in samples})
    random.Random(0).shuffle(photos)
    held = set(photos[: round(len(photos) * args.holdout)])
    train = torch.tensor([s["photo"] not in held for s in samples])
    crops = [(s["photo"], s["group"], s["crop"]) for s in samples]
    index = train.nonzero()[:, 0]
    critic = fit_critic(
        features[index], gains[index], [crops[i] for i in index], args.steps, args.width, 2, args.rank_weight
    )
    with torch.no_grad():
        predicted = critic.from_features(features)
    held_out = (~train).nonzero()[:, 0].tolist()
    rows = calibration(predicted[held_out], [samples[i] for i in held_out], MIN_GAIN, FULL_GAIN)
    pair = torch.stack([predicted[held_out], gains[held_out].clamp(*GAIN_RANGE)])
    metrics = {
        "held_out_images": len(rows),
        "held_out_samples": len(held_out),
        "pearson": float(torch.corrcoef(pair)[0, 1]),
        "realised_db": sum(r["realised"] for r in rows) / max(len(rows), 1),
        "best_hypothesis_db": sum(r["best"] for r in rows) / max(len(rows), 1),
        "worse_than_0.3db": sum(r["realised"] < -0.3 for r in rows),
    }
    meta = {
        "task": "critic",
        "config": {"steps": args.steps, "width": args.width, "rank_weight": args.rank_weight, "features": FEATURES},
        "data": {"samples": [str(p) for p in args.samples], "photos": len(photos), "held_out_photos": sorted(held)},
        "metrics": metrics,
        "steps": args.steps,
        "checkpoint": None,
    }
    save_model(args.out, critic, meta)
    torch.save({"predicted": predicted, "gains": gains, "train": train, "rows": rows}, args.out.with_suffix(".pt"))
    print(metrics)


if __name__ == "__main__":
    main()
