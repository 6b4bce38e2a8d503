"""Kernel banks: PNG/NPY folders and MATLAB v5 / v7.3 files load, centre and validate with clear errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io
import torch

from deblur.errors import KernelBankError
from deblur.synth.bank import KernelBank, center_kernel, read_kernel_bank, read_kernel_file, validate_kernel
from deblur.synth.kernels import center_of_mass


def _kernels() -> list[np.ndarray]:
    """Three asymmetric kernels of sizes 5, 8 (even) and 11, not centred on their canvases."""
    rng = np.random.default_rng(0)
    out = []
    for size in (5, 8, 11):
        kernel = np.zeros((size, size))
        kernel[1 : size - 1, 1] = rng.random(size - 2) + 0.1
        kernel[1, 1 : size - 2] += 0.5
        out.append(kernel / kernel.sum())
    return out


def _write_mat73(path: Path, kernels: list[np.ndarray], header: bool = True) -> None:
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


def _check_bank(bank: list[tuple[str, np.ndarray]], expected: list[np.ndarray]) -> None:
    assert len(bank) == len(expected)
    for (_, kernel), original in zip(bank, expected, strict=True):
        assert kernel.shape[0] == kernel.shape[1] and kernel.shape[0] % 2 == 1
        assert kernel.sum() == pytest.approx(1.0)
        # integer shifts only: the same values, in the same arrangement
        np.testing.assert_allclose(np.sort(kernel[kernel > 0]), np.sort(original[original > 0]), rtol=1e-6)
        com = center_of_mass(torch.from_numpy(kernel)[None].float())
        assert com.abs().max() <= 0.5


def test_npy_folder(tmp_path: Path) -> None:
    for i, kernel in enumerate(_kernels()):
        np.save(tmp_path / f"k{i}.npy", kernel.astype(np.float32))
    (tmp_path / "README.md").write_text("notes beside the kernels are ignored")
    _check_bank(read_kernel_bank(tmp_path), _kernels())


def test_npy_stack(tmp_path: Path) -> None:
    stack = np.stack([np.pad(k, (11 - k.shape[0]) // 2) for k in _kernels() if k.shape[0] % 2]).astype(np.float32)
    np.save(tmp_path / "stack.npy", stack)
    assert len(read_kernel_bank(tmp_path / "stack.npy")) == 2


def test_png_folder(tmp_path: Path) -> None:
    for i, kernel in enumerate(_kernels()):
        cv2.imwrite(str(tmp_path / f"k{i}.png"), np.round(kernel / kernel.max() * 65535).astype(np.uint16))
    bank = read_kernel_bank(tmp_path)
    assert len(bank) == 3
    for (_, kernel), original in zip(bank, _kernels(), strict=True):
        assert kernel.sum() == pytest.approx(1.0)
        np.testing.assert_allclose(np.sort(kernel[kernel > 0]), np.sort(original[original > 0]), rtol=1e-3)


def test_mat_v5(tmp_path: Path) -> None:
    kernels = _kernels()
    cell = np.empty((1, 3), dtype=object)
    for i, kernel in enumerate(kernels):
        cell[0, i] = kernel
    scipy.io.savemat(tmp_path / "bank.mat", {"kernels": cell, "single": kernels[0]})
    bank = read_kernel_bank(tmp_path / "bank.mat")
    _check_bank(bank, [*kernels, kernels[0]])
    assert "kernels{1}" in bank[0][0]


def test_mat_v73_like_levin(tmp_path: Path) -> None:
    kernels = _kernels()
    _write_mat73(tmp_path / "Levin_like.mat", kernels)
    bank = read_kernel_bank(tmp_path / "Levin_like.mat")
    _check_bank(bank, kernels)
    # the transposition of MATLAB's column-major storage is undone
    np.testing.assert_allclose(center_kernel(validate_kernel(kernels[0], "k")), bank[0][1])


def test_mat_v73_without_header(tmp_path: Path) -> None:
    _write_mat73(tmp_path / "plain.mat", _kernels(), header=False)
    assert len(read_kernel_bank(tmp_path / "plain.mat")) == 3


def test_center_kernel_values() -> None:
    kernel = np.zeros((3, 6))
    kernel[0, 4] = kernel[0, 5] = 0.5
    centred = center_kernel(kernel)
    assert centred.shape == (3, 3)
    np.testing.assert_array_equal(centred, [[0, 0, 0], [0, 0.5, 0.5], [0, 0, 0]])


def test_bank_sampler(tmp_path: Path) -> None:
    for i, kernel in enumerate(_kernels()):
        np.save(tmp_path / f"k{i}.npy", kernel)
    bank = KernelBank.from_path(tmp_path)
    # centring the off-centre 11 px kernel needs a 13 px canvas
    assert bank.side == 13 and len(bank) == 3
    sampled = bank.sample(5, 15, torch.Generator().manual_seed(0))
    assert sampled.shape == (5, 15, 15)
    torch.testing.assert_close(sampled.sum(dim=(-2, -1)), torch.ones(5))
    assert torch.equal(sampled, bank.sample(5, 15, torch.Generator().manual_seed(0)))
    with pytest.raises(KernelBankError, match="kernel size >= 13"):
        bank.sample(1, 9)


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
    np.save(tmp_path / "ok.npy", np.ones((3, 3)))
    np.save(tmp_path / "bad.npy", content)
    with pytest.raises(KernelBankError, match=message) as info:
        read_kernel_bank(tmp_path)
    assert "bad.npy" in str(info.value)


def test_exception_corrupt_png(tmp_path: Path) -> None:
    (tmp_path / "kernel.png").write_bytes(b"this is not a PNG file")
    with pytest.raises(KernelBankError, match=r"kernel\.png: not a readable image"):
        read_kernel_bank(tmp_path)


def test_exception_not_a_kernel_file(tmp_path: Path) -> None:
    np.save(tmp_path / "ok.npy", np.ones((3, 3)))
    (tmp_path / "photo.gif").write_bytes(b"GIF89a")
    with pytest.raises(KernelBankError, match=r"photo\.gif: not a kernel file"):
        read_kernel_bank(tmp_path)


def test_exception_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(KernelBankError, match="does not exist"):
        read_kernel_bank(tmp_path / "nowhere")
    with pytest.raises(KernelBankError, match="holds no kernel files"):
        read_kernel_bank(tmp_path)


def test_exception_pickled_npy_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "evil.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(KernelBankError, match="evil.npy"):
        read_kernel_bank(tmp_path)


def test_exception_corrupt_mat(tmp_path: Path) -> None:
    (tmp_path / "broken.mat").write_bytes(b"MATLAB 5.0 MAT-file" + b"\0" * 200)
    with pytest.raises(KernelBankError, match="broken.mat"):
        read_kernel_bank(tmp_path / "broken.mat")


def test_values_png_preview_beside_npy_is_skipped(tmp_path: Path) -> None:
    kernel = np.zeros((5, 5), np.float32)
    kernel[2, 1:4] = 1.0
    np.save(tmp_path / "a.npy", kernel)
    cv2.imwrite(str(tmp_path / "a.png"), (kernel / kernel.max() * 255).astype(np.uint8))  # its preview
    cv2.imwrite(str(tmp_path / "b.png"), (np.eye(5) * 255).astype(np.uint8))  # a kernel given only as a picture
    assert [Path(name).name for name, _ in read_kernel_bank(tmp_path)] == ["a.npy", "b.png"]


@pytest.mark.parametrize(
    ("name", "label"),
    [("a/b/levin_1.npy", "levin_1"), ("x/Levin09.mat:kernels{3}", "Levin09_kernels_3"), ("k/bank.npy[2]", "bank_2")],
)
def test_values_kernel_label(name: str, label: str) -> None:
    from deblur.synth.bank import kernel_label

    assert kernel_label(name) == label


@pytest.mark.parametrize("shape", [(1, 7), (7, 1), (1, 1), (1, 5, 5)])
def test_values_thin_and_single_pixel_kernels_are_kernels(tmp_path: Path, shape: tuple[int, ...]) -> None:
    np.save(tmp_path / "k.npy", np.ones(shape))
    ((_, kernel),) = read_kernel_file(tmp_path / "k.npy")
    assert kernel.ndim == 2 and kernel.shape[0] % 2 == 1 and kernel.shape[0] == kernel.shape[1]
    assert kernel.sum() == pytest.approx(1.0)


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
