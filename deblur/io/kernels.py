"""Kernel files: blur kernels read from PNG (or other grayscale images), NPY and MATLAB files, validated. A kernel file
holds one kernel (a picture, a ``(k, k)`` array) or many (an ``(N, k, k)`` array, a MATLAB ``.mat`` file: v5 through
scipy, v7.3/HDF5 such as Levin et al.'s ``Levin09.mat`` through the optional h5py). Every kernel is checked
(two-dimensional, finite, non-negative, positive sum) and normalised to sum 1, and sizes are checked from the file
headers before anything is decoded. Kernels come back as stored: centring them is the caller's
(:func:`deblur.ops.psf.center_kernel`), since io sits below ops. Errors name the offending file.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from deblur.errors import KernelBankError
from deblur.io.photos import image_size

KERNEL_FILE_EXTENSIONS = (".png", ".npy", ".mat", ".tif", ".tiff", ".bmp", ".pgm")
IGNORED_EXTENSIONS = (".md", ".txt", ".json", ".csv")  # notes and manifests may sit beside the kernels

MAX_KERNEL_SIDE = 255
"""The largest kernel side deblur accepts, checked from file headers before anything is decoded."""

MAX_KERNELS_PER_FILE = 100_000


def validate_kernel(array: np.ndarray, source: str) -> np.ndarray:
    """Check one kernel and return it as float64, normalised to sum 1.

    Raises:
        KernelBankError: not numeric and real, not 2-D, empty, not finite, negative, or zero sum; the message names
            ``source``.
    """
    array = np.asarray(array)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise KernelBankError(f"{source}: a kernel must be a numeric array, got {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise KernelBankError(f"{source}: a kernel must be real, got complex values ({array.dtype})")
    array = array.astype(np.float64)
    while array.ndim > 2 and 1 in array.shape:  # (1, k, k), (k, k, 1): one kernel; 1xN, Nx1 and 1x1 stay 2-D
        array = np.squeeze(array, axis=array.shape.index(1))
    if array.ndim != 2 or min(array.shape) < 1:
        raise KernelBankError(f"{source}: a kernel must be a 2-D array, got shape {array.shape}")
    if max(array.shape) > MAX_KERNEL_SIDE:
        raise KernelBankError(
            f"{source}: kernel is {array.shape[0]}x{array.shape[1]}, larger than {MAX_KERNEL_SIDE} px"
        )
    if not np.all(np.isfinite(array)):
        raise KernelBankError(f"{source}: kernel contains NaN or infinite values")
    peak = np.abs(array).max()
    if array.min() < -1e-6 * max(peak, 1e-30):
        raise KernelBankError(f"{source}: kernel has negative values (min {array.min():.3g}); blur kernels are >= 0")
    if not peak > 0:
        raise KernelBankError(f"{source}: kernel sums to zero; it must have positive total weight")
    array = np.clip(array / peak, 0.0, None)  # scaled by its peak first: huge values cannot overflow the sum
    return array / array.sum()


def _read_image_kernel(path: Path) -> list[np.ndarray]:
    try:
        height, width = image_size(path)
    except Exception:
        width = height = 0  # unreadable header: the decoder below says so
    if max(width, height) > MAX_KERNEL_SIDE:
        raise KernelBankError(f"{path}: kernel is {height}x{width}, larger than {MAX_KERNEL_SIDE} px")
    data = np.fromfile(path, dtype=np.uint8)
    array = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_GRAYSCALE) if data.size else None
    if array is None:
        raise KernelBankError(f"{path}: not a readable image; kernel banks hold PNG/NPY/MAT files")
    return [array]


def _npy_shape(path: Path) -> tuple[int, ...]:
    """The shape an ``.npy`` header declares, read without loading the array."""
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, _ = reader(handle)
    return tuple(int(n) for n in shape)


def _read_npy(path: Path) -> list[np.ndarray]:
    try:
        shape = _npy_shape(path)
    except (ValueError, OSError, EOFError) as exc:
        raise KernelBankError(f"{path}: not a readable NumPy array ({exc})") from exc
    sides = [n for n in shape if n != 1][-2:]
    count = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    if any(n > MAX_KERNEL_SIDE for n in sides) or count > MAX_KERNELS_PER_FILE:
        raise KernelBankError(
            f"{path}: holds an array of shape {shape}: kernels are at most {MAX_KERNEL_SIDE} px, "
            f"at most {MAX_KERNELS_PER_FILE} per file"
        )
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise KernelBankError(f"{path}: not a readable NumPy array ({exc})") from exc
    if array.ndim == 3:
        return list(array)
    return [array]


def _split_mat_value(value: np.ndarray, name: str) -> list[tuple[str, np.ndarray]]:
    """MATLAB values: numeric 2-D arrays are kernels, 3-D arrays stack them on the last axis, cells hold them."""
    if value.dtype == object:
        return [(f"{name}{{{i + 1}}}", v) for i, v in enumerate(value.ravel())]
    if not np.issubdtype(value.dtype, np.number):
        return []
    if value.ndim == 3:
        return [(f"{name}(:,:,{i + 1})", value[:, :, i]) for i in range(value.shape[2])]
    return [(name, value)]


def _is_hdf5(path: Path) -> bool:
    """HDF5's signature sits at offset 0, 512, 1024, ...; MATLAB v7.3 files put it after a 512-byte header."""
    with open(path, "rb") as handle:
        head = handle.read(4096 + 8)
    return any(head[offset : offset + 8] == b"\x89HDF\r\n\x1a\n" for offset in (0, 512, 1024, 2048, 4096))


def _read_mat(path: Path) -> list[tuple[str, np.ndarray]]:
    import scipy.io

    if _is_hdf5(path):  # MATLAB v7.3
        return _read_mat_hdf5(path)
    try:
        variables = scipy.io.loadmat(path)
    except (ValueError, OSError, TypeError, NotImplementedError) as exc:
        raise KernelBankError(f"{path}: not a readable MATLAB file ({exc})") from exc
    kernels = []
    for name, value in variables.items():
        if not name.startswith("__"):
            kernels.extend(_split_mat_value(np.asarray(value), name))
    return kernels


def _read_mat_hdf5(path: Path) -> list[tuple[str, np.ndarray]]:
    try:
        import h5py
    except ImportError as exc:
        raise KernelBankError(f"{path} is a MATLAB v7.3 (HDF5) file: install h5py (pip install 'deblur[mat]')") from exc
    kernels: list[tuple[str, np.ndarray]] = []
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise KernelBankError(f"{path}: not a readable MATLAB v7.3 (HDF5) file ({exc})") from exc
    with handle:
        for name, item in handle.items():
            if name.startswith("#") or not isinstance(item, h5py.Dataset):
                continue
            value = item[()]
            if item.dtype.kind == "O":  # a cell array: object references to the kernels
                for i, ref in enumerate(np.asarray(value).ravel()):
                    kernels.append((f"{name}{{{i + 1}}}", np.asarray(handle[ref][()]).T))
            elif np.issubdtype(item.dtype, np.number):
                value = np.asarray(value)
                # HDF5 stores MATLAB's column-major arrays with the axes reversed
                kernels.extend(_split_mat_value(value.transpose(tuple(reversed(range(value.ndim)))), name))
    return kernels


def read_kernel_file(path: str | Path) -> list[tuple[str, np.ndarray]]:
    """All kernels in one file as ``(source name, kernel)`` pairs, validated and normalised (float64, as stored: not
    centred).

    Raises:
        KernelBankError: unreadable file, bad content, or no kernels in it.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".mat":
        raw = [(f"{path}:{name}", array) for name, array in _read_mat(path)]
    elif suffix == ".npy":
        arrays = _read_npy(path)
        raw = [(f"{path}[{i}]" if len(arrays) > 1 else str(path), array) for i, array in enumerate(arrays)]
    elif suffix in KERNEL_FILE_EXTENSIONS:
        raw = [(str(path), array) for array in _read_image_kernel(path)]
    else:
        raise KernelBankError(f"{path}: not a kernel file; use PNG, NPY or MAT")
    if not raw:
        raise KernelBankError(f"{path}: holds no numeric kernels")
    return [(name, validate_kernel(array, name)) for name, array in raw]


def list_kernel_files(path: str | Path) -> list[Path]:
    """The kernel files of a bank: ``path`` itself if it is a file, else the files of the folder sorted by name,
    notes (:data:`IGNORED_EXTENSIONS`) skipped and an image with the stem of a ``.npy`` file in the same folder taken
    as that kernel's preview and skipped.

    Raises:
        KernelBankError: missing path, a file in the folder that is not a kernel file, or no kernel files.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise KernelBankError(f"kernel bank {path} does not exist: give a folder of PNG/NPY files or a .mat file")
    kernel_files = []
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    exact = {f.stem for f in files if f.suffix.lower() == ".npy"}
    for file in files:
        suffix = file.suffix.lower()
        if suffix in IGNORED_EXTENSIONS:
            continue
        if suffix not in (".npy", ".mat") and file.stem in exact:
            continue  # a picture beside the exact .npy kernel (as deblur synth writes them) is only a preview
        if suffix not in KERNEL_FILE_EXTENSIONS:
            raise KernelBankError(f"{file}: not a kernel file (PNG/NPY/MAT); remove it from the bank folder")
        kernel_files.append(file)
    if not kernel_files:
        raise KernelBankError(f"kernel bank {path} holds no kernel files (PNG/NPY/MAT)")
    return kernel_files
