"""``deblur restore`` on files: inputs (files, folders, globs) to outputs, one file at a time, each written
atomically, with bit depth, alpha, EXIF and ICC profile kept and no input ever replaced."""

from __future__ import annotations

import glob
import os
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
    inputs: Sequence[str | Path] | str | os.PathLike[str], recursive: bool = False, skip_suffix: str | None = None
) -> tuple[list[tuple[Path, Path | None]], list[str]]:
    """``(file, folder it came from)`` for every input file, folder (``recursive``: with sub-folders) or glob, and
    one message for each input that names nothing (a missing path, a glob that matches no image, a folder with no
    image). Files of a folder whose stem ends with ``skip_suffix`` (earlier outputs written beside their inputs)
    are left out."""
    found: list[tuple[Path, Path | None]] = []
    errors: list[str] = []
    if isinstance(inputs, (str, os.PathLike)):  # one path, not a sequence of one-character paths
        inputs = [inputs]
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            unreadable: list[str] = []
            images = list_images(path, recursive=recursive, unreadable=unreadable)
            errors += [f"{raw}: {message}" for message in unreadable]
            kept = [p for p in images if not (skip_suffix and p.stem.endswith(skip_suffix))]
            found += [(p, path) for p in kept]
            if not kept and not unreadable:
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
        elif path.exists():
            errors.append(f"{raw}: not a regular file (a pipe, socket or device): give an image file")
        else:
            errors.append(f"{raw}: no such file or folder")
    return found, errors


def _unique(files: list[tuple[Path, Path | None]]) -> tuple[list[tuple[Path, Path | None]], list[str]]:
    """``files`` with each file once (the first time it is named), and a note for each repeat."""
    seen: dict[Path, Path] = {}
    kept: list[tuple[Path, Path | None]] = []
    notes: list[str] = []
    for file, root in files:
        resolved = file.resolve()
        if resolved in seen:
            same = "" if file == seen[resolved] else f" (as {seen[resolved]})"
            notes.append(f"{file} is named more than once{same}: restored once")
            continue
        seen[resolved] = file
        kept.append((file, root))
    return kept, notes


@dataclass
class RestoreReport:
    """What :func:`restore_files` did: the ``(input, output)`` pairs written, one message per failed input, the
    model's metadata and how many inputs it tried."""

    written: list[tuple[Path, Path]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)
    total: int = 0
    estimates: list[tuple[Path, BlindEstimate]] = field(default_factory=list)  # blind restoration's, per input
    notes: list[str] = field(default_factory=list)  # what was done that was not asked for (repeats dropped)


def save_kernel(kernel: torch.Tensor, path: Path, overwrite: bool = False) -> tuple[Path, Path]:
    """Write a kernel as a picture (``path``, 16-bit PNG scaled to its peak) and as ``path`` with ``.npy`` (the
    values, summing to 1), each atomically; returns both paths."""
    kernel = kernel.detach().float().cpu()
    picture, values = path.with_suffix(".png"), path.with_suffix(".npy")
    picture.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(values, encode_npy(kernel.numpy()), overwrite=overwrite)
    write_image(picture, (kernel / kernel.max().clamp(min=1e-12))[None], bit_depth=16, overwrite=overwrite)
    return picture, values


def _kernel_path(option: Path, output: Path, relative: Path, count: int) -> Path:
    """Where ``--save-kernel`` writes an output's kernel picture (its values go beside it, ``.npy``): the given
    ``.png`` file for one input, else inside the folder, mirroring the output's ``relative`` path with its extension
    kept in the name (``sub/x.png`` -> ``sub/x_png_kernel.png``), so that no two outputs share a kernel."""
    if count == 1 and not option.is_dir():
        return option
    return option / relative.parent / f"{output.stem}_{output.suffix.lstrip('.')}_kernel.png"


def _outside_out_dir(
    files: list[tuple[Path, Path | None]], out_dir: Path
) -> tuple[list[tuple[Path, Path | None]], list[str]]:
    """The input files that are not earlier outputs, and one message per input folder that yields none. An
    ``out_dir`` strictly inside an input folder holds outputs, not inputs: its files are left out. An ``out_dir``
    that is the input folder is refused (the outputs would replace the inputs); one that holds the input folder
    leaves every file in (the plan refuses any output that would replace an input)."""
    outputs = out_dir.resolve()
    kept: list[tuple[Path, Path | None]] = []
    errors: list[str] = []
    roots: dict[Path, int] = {}  # input folder -> how many of its files are kept
    for file, root in files:
        if root is None:
            kept.append((file, root))
            continue
        folder = root.resolve()
        count = roots.setdefault(root, 0)
        if folder == outputs:
            continue
        if outputs.is_relative_to(folder) and file.resolve().is_relative_to(outputs):
            continue
        roots[root] = count + 1
        kept.append((file, root))
    for root, count in roots.items():
        if root.resolve() == outputs:
            errors.append(f"{root}: --out-dir {out_dir} is this input folder: give another folder for the outputs")
        elif count == 0:
            errors.append(f"{root}: no image outside --out-dir {out_dir} in this folder (earlier outputs are left out)")
    return kept, errors


def _check_kernel_option(option: Path, count: int) -> None:
    """Refuse a ``--save-kernel`` that cannot name what is written: for one input a ``.png`` name (the values go
    beside it as ``.npy``) or a folder; for several, a folder."""
    if count == 1 and not option.is_dir() and option.suffix.lower() != ".png":
        raise ConfigError(
            f"--save-kernel {option}: a kernel is written as a .png picture and .npy values: "
            "give a name ending in .png (or a folder)"
        )
    if count > 1 and option.exists() and not option.is_dir():
        raise ConfigError(f"--save-kernel {option} is a file: give a folder for the kernels of several inputs")


@dataclass
class _Job:
    """One input of a run and every file it will write: the output, then (``--save-kernel``) the kernel's
    picture and values."""

    source: Path
    target: Path
    kernel: Path | None = None  # the kernel picture; its values are ``kernel.with_suffix(".npy")``

    def targets(self) -> list[tuple[Path, str]]:
        """Each file this job writes, with the option that named it."""
        files = [(self.target, "output")]
        if self.kernel is not None:
            files += [(self.kernel, "--save-kernel"), (self.kernel.with_suffix(".npy"), "--save-kernel")]
        return files


def _plan(jobs: list[_Job], overwrite: bool, from_option: bool) -> tuple[list[_Job], list[str]]:
    """The jobs whose files can all be written, and one message per refused job: a target that is an input of the
    run, that another target of the run already claims, that is a folder, or that exists (without
    ``overwrite``). Checked for every file before anything is restored, so a refused job writes nothing."""
    inputs = {job.source.resolve(): job.source for job in jobs}
    claimed: dict[Path, tuple[str, Path]] = {}  # resolved target -> (what it is, the input it is written for)
    accepted: list[_Job] = []
    errors: list[str] = []
    for job in jobs:
        mine: dict[Path, tuple[str, Path]] = {}
        problem = None
        for target, option in job.targets():
            resolved = target.resolve()
            what = "output" if option == "output" else "kernel file"
            fix = "choose another --save-kernel" if option == "--save-kernel" else "choose another output"
            if target.is_dir():
                problem = (
                    f"-o {target} is a folder: use --out-dir {target} to write into it"
                    if from_option and option == "output"
                    else f"{job.source}: its {what} {target} is a folder: {fix}"
                )
            elif resolved == job.source.resolve():
                problem = f"{'--save-kernel ' if option != 'output' else ''}{target} is the input: {fix}"
            elif resolved in inputs:
                problem = f"{job.source}: its {what} {target} is the input {inputs[resolved]}: {fix}"
            elif resolved in mine:
                problem = f"{job.source}: its {what} {target} is also its {mine[resolved][0]}: {fix}"
            elif resolved in claimed:
                other, owner = claimed[resolved]
                problem = f"{job.source}: its {what} {target} is also the {other} of {owner}: {fix}"
                if other == what == "output":
                    problem = f"{job.source}: its output {target} is also the output of {owner}: " + (
                        "restore them to different folders"
                    )
            elif os.path.lexists(target) and not overwrite:
                problem = f"{target} already exists: pass --overwrite to replace it"
            if problem is not None:
                break
            mine[resolved] = (what, job.source)
        if problem is not None:
            errors.append(problem if str(job.source) in problem else f"{job.source}: {problem}")
        else:
            claimed.update(mine)
            accepted.append(job)
    return accepted, errors


def restore_files(
    inputs: Sequence[str | Path] | str | os.PathLike[str], config: RestoreConfig | None = None, progress: bool = False
) -> RestoreReport:
    """Restore image files, folders and globs as ``deblur restore`` does: read (format, size and animation
    checked first), restore, encode (bit depth, alpha, EXIF and ICC kept) and write each output atomically.

    A file that cannot be read or written is reported in ``report.errors`` and the others go on; existing outputs
    are kept unless ``config.overwrite``, and an input is never replaced.

    Args:
        inputs: files, folders or glob patterns (one path, a ``str`` or ``Path``, is one input); a file named
            twice is restored once, with a note in ``report.notes``.
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
    files, notes = _unique(files)
    if config.out_dir is not None:
        files, dropped = _outside_out_dir(files, config.out_dir)
        errors += dropped
    if config.output is not None and len(files) > 1:
        raise ConfigError(f"-o takes one input image, got {len(files)}: use --out-dir for several")
    if not files:  # each input that named nothing has its message; a run that restores nothing says so
        return RestoreReport(errors=errors or ["nothing to restore: no input names an image"], notes=notes)
    device = resolve_device(config.device)
    net, info, reach = prepare_restorer(
        config.model, config.kernel, device, config.kernel_weight, config.kernel_size, config.strength, config.region
    )
    if config.save_kernel is not None and not isinstance(net, BlindRestorer):
        raise ConfigError("--save-kernel needs blind restoration: a model with a kernel estimator and no --kernel")
    if config.save_kernel is not None:
        _check_kernel_option(config.save_kernel, len(files))
    overlap = max(config.overlap, reach)  # each tile sees the whole kernel's reach of context
    tile = auto_tile() if config.tile is None else config.tile
    jobs = []
    for source, root in files:
        target = config.output or output_path(source, root, config.out_dir, config.suffix)
        kernel = None
        if config.save_kernel is not None:
            relative = (source.relative_to(root).parent if root is not None else Path()) / target.name
            kernel = _kernel_path(config.save_kernel, target, relative, len(files))
        jobs.append(_Job(source, target, kernel))
    jobs, refused = _plan(jobs, config.overwrite, from_option=config.output is not None)
    report = RestoreReport(errors=errors + refused, model=info, total=len(files), notes=notes)
    if config.model is None and config.kernel is not None:  # C12: name what actually ran
        restorer_name, verdict = "the deconvolution with this kernel", "try --kernel-weight or another kernel"
    else:
        restorer_name = str(config.model) if config.model is not None else "the default model"
        verdict = "the model is broken"
    for job in tqdm(jobs, desc="restore", unit="image", disable=not progress or len(files) < 2):
        source, target = job.source, job.target
        try:
            photo = read_photo(source, int(config.max_pixels))
            found: list[BlindEstimate] = []
            pixels = restore(photo.pixels, net, tile=tile, overlap=overlap, half=config.half, estimates=found)
            data = encode_photo(
                Photo(pixels, photo.format, photo.exif, photo.icc_profile), target.suffix, config.quality
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, data, overwrite=config.overwrite)
            report.written.append((source, target))
            report.estimates.extend((source, estimate) for estimate in found)
            if job.kernel is not None and found:  # after the output: a kernel never stands without its photo
                save_kernel(found[0].kernel, job.kernel, config.overwrite)
        except NonFiniteOutput:
            report.errors.append(f"{source}: {restorer_name} returned NaN or infinite values: {verdict}")
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
