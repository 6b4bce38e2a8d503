"""Kernel banks: the kernels of a folder or file of kernel files, centred, and sampled from one canvas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from deblur.errors import KernelBankError
from deblur.io.kernels import read_kernel_file
from deblur.ops.psf import center_kernel
from deblur.synth.bank import KernelBank, read_kernel_bank
from deblur.synth.kernels import center_of_mass
from tests.io.test_kernels import off_centre_kernels, write_mat73


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
    for i, kernel in enumerate(off_centre_kernels()):
        np.save(tmp_path / f"k{i}.npy", kernel.astype(np.float32))
    (tmp_path / "README.md").write_text("notes beside the kernels are ignored")
    _check_bank(read_kernel_bank(tmp_path), off_centre_kernels())


def test_values_bank_kernels_are_the_files_kernels_centred(tmp_path: Path) -> None:
    write_mat73(tmp_path / "Levin_like.mat", off_centre_kernels())
    bank = read_kernel_bank(tmp_path / "Levin_like.mat")
    _check_bank(bank, off_centre_kernels())
    for (name, kernel), (file_name, stored) in zip(bank, read_kernel_file(tmp_path / "Levin_like.mat"), strict=True):
        assert name == file_name
        np.testing.assert_array_equal(kernel, center_kernel(torch.from_numpy(stored)).numpy())


def test_bank_sampler(tmp_path: Path) -> None:
    for i, kernel in enumerate(off_centre_kernels()):
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
    ("name", "label"),
    [("a/b/levin_1.npy", "levin_1"), ("x/Levin09.mat:kernels{3}", "Levin09_kernels_3"), ("k/bank.npy[2]", "bank_2")],
)
def test_values_kernel_label(name: str, label: str) -> None:
    from deblur.synth.bank import kernel_label

    assert kernel_label(name) == label


@pytest.mark.parametrize("shape", [(1, 7), (7, 1), (1, 1), (1, 5, 5)])
def test_values_thin_and_single_pixel_kernels_are_kernels(tmp_path: Path, shape: tuple[int, ...]) -> None:
    np.save(tmp_path / "k.npy", np.ones(shape))
    ((_, kernel),) = read_kernel_bank(tmp_path / "k.npy")
    assert kernel.ndim == 2 and kernel.shape[0] % 2 == 1 and kernel.shape[0] == kernel.shape[1]
    assert kernel.sum() == pytest.approx(1.0)
