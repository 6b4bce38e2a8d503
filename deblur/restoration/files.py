"""``deblur restore`` on files: inputs (files, folders, globs) to outputs, one file at a time, each written
atomically, with bit depth, alpha, EXIF and ICC profile kept and no input ever replaced."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from deblur.config import RestoreConfig
from deblur.device import resolve_device
from deblur.errors import ConfigError, DeblurError
from deblur.io import (
    IMAGE_EXTENSIONS,
    Photo,
    atomic_write_bytes,
    encode_npy,
    encode_photo,
    list_images,
    read_photo,
    write_image,
)
from deblur.restoration.blind import BlindEstimate, BlindRestorer
from deblur.restoration.pipeline import NonFiniteOutput, prepare_restorer, restore
from deblur.restoration.tiling import auto_tile


def output_path(source: Path, root: Path | None, out_dir: Path | None, suffix: str) -> Path:
    """Where the restored ``source`` goes: beside it with ``suffix`` added to the stem, or under ``out_dir``
    (mirroring its place below ``root`` when it came from a folder)."""
    if out_dir is None:
        return source.with_name(f"{source.stem}{suffix}{source.suffix}")
    relative = source.relative_to(root) if root is not None else Path(source.name)
    return out_dir / relative


def collect_inputs(
    inputs: Sequence[str | Path], recursive: bool = False, skip_suffix: str | None = None
) -> tuple[list[tuple[Path, Path | None]], list[str]]:
    """``(file, folder it came from)`` for every input file, folder (``recursive``: with sub-folders) or glob, and
    one message for each input that names nothing (a missing path, a glob that matches no image, a folder with no
    image). Files of a folder whose stem ends with ``skip_suffix`` (earlier outputs written beside their inputs)
    are left out."""
    found: list[tuple[Path, Path | None]] = []
    errors: list[str] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            images = list_images(path, recursive=recursive)
            kept = [p for p in images if not (skip_suffix and p.stem.endswith(skip_suffix))]
            found += [(p, path) for p in kept]
            if not kept:
                what = "image" if not images else f"image that is not an earlier output (*{skip_suffix})"
                hint = "" if recursive or images else " (pass -r to include its sub-folders)"
                errors.append(f"{raw}: no {what} in this folder{hint}")
        elif path.is_file():
            found.append((path, None))
        elif any(c in str(raw) for c in "*?["):
            matches = sorted(Path(m) for m in glob.glob(str(raw), recursive=recursive))
            files = [m for m in matches if m.is_file() and m.suffix.lower() in IMAGE_EXTENSIONS]
            found += [(m, None) for m in files]
            if not files:
                errors.append(f"{raw}: no images match")
        else:
            errors.append(f"{raw}: no such file or folder")
    return found, errors


@dataclass
class RestoreReport:
    """What :func:`restore_files` did: the ``(input, output)`` pairs written, one message per failed input, the
    model's metadata and how many inputs it tried."""

    written: list[tuple[Path, Path]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)
    total: int = 0
    estimates: list[tuple[Path, BlindEstimate]] = field(default_factory=list)  # blind restoration's, per input


def save_kernel(kernel: torch.Tensor, path: Path, overwrite: bool = False) -> tuple[Path, Path]:
    """Write a kernel as a picture (``path``, 16-bit PNG scaled to its peak) and as ``path`` with ``.npy`` (the
    values, summing to 1), each atomically; returns both paths."""
    kernel = kernel.detach().float().cpu()
    picture, values = path.with_suffix(".png"), path.with_suffix(".npy")
    picture.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(values, encode_npy(kernel.numpy()), overwrite=overwrite)
    write_image(picture, (kernel / kernel.max().clamp(min=1e-12))[None], bit_depth=16, overwrite=overwrite)
    return picture, values


def _kernel_path(option: Path, output: Path, count: int) -> Path:
    """Where ``--save-kernel`` writes an output's kernel: the given file for one input, else inside the folder."""
    if count == 1 and not option.is_dir():
        return option
    return option / f"{output.stem}_kernel.png"


def restore_files(
    inputs: Sequence[str | Path], config: RestoreConfig | None = None, progress: bool = False
) -> RestoreReport:
    """Restore image files, folders and globs as ``deblur restore`` does: read (format, size and animation
    checked first), restore, encode (bit depth, alpha, EXIF and ICC kept) and write each output atomically.

    A file that cannot be read or written is reported in ``report.errors`` and the others go on; existing outputs
    are kept unless ``config.overwrite``, and an input is never replaced.

    Args:
        inputs: files, folders or glob patterns.
        config: outputs, model, tiling, device (see :class:`deblur.config.RestoreConfig`).
        progress: show a progress bar over several files.

    Raises:
        ConfigError: settings that cannot work (``-o`` with several inputs); ModelFileError: a bad model.
    """
    from tqdm import tqdm

    config = config or RestoreConfig()
    if config.out_dir is not None and config.out_dir.exists() and not config.out_dir.is_dir():
        raise ConfigError(f"--out-dir {config.out_dir} is a file: give a folder for the outputs")
    beside = config.output is None and config.out_dir is None  # outputs written next to their inputs
    files, errors = collect_inputs(inputs, config.recursive, skip_suffix=config.suffix if beside else None)
    if config.out_dir is not None:  # an output folder inside an input folder: its files are outputs, not inputs
        outputs = config.out_dir.resolve()
        files = [(f, root) for f, root in files if root is None or not f.resolve().is_relative_to(outputs)]
    if config.output is not None and len(files) != 1:
        raise ConfigError(f"-o takes one input image, got {len(files)}: use --out-dir for several")
    device = resolve_device(config.device)
    net, info, reach = prepare_restorer(
        config.model, config.kernel, device, config.kernel_weight, config.kernel_size, config.strength
    )
    if config.save_kernel is not None and not isinstance(net, BlindRestorer):
        raise ConfigError("--save-kernel needs blind restoration: a model with a kernel estimator and no --kernel")
    overlap = max(config.overlap, reach)  # each tile sees the whole kernel's reach of context
    tile = auto_tile(device) if config.tile is None else config.tile
    report = RestoreReport(errors=errors, model=info, total=len(files))
    claimed: dict[Path, Path] = {}  # output -> the input it is written for
    model_name = str(config.model) if config.model is not None else "the default model"
    for source, root in tqdm(files, desc="restore", unit="image", disable=not progress or len(files) < 2):
        target = config.output or output_path(source, root, config.out_dir, config.suffix)
        try:
            resolved = target.resolve()
            if resolved == source.resolve():
                raise DeblurError(f"{target} is the input: choose another output name")
            if resolved in claimed:
                raise DeblurError(
                    f"{source}: its output {target} is also the output of {claimed[resolved]}: "
                    "restore them to different folders"
                )
            claimed[resolved] = source
            if target.exists() and not config.overwrite:
                raise DeblurError(f"{target} already exists: pass --overwrite to replace it")
            photo = read_photo(source, int(config.max_pixels))
            found: list[BlindEstimate] = []
            pixels = restore(photo.pixels, net, tile=tile, overlap=overlap, half=config.half, estimates=found)
            data = encode_photo(
                Photo(pixels, photo.format, photo.exif, photo.icc_profile), target.suffix, config.quality
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            if config.save_kernel is not None and found:
                save_kernel(found[0].kernel, _kernel_path(config.save_kernel, target, len(files)), config.overwrite)
            atomic_write_bytes(target, data, overwrite=config.overwrite)
            report.written.append((source, target))
            report.estimates.extend((source, estimate) for estimate in found)
        except NonFiniteOutput:
            report.errors.append(f"{source}: {model_name} returned NaN or infinite values: the model is broken")
        except (DeblurError, OSError) as exc:
            if isinstance(exc, DeblurError):
                message = str(exc)
            elif exc.filename and Path(exc.filename) != source:  # the output's name or folder is at fault
                message = f"{source}: cannot write {exc.filename}: {exc.strerror or exc}"
            else:
                message = f"{source}: {exc.strerror or exc}"
            named = str(source) in message or str(target) in message
            report.errors.append(message if named else f"{source}: {message}")
        except MemoryError:
            report.errors.append(f"{source}: not enough memory to restore it: pass a smaller --tile")
        except Exception as exc:  # one bad file must never cost the others
            report.errors.append(f"{source}: {type(exc).__name__}: {exc} (unexpected: please report it)")
    return report
