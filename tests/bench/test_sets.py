"""deblur.bench.sets: test sets made from sharp photos and a kernel bank, and the paired folder layouts."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from deblur import bench
from deblur.config import BenchConfig


def test_values_nonblind_set_is_valid_convolution(tmp_path: Path, photo_folder: Path) -> None:
    kernels = tmp_path / "kernels"
    kernels.mkdir()
    line = np.zeros((5, 5), np.float32)
    line[2, :] = 0.2
    np.save(kernels / "line.npy", line)
    np.save(kernels / "dot.npy", np.pad(np.ones((1, 1), np.float32), 1))  # the identity
    items = bench.nonblind_set(photo_folder, kernels, noise=0.0, seed=0)
    assert len(items) == 6 and {i.group for i in items} == {"line", "dot"}
    dot = next(i for i in items if i.group == "dot")
    assert dot.blurred.shape == dot.sharp.shape == (3, 80, 96)  # the bank trims the zero frame
    assert torch.allclose(dot.blurred, dot.sharp, atol=1e-6)
    moved = next(i for i in items if i.group == "line")
    assert moved.blurred.shape == (3, 76, 92) and moved.kernel_size == 5
    noisy = bench.nonblind_set(photo_folder, kernels, noise=0.05, seed=7)
    again = bench.nonblind_set(photo_folder, kernels, noise=0.05, seed=7)
    assert all(torch.equal(a.blurred, b.blurred) for a, b in zip(noisy, again, strict=True))
    assert not torch.equal(noisy[0].blurred, items[0].blurred)


def test_values_paired_layouts(tmp_path: Path) -> None:
    image = np.random.default_rng(0).integers(0, 255, (32, 40, 3), dtype=np.uint8)
    for scene in ("s1", "s2"):
        for part in ("blur", "sharp"):
            (tmp_path / "gopro" / scene / part).mkdir(parents=True)
            cv2.imwrite(str(tmp_path / "gopro" / scene / part / "f0.png"), image)
    items = bench.load_test_set(tmp_path / "gopro")
    assert [i.name for i in items] == ["s1/f0", "s2/f0"] and [i.group for i in items] == ["s1", "s2"]
    assert all(i.kernel is None for i in items)
    for part, size in (("input", 32), ("target", 30)):
        (tmp_path / "flat" / part).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "flat" / part / "x.png"), image[:size])
    with pytest.raises(bench.BenchError, match="differ in size"):
        bench.load_test_set(tmp_path / "flat")


def test_values_kernel_error_gives_the_methods_a_perturbed_kernel(tmp_path: Path, photo_folder: Path) -> None:
    kernels = tmp_path / "kernels"
    kernels.mkdir()
    streak = np.zeros((9, 9), np.float32)
    streak[4, 1:8] = 1 / 7
    np.save(kernels / "line.npy", streak)
    exact = bench.nonblind_set(photo_folder, kernels, noise=0.01, seed=0)
    wrong = bench.nonblind_set(photo_folder, kernels, noise=0.01, seed=0, kernel_error=1.0)
    for a, b in zip(exact, wrong, strict=True):
        assert torch.equal(a.blurred, b.blurred) and np.array_equal(a.kernel, b.kernel)  # blurred by the true one
        assert a.given_kernel is None and np.array_equal(a.method_kernel, a.kernel)
        assert b.method_kernel.shape == b.kernel.shape and not np.allclose(b.method_kernel, b.kernel)
        assert b.method_kernel.sum() == pytest.approx(1.0, abs=1e-5)
    rows = [bench.run_bench(items, [bench.hyper_laplacian(7e-4)], progress=False)[0] for items in (exact, wrong)]
    scores = [{r["method"]: r["PSNR"] for r in bench.summarize(table)[0]} for table in rows]
    name = "hyper-Laplacian (weight 0.0007)"
    assert scores[1][name] < scores[0][name]  # a wrong kernel restores worse
    # recentred as restore --kernel centres kernel files: the same perturbed kernel, its centre of mass in the middle
    centred = bench.nonblind_set(photo_folder, kernels, noise=0.01, seed=0, kernel_error=1.0, recenter=True)
    for b, c in zip(wrong, centred, strict=True):
        given = c.method_kernel
        assert given.shape[0] % 2 == 1 and given.shape[0] == given.shape[1]
        assert np.allclose(np.sort(given[given > 0]), np.sort(b.method_kernel[b.method_kernel > 0]))
        ys, xs = np.indices(given.shape)
        middle = given.shape[0] // 2
        assert abs((ys * given).sum() - middle) <= 0.5 and abs((xs * given).sum() - middle) <= 0.5
    with pytest.raises(Exception, match="kernel-error"):
        BenchConfig(out=tmp_path, pairs=tmp_path, kernel_error=0.5)
