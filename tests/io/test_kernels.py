"""Kernel files: PNG, NPY and MATLAB v5 / v7.3 files read as stored and validated, with clear errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from deblur.errors import KernelBankError
from deblur.io.kernels import list_kernel_files, read_kernel_file, validate_kernel


def off_centre_kernels() -> list[np.ndarray]:
    """Three asymmetric kernels of sizes 5, 8 (even) and 11, not centred on their canvases."""
    rng = np.random.default_rng(0)
    out = []
    for size in (5, 8, 11):
        kernel = np.zeros((size, size))
        kernel[1 : size - 1, 1] = rng.random(size - 2) + 0.1
        kernel[1, 1 : size - 2] += 0.5
        out.append(kernel / kernel.sum())
    return out


def write_mat73(path: Path, kernels: list[np.ndarray], header: bool = True) -> None:
    """A MATLAB v7.3 file as MATLAB writes one: a cell array 'kernels' of references, arrays stored transposed."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w", userblock_size=512 if header else 0) as handle:
        refs = handle.create_group("#refs#")
        cell = handle.create_dataset("kernels", (len(kernels), 1), dtype=h5py.ref_dtype)
        for i, kernel in enumerate(kernels):
            cell[i, 0] = refs.create_dataset(chr(ord("a") + i), data=kernel.T).ref
    if header:
        with open(path, "r+b") as handle:
            handle.write(
                b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by deblur tests HDF5 schema 1.00 .".ljust(116)
            )


def _check_as_stored(read: list[tuple[str, np.ndarray]], expected: list[np.ndarray]) -> None:
    """The kernels come back where they were stored, float64, normalised: not centred (ops centres them)."""
    assert len(read) == len(expected)
    for (_, kernel), original in zip(read, expected, strict=True):
        assert kernel.dtype == np.float64 and kernel.shape == original.shape
        # the same values in the same places (to the order of summation, which follows the file's memory layout)
        np.testing.assert_allclose(kernel, validate_kernel(original, "original"), rtol=1e-12, atol=0)


def test_npy_stack(tmp_path: Path) -> None:
    kernels = [np.pad(k, (11 - k.shape[0]) // 2) for k in off_centre_kernels() if k.shape[0] % 2]
    np.save(tmp_path / "stack.npy", np.stack(kernels).astype(np.float32))
    read = read_kernel_file(tmp_path / "stack.npy")
    assert [Path(name).name for name, _ in read] == ["stack.npy[0]", "stack.npy[1]"]
    _check_as_stored(read, [k.astype(np.float32) for k in kernels])


def test_png_kernels(tmp_path: Path) -> None:
    for i, kernel in enumerate(off_centre_kernels()):
        cv2.imwrite(str(tmp_path / f"k{i}.png"), np.round(kernel / kernel.max() * 65535).astype(np.uint16))
    for i, original in enumerate(off_centre_kernels()):
        ((_, kernel),) = read_kernel_file(tmp_path / f"k{i}.png")
        assert kernel.shape == original.shape and kernel.sum() == pytest.approx(1.0)
        np.testing.assert_allclose(kernel, original, rtol=1e-3, atol=1e-7)


def test_mat_v5(tmp_path: Path) -> None:
    kernels = off_centre_kernels()
    cell = np.empty((1, 3), dtype=object)
    for i, kernel in enumerate(kernels):
        cell[0, i] = kernel
    scipy.io.savemat(tmp_path / "bank.mat", {"kernels": cell, "single": kernels[0]})
    read = read_kernel_file(tmp_path / "bank.mat")
    _check_as_stored(read, [*kernels, kernels[0]])
    assert "kernels{1}" in read[0][0]


def test_mat_v73_like_levin(tmp_path: Path) -> None:
    kernels = off_centre_kernels()
    write_mat73(tmp_path / "Levin_like.mat", kernels)
    # the transposition of MATLAB's column-major storage is undone
    _check_as_stored(read_kernel_file(tmp_path / "Levin_like.mat"), kernels)


def test_mat_v73_without_header(tmp_path: Path) -> None:
    write_mat73(tmp_path / "plain.mat", off_centre_kernels(), header=False)
    assert len(read_kernel_file(tmp_path / "plain.mat")) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (np.full((5, 5), np.nan), "NaN"),
        (-np.ones((5, 5)), "negative"),
        (np.zeros((5, 5)), "sums to zero"),
        (np.ones(5), "2-D"),
    ],
)
def test_exception_bad_npy(tmp_path: Path, content: np.ndarray, message: str) -> None:
    np.save(tmp_path / "bad.npy", content)
    with pytest.raises(KernelBankError, match=message) as info:
        read_kernel_file(tmp_path / "bad.npy")
    assert "bad.npy" in str(info.value)


def test_exception_corrupt_png(tmp_path: Path) -> None:
    (tmp_path / "kernel.png").write_bytes(b"this is not a PNG file")
    with pytest.raises(KernelBankError, match=r"kernel\.png: not a readable image"):
        read_kernel_file(tmp_path / "kernel.png")


def test_exception_not_a_kernel_file(tmp_path: Path) -> None:
    np.save(tmp_path / "ok.npy", np.ones((3, 3)))
    (tmp_path / "photo.gif").write_bytes(b"GIF89a")
    with pytest.raises(KernelBankError, match=r"photo\.gif: not a kernel file"):
        list_kernel_files(tmp_path)
    with pytest.raises(KernelBankError, match=r"photo\.gif: not a kernel file"):
        read_kernel_file(tmp_path / "photo.gif")


def test_exception_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(KernelBankError, match="does not exist"):
        list_kernel_files(tmp_path / "nowhere")
    (tmp_path / "README.md").write_text("notes beside the kernels are ignored")
    with pytest.raises(KernelBankError, match="holds no kernel files"):
        list_kernel_files(tmp_path)


def test_exception_pickled_npy_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "evil.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(KernelBankError, match="evil.npy"):
        read_kernel_file(tmp_path / "evil.npy")


def test_exception_corrupt_mat(tmp_path: Path) -> None:
    (tmp_path / "broken.mat").write_bytes(b"MATLAB 5.0 MAT-file" + b"\0" * 200)
    with pytest.raises(KernelBankError, match="broken.mat"):
        read_kernel_file(tmp_path / "broken.mat")


def test_values_png_preview_beside_npy_is_skipped(tmp_path: Path) -> None:
    kernel = np.zeros((5, 5), np.float32)
    kernel[2, 1:4] = 1.0
    np.save(tmp_path / "a.npy", kernel)
    cv2.imwrite(str(tmp_path / "a.png"), (kernel / kernel.max() * 255).astype(np.uint8))  # its preview
    cv2.imwrite(str(tmp_path / "b.png"), (np.eye(5) * 255).astype(np.uint8))  # a kernel given only as a picture
    (tmp_path / "notes.txt").write_text("notes are skipped too")
    assert [file.name for file in list_kernel_files(tmp_path)] == ["a.npy", "b.png"]
    assert list_kernel_files(tmp_path / "a.png") == [tmp_path / "a.png"]  # a file names itself


def test_exception_huge_kernels_are_refused_from_their_headers(tmp_path: Path) -> None:
    import struct
    import time
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 10_000, 10_000, 8, 0, 0, 0, 0)  # a 100 MP grey PNG of a few bytes
    idat = zlib.compress(b"\0" * 10_001 * 64)
    (tmp_path / "big.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat))
    npy_header = "{'descr': '<f8', 'fortran_order': False, 'shape': (31622776, 31622776), }"
    npy_header += " " * (118 - len(npy_header)) + "\n"
    (tmp_path / "big.npy").write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(npy_header)) + npy_header.encode())
    for name in ("big.png", "big.npy"):
        start = time.perf_counter()
        with pytest.raises(KernelBankError, match="larger than 255 px|at most 255 px"):
            read_kernel_file(tmp_path / name)
        assert time.perf_counter() - start < 2  # refused from the header, nothing decoded
    np.save(tmp_path / "huge_values.npy", np.full((3, 3), 1e308))
    ((_, kernel),) = read_kernel_file(tmp_path / "huge_values.npy")
    assert np.isfinite(kernel).all() and kernel.sum() == pytest.approx(1.0)


def test_exception_complex_npy_refused(tmp_path: Path) -> None:
    # C31: complex kernels were accepted, numpy's raw ComplexWarning dropping their imaginary part
    import warnings

    kernel = np.full((5, 5), 1 / 25, dtype=np.complex128) + 0.01j
    np.save(tmp_path / "complex.npy", kernel)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused before numpy's warning
        with pytest.raises(KernelBankError, match="complex.npy: a kernel must be real, got complex values"):
            read_kernel_file(tmp_path / "complex.npy")
        with pytest.raises(KernelBankError, match="must be real"):
            validate_kernel(kernel.astype(np.complex64), "k")
