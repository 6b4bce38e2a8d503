"""deblur.bench.methods: the classical baselines, models handed each item's kernel, and folders of others' results."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from deblur import bench
from deblur.nets import create_net
from deblur.weights import save_model
from tests.helpers import synth_set


def test_values_edgetaper_helps_wiener_on_valid_convolution() -> None:
    import skimage.data
    from skimage.restoration import wiener

    sharp = skimage.data.camera()[::4, ::4].astype(np.float64) / 255
    kernel = np.zeros((9, 9))
    kernel[4, :] = 1 / 9  # horizontal motion
    blurred = cv2.filter2D(sharp, -1, kernel[::-1, ::-1], borderType=cv2.BORDER_CONSTANT)[4:-4, 4:-4]
    target = sharp[4:-4, 4:-4]

    def error(image: np.ndarray) -> float:
        return float(np.mean((np.clip(wiener(image, kernel, 0.01), 0, 1) - target) ** 2))

    assert error(bench.edgetaper(blurred, kernel)) < 0.5 * error(blurred)


def test_values_kernel_aware_model_gets_each_items_kernel(tmp_path: Path, photo_folder: Path) -> None:
    """An untrained kernel-aware model is its deconvolution: it scores what the hyper-Laplacian row scores with
    the same weight: the bench hands it each item's kernel as it hands it to the deconvolution row."""
    kernels = tmp_path / "kernels"
    kernels.mkdir()
    streak = np.zeros((7, 7), np.float32)
    streak[1:6, 1] = 0.1
    streak[5, 1:6] += 0.1
    np.save(kernels / "ell.npy", streak / streak.sum())
    items = bench.nonblind_set(photo_folder, kernels, noise=0.01, seed=0)
    net = create_net("kernel_aware", refiner={"width": 4, "depth": 2, "blocks": 1})
    path = save_model(tmp_path / "ka.safetensors", net.eval(), {"task": "deblur"})
    methods = [bench.model(path, tile=None), bench.hyper_laplacian(7e-4)]
    assert methods[0].needs_kernel
    rows, _ = bench.run_bench(items, methods, progress=False)
    summary = {r["method"]: r["PSNR"] for r in bench.summarize(rows)[0]}
    assert summary["ka"] == pytest.approx(summary["hyper-Laplacian (weight 0.0007)"], abs=0.05)


def test_values_deconvolution_beats_the_input_given_the_true_kernel(tmp_path: Path, photo_folder: Path) -> None:
    items = bench.load_test_set(synth_set(photo_folder, tmp_path / "set"))
    methods = [bench.blurred_input(), bench.richardson_lucy(20), bench.hyper_laplacian(1e-3), bench.wiener(0.05)]
    rows, _ = bench.run_bench(items, methods, progress=False)
    summary = {r["method"]: r for r in bench.summarize(rows)[0]}
    assert summary["Richardson-Lucy (20 it.)"]["PSNR"] > summary["blurred input"]["PSNR"]
    assert summary["hyper-Laplacian (weight 0.001)"]["PSNR"] > summary["Wiener (balance 0.05)"]["PSNR"]


def test_exception_results_folder_missing_image_or_wrong_size(tmp_path: Path, photo_folder: Path) -> None:
    items = bench.load_test_set(synth_set(photo_folder, tmp_path / "set"))
    folder = tmp_path / "theirs"
    folder.mkdir()
    cv2.imwrite(str(folder / f"{items[0].name}.png"), np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(bench.BenchError, match="lacks 1 of 2 images"):
        bench.results_folder("theirs", folder, items)
    cv2.imwrite(str(folder / f"{items[1].name}.png"), np.zeros((10, 10, 3), np.uint8))
    method = bench.results_folder("theirs", folder, items)
    with pytest.raises(bench.BenchError, match="size of the blurred input"):
        bench.run_bench(items, [method], progress=False)
