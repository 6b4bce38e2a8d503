"""Turn local downloads of public deblurring sets into the layouts ``deblur bench`` and ``deblur train`` read.

Nothing is downloaded: point each command at the folder or file you downloaded yourself (and cite the authors).
Files are linked (symbolic links) by default, or copied with ``--copy``; existing outputs are never replaced.

    python data_scripts/prepare.py gopro  --src GOPRO_Large --split test --out sets/gopro_test [--gamma]
    python data_scripts/prepare.py pairs  --blurred DIR --sharp DIR --key REGEX --sharp-name TEMPLATE --out DIR
    python data_scripts/prepare.py kernels --src Levin09.mat --out sets/levin_kernels

- ``gopro`` (Nah et al., CVPR 2017): ``GOPRO_Large/<split>/<scene>/{blur,blur_gamma,sharp}`` becomes
  ``<out>/<scene>/blur`` + ``<out>/<scene>/sharp`` (``--gamma`` takes ``blur_gamma``, the gamma-correct blur).
- ``pairs``: any set whose blurred and sharp files are matched by name. ``--key`` is a regular expression that
  must match each blurred file's stem; ``--sharp-name`` is the sharp file's stem, formatted with the expression's
  groups. Köhler et al. (ECCV 2012) — blurred ``Blurry1_1.png``, ground-truth frames ``GroundTruth1_1_<n>.png``::

      --key 'Blurry(\\d+)_(\\d+)' --sharp-name 'GroundTruth{0}_{1}_1'

  (one ground-truth frame per image: their own protocol takes the best of 199 aligned frames, which this does not
  reproduce). Lai et al. (CVPR 2016), synthetic set — ``blurred/<image>_kernel_<k>.png``, ``ground_truth/<image>.png``::

      --key '(.+)_kernel_\\d+' --sharp-name '{0}'

  The output is ``<out>/input/`` + ``<out>/target/`` with the blurred stems as names.
- ``kernels``: a kernel file or folder (PNG/NPY/MAT; Levin et al. 2009's ``Levin09.mat`` needs ``h5py``) becomes a
  folder of validated, centred ``<name>.npy`` kernels (sum 1), with a PNG preview each in ``preview/``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

import numpy as np

from deblur.errors import DeblurError
from deblur.io import atomic_write_bytes, encode_npy, list_images, write_image


def place(source: Path, target: Path, copy: bool) -> None:
    """Link (or copy) ``source`` to ``target``; an existing target is an error."""
    if target.exists() or target.is_symlink():
        raise DeblurError(f"{target} exists: choose an empty --out folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    if copy:
        shutil.copy2(source, target)
    else:
        target.symlink_to(source.resolve())


def gopro(src: Path, split: str, out: Path, gamma: bool, copy: bool) -> int:
    root = src / split
    if not root.is_dir():
        raise DeblurError(f"{root} does not exist: give the GOPRO_Large folder that holds train/ and test/")
    blur_name = "blur_gamma" if gamma else "blur"
    count = 0
    for scene in sorted(p for p in root.iterdir() if p.is_dir()):
        blurred, sharp = scene / blur_name, scene / "sharp"
        if not (blurred.is_dir() and sharp.is_dir()):
            raise DeblurError(f"{scene} lacks {blur_name}/ or sharp/: is this GOPRO_Large?")
        for path in list_images(blurred):
            partner = sharp / path.name
            if not partner.is_file():
                raise DeblurError(f"{path} has no sharp counterpart {partner}")
            place(path, out / scene.name / "blur" / path.name, copy)
            place(partner, out / scene.name / "sharp" / path.name, copy)
            count += 1
    return count


def pairs(blurred: Path, sharp: Path, key: str, sharp_name: str, out: Path, copy: bool) -> int:
    pattern = re.compile(key)
    sharp_files = {p.stem: p for p in list_images(sharp)}
    count = 0
    for path in list_images(blurred):
        match = pattern.fullmatch(path.stem)
        if not match:
            continue
        stem = sharp_name.format(*match.groups(), **match.groupdict())
        if stem not in sharp_files:
            raise DeblurError(f"{path}: no sharp image named {stem}.* in {sharp}")
        place(path, out / "input" / path.name, copy)
        place(sharp_files[stem], out / "target" / (path.stem + sharp_files[stem].suffix), copy)
        count += 1
    if not count:
        raise DeblurError(f"no file stem in {blurred} matches --key {key!r}")
    return count


def kernels(src: Path, out: Path) -> int:
    import torch

    from deblur.synth.bank import kernel_label, read_kernel_bank

    bank = read_kernel_bank(src)
    for name, kernel in bank:
        stem = kernel_label(name)
        atomic_write_bytes(out / f"{stem}.npy", encode_npy(kernel.astype(np.float32)), overwrite=False)
        preview = torch.from_numpy(kernel / kernel.max()).float()[None]
        write_image(out / "preview" / f"{stem}.png", preview, overwrite=False)
    return len(bank)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    g = commands.add_parser("gopro", help="GOPRO_Large -> <scene>/blur + <scene>/sharp")
    g.add_argument("--src", type=Path, required=True)
    g.add_argument("--split", default="test", choices=["train", "test"])
    g.add_argument("--gamma", action="store_true", help="use blur_gamma instead of blur")
    p = commands.add_parser("pairs", help="blurred/sharp files matched by name -> input/ + target/")
    p.add_argument("--blurred", type=Path, required=True)
    p.add_argument("--sharp", type=Path, required=True)
    p.add_argument("--key", required=True, help="regular expression matching a blurred file's stem")
    p.add_argument("--sharp-name", required=True, help="sharp stem, formatted with the expression's groups")
    k = commands.add_parser("kernels", help="a kernel file or folder -> <name>.npy + <name>.png")
    k.add_argument("--src", type=Path, required=True)
    for command in (g, p, k):
        command.add_argument("--out", type=Path, required=True)
    for command in (g, p):
        command.add_argument("--copy", action="store_true", help="copy files instead of linking them")
    args = parser.parse_args(argv)
    try:
        if args.command == "gopro":
            count = gopro(args.src, args.split, args.out, args.gamma, args.copy)
        elif args.command == "pairs":
            count = pairs(args.blurred, args.sharp, args.key, args.sharp_name, args.out, args.copy)
        else:
            count = kernels(args.src, args.out)
    except (DeblurError, re.error) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(f"Prepared {count} {'kernels' if args.command == 'kernels' else 'pairs'} in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
