"""deblur.restoration.blind: a model that carries a kernel estimator restores blurred photos and leaves sharp ones
alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from deblur import restore
from deblur.io import read_photo


def test_values_blind_kernel_aware_model_restores_the_example_and_leaves_sharp_photos_alone(tmp_path: Path) -> None:
    from deblur.train.run import export_generator
    from deblur.weights import read_metadata

    model = Path(__file__).resolve().parents[2] / "models" / "kernel_aware_centred_adv.safetensors"  # non-blind
    path = export_generator(model, tmp_path / "blind.safetensors", estimator={})  # made blind
    examples = Path(__file__).resolve().parents[2] / "examples"
    assert path.stat().st_size <= 25e6  # small enough to ship as the default
    info = read_metadata(path)
    assert info["task"] == "deblur" and info["data"] and info["net"]["estimator"] is not None  # blind, documented
    sharp = read_photo(examples / "sharp" / "astronaut.png").pixels
    blurred = read_photo(examples / "blurred" / "astronaut_shake.png").pixels  # camera shake, 1% noise
    estimates: list = []
    restored = restore(blurred, path, estimates=estimates)  # the kernel estimated, not given

    def psnr(image: np.ndarray) -> float:
        return float(10 * np.log10(255**2 / ((image.astype(float) - sharp) ** 2).mean()))

    assert restored.shape == blurred.shape and restored.dtype == np.uint8
    assert estimates[0].applied == 1.0 and psnr(restored) > psnr(blurred) + 3.0
    kernel = np.load(examples / "blurred" / "astronaut_shake_kernel.npy")
    from deblur.bench.scoring import kernel_correlation

    assert kernel_correlation(estimates[0].kernel, torch.from_numpy(kernel)) > 0.7
    found: list = []
    assert np.array_equal(restore(sharp, path, estimates=found), sharp) and found[0].blur_free  # sharp: unchanged
