"""Whole folders: turn a folder of sharp photos into a synthetic test or training set on disk.

``synthesize_folder`` writes ``blurred/``, ``sharp/`` and ``kernels/`` (NPY with the exact float32 kernel, PNG
scaled to its maximum for viewing), mirroring the input folder's structure, and a ``manifest.json`` with the
config, the seed and every sample's parameters. Images are processed one at a time in sorted order from one
seeded generator, and nothing in the outputs depends on the time or the machine's state, so the same arguments
reproduce the same files byte for byte on the same device.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from deblur.config import SynthConfig, config_to_dict
from deblur.errors import ConfigError, DeblurError, ImageError
from deblur.io import (
    atomic_write_bytes,
    atomic_write_json,
    encode_npy,
    list_images,
    read_image,
    relative_stems,
    write_image,
)
from deblur.ops.conv import crop_valid
from deblur.synth.degrade import degrade, sample_params
from deblur.version import __version__

MANIFEST_FORMAT = "deblur-synth/1"


def _check_folders(data: Path, out: Path) -> None:
    data_dir, out_dir = data.resolve(), out.resolve()
    if data_dir.is_dir() and (out_dir == data_dir or data_dir in out_dir.parents):
        raise ConfigError(f"--out {out} is inside --data {data}: choose an output folder outside the input folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out} is a file: give a folder")


def _incomplete(exc: ImageError, out: Path, written: int) -> ImageError:
    """The error of a set left partial: the failure, and how many of the set's files were written before it."""
    return ImageError(
        f"{exc}; the set in {out} is incomplete: {written} of its files were written before this failure, and no"
        " manifest.json"
    )


def synthesize_folder(
    data: str | Path,
    out: str | Path,
    config: SynthConfig | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    bit_depth: int = 8,
    overwrite: bool = False,
    progress: bool = True,
    limit: int | None = None,
) -> dict[str, Any]:
    """Write a synthetic (blurred, sharp, kernel) set made from every image under ``data``.

    Args:
        data: a folder of sharp images (searched recursively) or one image.
        out: output folder; receives ``blurred/``, ``sharp/``, ``kernels/`` and ``manifest.json``.
        config: the degradation; ``SynthConfig()`` by default.
        seed: seed of the one generator that draws every parameter, in sorted file order.
        device: where blurring and noise run (results are bit-identical per device, not across devices).
        bit_depth: 8 or 16 bits per channel for the PNG images.
        overwrite: replace files of an earlier run; otherwise existing outputs are an error and nothing is written.
        progress: show a progress bar.
        limit: use only the first ``limit`` images.

    Returns:
        The manifest that was written.

    Raises:
        DeblurError: no images, outputs that exist, unreadable inputs, or an invalid config.
    """
    data, out = Path(data), Path(out)
    config = config or SynthConfig()
    device = torch.device(device)
    _check_folders(data, out)
    files = list_images(data)[:limit]
    if not files:
        raise ImageError(f"no images (PNG/JPEG/TIFF/WebP/BMP) found under {data}")
    names = relative_stems(files, data)
    targets = {
        name: {
            "blurred": f"blurred/{name}.png",
            "sharp": f"sharp/{name}.png",
            "kernel": f"kernels/{name}.npy",
            "kernel_png": f"kernels/{name}.png",
        }
        for name in names
    }
    if not overwrite:
        existing = [p for t in targets.values() for p in t.values() if (out / p).exists()]
        if existing or (out / "manifest.json").exists():
            shown = existing[0] if existing else "manifest.json"
            raise ImageError(f"{out / shown} already exists: pass --overwrite to replace an earlier run")

    generator = torch.Generator().manual_seed(seed)
    items: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    written = 0  # files of this set written so far: a failure part-way says how many
    try:
        for path, name in tqdm(list(zip(files, names, strict=True)), desc="synth", unit="img", disable=not progress):
            sharp = read_image(path)[None].to(device)  # (1, 3, H, W)
            params = sample_params(config, 1, generator, device)
            try:
                blurred = degrade(sharp, params)
            except ConfigError as exc:  # an image too small for the kernel
                warnings.warn(f"skipped {path}: {exc}", stacklevel=2)
                skipped.append({"source": str(path), "reason": str(exc)})
                continue
            if config.valid:
                sharp = crop_valid(sharp, config.size)
            kernel = params.kernels[0].cpu()
            paths = targets[name]
            write_image(out / paths["blurred"], blurred[0], bit_depth=bit_depth, overwrite=True)
            written += 1
            write_image(out / paths["sharp"], sharp[0], bit_depth=bit_depth, overwrite=True)
            written += 1
            atomic_write_bytes(out / paths["kernel"], encode_npy(kernel.numpy().astype(np.float32)))
            written += 1
            write_image(out / paths["kernel_png"], (kernel / kernel.max())[None], bit_depth=16, overwrite=True)
            written += 1
            items.append(
                {
                    "name": name,
                    "source": path.relative_to(data).as_posix() if data.is_dir() else path.name,
                    **paths,
                    "height": int(blurred.shape[-2]),
                    "width": int(blurred.shape[-1]),
                    **params.records()[0],
                }
            )
    except ImageError as exc:  # an unreadable photo, or a write that failed (a full disk): the set is partial
        if not written:
            raise
        raise _incomplete(exc, out, written) from exc
    if not items:
        raise DeblurError(f"every image under {data} was too small for {config.size} px kernels")
    manifest = {
        "format": MANIFEST_FORMAT,
        "deblur_version": __version__,
        "seed": seed,
        "device": device.type,
        "bit_depth": bit_depth,
        "source": str(data),
        "config": config_to_dict(config),
        "count": len(items),
        "items": items,
        "skipped": skipped,
    }
    try:
        atomic_write_json(out / "manifest.json", manifest)
    except ImageError as exc:
        raise _incomplete(exc, out, written) from exc
    return manifest
