"""Behaviour fingerprint: what a refactor must not change.

Runs the command line as a user does: ``deblur synth`` twice on ``examples/sharp`` (two different settings, 8- and
16-bit), a 4-step and a 3-step ``deblur train`` on the same photos, and a 3-step ``deblur gan train`` of each of the
five GANs on Fashion-MNIST. It records the sha256 of every file synth writes, its manifest (less version and date)
and every logged loss (less timings). ``--check`` compares with ``benchmarks/results/fingerprint.json``; a refactor
that changes nothing a user sees leaves the fingerprint unchanged on the same machine. Losses are compared exactly,
so run it on the machine (and library versions) that recorded the file.

    python -m benchmarks.fingerprint                 # record
    python -m benchmarks.fingerprint --check         # compare; exit code 1 and the differences if any
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import environment

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "benchmarks" / "results" / "fingerprint.json"
FASHION = ROOT.parent / "shared" / "data" / "fashion-mnist"

SYNTH = {
    "s1": ["--kernel", "trajectory", "--noise", "0.01", "--seed", "0"],
    "s2": ["--kernel", "motion,defocus,gaussian,anisotropic", "--valid", "--jpeg-prob", "0.5", "--poisson", "0:0.01"]
    + ["--saturation-prob", "0.5", "--size", "21", "--seed", "3", "--bit-depth", "16"],
}
TINY = ["--crop", "64", "--batch", "2", "--device", "cpu", "--width", "8", "-q"]
TRAIN = {
    "t1": ["--steps", "4", "--val-holdout", "1", "--val-every", "2", "--disc-width", "8", *TINY],
    "t2": ["--steps", "3", "--val-holdout", "0", "--adv-weight", "0", "--content", "charbonnier", "--fft-weight"]
    + ["0.1", "--lr", "1e-3", *TINY],
}
GANS = ("mlp", "dcgan", "cgan", "lapgan", "began")
UNTIMED = ("images_per_s", "time", "wall")


def _deblur(*args: str) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "deblur", *args], check=True, cwd=ROOT, env=env, capture_output=True)


def _losses(run: Path) -> list[dict[str, Any]]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in UNTIMED} for line in lines if line.strip()]


def fingerprint(work: Path) -> dict[str, Any]:
    """Run everything in ``work`` and return the fingerprint."""
    result: dict[str, Any] = {"synth": {}, "manifests": {}, "losses": {}}
    for name, args in SYNTH.items():
        _deblur("synth", "--data", "examples/sharp", "--out", str(work / name), "-q", *args)
        for path in sorted(p for p in (work / name).rglob("*") if p.is_file() and p.name != "manifest.json"):
            result["synth"][path.relative_to(work).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
        manifest = json.loads((work / name / "manifest.json").read_text())
        result["manifests"][name] = {k: v for k, v in manifest.items() if k not in ("deblur_version", "created")}
    for name, args in TRAIN.items():
        _deblur("train", "--data", "examples/sharp", "--out", str(work / name), *args)
        result["losses"][name] = _losses(work / name)
    if FASHION.is_dir():
        for model in GANS:
            out = work / f"g_{model}"
            gan = ["--model", model, "--data", str(FASHION), "--steps", "3", "--batch", "8", "--width", "8"]
            _deblur("gan", "train", *gan, "--out", str(out), "--device", "cpu", "--sample-every", "0", "-q")
            result["losses"][f"g_{model}"] = _losses(out)
    return result


def differences(found: dict[str, Any], recorded: dict[str, Any]) -> list[str]:
    """One line per entry that differs between two fingerprints."""
    lines = []
    for section in sorted((set(found) | set(recorded)) - {"meta"}):
        a, b = found.get(section, {}), recorded.get(section, {})
        lines += [f"{section}/{key}" for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help=f"compare with {RESULT.relative_to(ROOT)}")
    parser.add_argument("--out", type=Path, default=RESULT, help="where to record the fingerprint")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        found = fingerprint(Path(work))
    if args.check:
        changed = differences(found, json.loads(RESULT.read_text()))
        print("\n".join(changed) if changed else f"identical to {RESULT.relative_to(ROOT)}")
        sys.exit(1 if changed else 0)
    kept = ("git_commit", "date", "platform", "cpu", "versions")
    found["meta"] = {k: v for k, v in environment().items() if k in kept}  # not compared
    args.out.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    print(f"recorded {len(found['synth'])} synth files and {len(found['losses'])} runs' losses in {args.out}")


if __name__ == "__main__":
    main()
