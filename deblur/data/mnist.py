"""The MNIST family from local files: IDX files (MNIST, Fashion-MNIST, KMNIST) and the classic ``mnist.pkl.gz``.

Nothing is downloaded. A folder holding ``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
``t10k-images-idx3-ubyte[.gz]`` and ``t10k-labels-idx1-ubyte[.gz]`` gives the splits ``train`` (the first
``60000 - holdout`` training images), ``val`` (the last ``holdout``, held out from GAN training to choose the
Parzen window width, as in Goodfellow et al. 2014) and ``test``. ``mnist.pkl.gz`` (50k/10k/10k, as published with
Theano's tutorials) is a Python pickle; it is read with an unpickler that only rebuilds NumPy arrays, so a
tampered file cannot run code.
"""

from __future__ import annotations

import gzip
import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from deblur.errors import DeblurError

IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class DatasetError(DeblurError):
    """A data set file that is missing or malformed."""


@dataclass(frozen=True)
class LabelledImages:
    """Images as float32 ``(N, C, H, W)`` in [0, 1] with int64 labels ``(N,)`` (or ``None``)."""

    images: torch.Tensor
    labels: torch.Tensor | None

    def __len__(self) -> int:
        return int(self.images.shape[0])


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into an array, checking its header against its size.

    Raises:
        DatasetError: missing file, bad magic number or truncated data.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DatasetError(f"{path} is not an IDX file (bad magic number)")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    expected = offset + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DatasetError(f"{path} is truncated or padded: {len(raw)} bytes, header says {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def _find(root: Path, stem: str) -> Path:
    for candidate in (root / f"{stem}.gz", root / stem, root / stem.replace("-idx", ".idx")):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"{root} has no {stem}[.gz]: expected the four IDX files of MNIST / Fashion-MNIST / KMNIST")


def _load_idx_split(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(_find(root, IDX_NAMES[split][0]))
    labels = read_idx(_find(root, IDX_NAMES[split][1]))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetError(f"{root}: {split} images {images.shape} and labels {labels.shape} do not match")
    return images, labels


class _ArrayUnpickler(pickle.Unpickler):
    """Rebuilds only NumPy arrays, dtypes and Python containers: anything else in the pickle is refused."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module: str, name: str) -> type:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")


def load_mnist_pickle(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``mnist.pkl.gz``: ``{"train", "val", "test"}`` -> (images ``(N, 28, 28)`` float32 in [0, 1], labels).

    Raises:
        DatasetError: unreadable file, unexpected content, or anything but arrays in the pickle.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as handle:
            data = _ArrayUnpickler(io.BytesIO(handle.read()), encoding="latin1").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError) as exc:
        raise DatasetError(f"cannot load {path}: {exc}") from exc
    if not (isinstance(data, (tuple, list)) and len(data) == 3):
        raise DatasetError(f"{path}: expected (train, valid, test) pairs of arrays")
    splits = {}
    for name, pair in zip(("train", "val", "test"), data, strict=True):
        images, labels = (np.asarray(a) for a in pair)
        side = int(round(np.sqrt(images.shape[-1])))
        splits[name] = (images.reshape(-1, side, side).astype(np.float32), labels.astype(np.int64))
    return splits


def load_mnist_family(path: str | Path, split: str = "train", holdout: int = 10000) -> LabelledImages:
    """One split of an MNIST-format data set as float images ``(N, 1, 28, 28)`` in [0, 1] with labels.

    Args:
        path: a folder of the four IDX files, or ``mnist.pkl.gz``.
        split: ``train``, ``val`` or ``test``.
        holdout: for IDX folders, how many of the last training images form ``val`` (not trained on).

    Raises:
        DatasetError: missing or malformed files, or an unknown split.
    """
    path = Path(path)
    if split not in ("train", "val", "test"):
        raise DatasetError(f"unknown split {split!r}: use train, val or test")
    if path.is_file():
        images, labels = load_mnist_pickle(path)[split]
    elif path.is_dir():
        images, labels = _load_idx_split(path, "test" if split == "test" else "train")
        if split != "test":
            if not 0 <= holdout < len(images):
                raise DatasetError(f"holdout must be between 0 and {len(images) - 1}, got {holdout}")
            cut = len(images) - holdout
            images, labels = (images[:cut], labels[:cut]) if split == "train" else (images[cut:], labels[cut:])
        images = images.astype(np.float32) / 255.0
    else:
        raise DatasetError(f"{path} does not exist: give a folder of MNIST-format IDX files or mnist.pkl.gz")
    return LabelledImages(torch.from_numpy(np.ascontiguousarray(images))[:, None], torch.from_numpy(labels).long())


def is_mnist_family(path: str | Path) -> bool:
    """Whether ``path`` looks like MNIST-format data (a ``.pkl[.gz]`` file or a folder with the IDX files)."""
    path = Path(path)
    if path.is_file():
        return path.name.endswith((".pkl", ".pkl.gz"))
    return path.is_dir() and any((path / f"{IDX_NAMES['train'][0]}{ext}").is_file() for ext in ("", ".gz"))
