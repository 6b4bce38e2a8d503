"""Files: listing the images under a folder, naming outputs after their inputs, and atomic writes. Every write goes to a
temporary file in the target folder that is renamed into place, so a crash or a full disk never leaves a half-written
file, and an existing file is only replaced when asked.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from deblur.errors import ImageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")


def list_images(root: str | Path, recursive: bool = True, unreadable: list[str] | None = None) -> list[Path]:
    """Image files under ``root`` (or ``root`` itself if it is a file), sorted, hidden files skipped; links to
    folders are not followed.

    A folder that cannot be read (no permission, gone mid-walk) is never skipped silently: its message goes to
    ``unreadable`` when given (the other folders are listed), else it raises.

    Raises:
        ImageError: ``root`` does not exist, or a folder under it cannot be read (without ``unreadable``).
    """
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise ImageError(f"{root} does not exist: give a folder of images or an image file")

    def refused(exc: OSError) -> None:
        message = f"cannot read the folder {exc.filename or root}: {exc.strerror or exc}"
        if unreadable is None:
            raise ImageError(message) from exc
        unreadable.append(message)

    found = []
    for folder, folders, names in os.walk(root, onerror=refused):
        if not recursive:
            folders.clear()
        base = Path(folder)
        for name in names:
            path = base / name
            if not name.startswith(".") and path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
                found.append(path)
    return sorted(found)


def atomic_write_bytes(path: str | Path, data: bytes, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename.

    The file gets the mode a new file gets under the process's umask, or the mode of the file it replaces. The
    temporary name is short (``.deblur-XXXXXXXX.tmp``), so any name the file system allows can be written.

    Raises:
        ImageError: the file exists and ``overwrite`` is false, or the write failed (the target is untouched).
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise ImageError(f"{path} already exists: pass --overwrite to replace it")
    tmp = None
    try:  # every failure, the temporary file's creation included, names the target, not the hidden temporary
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".deblur-", suffix=".tmp", dir=path.parent)
        if hasattr(os, "fchmod"):  # POSIX: mkstemp's 0600 would otherwise stay
            os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_new(Path(tmp), path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, FileExistsError):
            raise ImageError(f"{path} already exists: pass --overwrite to replace it") from exc
        if isinstance(exc, OSError):
            raise ImageError(f"cannot write {path}: {exc.strerror or exc} (nothing was written)") from exc
        raise
    return path


def _mode_for(path: Path) -> int:
    """The permission bits for a file written at ``path``: those of the file there, else ``0o666`` less the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _link_new(tmp: Path, path: Path) -> None:
    """Give the finished ``tmp`` the name ``path`` only if nothing has it yet, atomically (a hard link fails on an
    existing name, so two processes never replace each other's file); plain rename where links are unsupported."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:
        if path.exists():
            raise FileExistsError(path) from None
        os.replace(tmp, path)
        return
    tmp.unlink()


def encode_npy(array: np.ndarray) -> bytes:
    """The bytes of a ``.npy`` file holding ``array`` (no pickled objects)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def atomic_write_json(path: str | Path, data: Any, overwrite: bool = True) -> Path:
    """Write ``data`` as indented JSON (keys in insertion order, trailing newline), atomically."""
    return atomic_write_bytes(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"), overwrite=overwrite)


def relative_stems(paths: Iterable[Path], root: Path) -> list[str]:
    """Names for outputs that mirror inputs: the path relative to ``root`` without its extension, unique: inputs
    that share a stem (``x.png`` and ``x.jpg``; ``X.png`` and ``x.png``, one file on case-insensitive systems)
    keep their extension in the name (``x_png``, ``x_jpg``), so that no output is written over another.

    Example:
        >>> relative_stems([Path("d/x.png"), Path("d/x.jpg"), Path("d/y.png")], Path("d/x.png"))
        ['x_png', 'x_jpg', 'y']
    """
    root = root if root.is_dir() else root.parent
    paths = list(paths)
    stems = [p.relative_to(root).with_suffix("").as_posix() for p in paths]
    counts: dict[str, int] = {}
    for stem in stems:
        counts[stem.casefold()] = counts.get(stem.casefold(), 0) + 1
    names = [
        f"{stem}_{p.suffix.lstrip('.').lower()}" if counts[stem.casefold()] > 1 else stem
        for stem, p in zip(stems, paths, strict=True)
    ]
    if len({n.casefold() for n in names}) != len(names):  # the same stem and extension, differing in case only
        names = [f"{name}_{i}" for i, name in enumerate(names)]
    return names
