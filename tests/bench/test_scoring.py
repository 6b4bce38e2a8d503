"""deblur.bench.scoring: the metrics against scikit-image, border crop and bit depth, confidence intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from deblur import bench
from deblur.synth.kernels import line_kernels
from tests.conftest import photo_crop
from tests.helpers import blind_model


def _random_pair(seed: int, size: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    sharp = (torch.rand(3, size, size + 7, generator=generator) * 255).round() / 255
    noisy = ((sharp + 0.1 * torch.randn(sharp.shape, generator=generator)).clamp(0, 1) * 255).round() / 255
    return noisy, sharp


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_values_metrics_match_scikit_image(seed: int) -> None:
    from skimage.color import rgb2ycbcr
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    restored, sharp = _random_pair(seed)
    result = bench.score(restored, sharp)
    x, y = restored.double().numpy(), sharp.double().numpy()
    ssim_settings = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False, "data_range": 1.0}
    assert result["psnr"] == pytest.approx(peak_signal_noise_ratio(y, x, data_range=1.0), abs=1e-4)
    assert result["ssim"] == pytest.approx(structural_similarity(x, y, channel_axis=0, **ssim_settings), abs=1e-4)
    luma_x = rgb2ycbcr(x.transpose(1, 2, 0))[..., 0] / 255.0
    luma_y = rgb2ycbcr(y.transpose(1, 2, 0))[..., 0] / 255.0
    assert result["psnr_y"] == pytest.approx(peak_signal_noise_ratio(luma_y, luma_x, data_range=1.0), abs=1e-4)
    assert result["ssim_y"] == pytest.approx(structural_similarity(luma_x, luma_y, **ssim_settings), abs=1e-4)


def test_values_border_crop_and_bit_depth() -> None:
    restored, sharp = _random_pair(3)
    restored[:, :4] = 1 - sharp[:, :4]  # damage only the top border
    assert bench.score(restored, sharp, border=4)["psnr"] > bench.score(restored, sharp)["psnr"] + 3
    fine = sharp + 0.3 / 65535  # below one 16-bit level: rounding to 16 bits gives the sharp image back exactly
    assert bench.score(fine, sharp, bit_depth=16)["psnr"] > 100
    assert bench.score(sharp + 0.3 / 255, sharp, bit_depth=8)["psnr"] > 100


def test_values_confidence_interval_is_student_t() -> None:
    from scipy import stats

    values = [20.0, 21.5, 19.0, 22.0, 20.5]
    mean, half = bench.mean_ci(values)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert mean == pytest.approx(np.mean(values))
    assert half == pytest.approx((high - low) / 2)
    assert bench.mean_ci([3.0]) == (3.0, 0.0)


def test_values_bench_scores_a_blind_model_with_its_kernel_correlation(tmp_path: Path) -> None:
    import csv

    from deblur.bench import benchmark
    from deblur.config import BenchConfig
    from deblur.io import write_image

    sharp_dir, kernel_dir = tmp_path / "sharp", tmp_path / "kernels"
    sharp_dir.mkdir()
    kernel_dir.mkdir()
    write_image(sharp_dir / "camera.png", photo_crop()[0])
    np.save(kernel_dir / "line.npy", line_kernels(torch.tensor([9.0]), torch.tensor([30.0]), 15)[0].numpy())
    config = BenchConfig(
        out=tmp_path / "out",
        sharp=sharp_dir,
        kernels=kernel_dir,
        models=(blind_model(tmp_path / "blind.safetensors"),),
        blind=True,
        shift_tolerant=True,
        baselines=False,
        plots=False,
        device="cpu",
    )
    _, written = benchmark(config, progress=False)
    rows = list(csv.DictReader(Path(written["per_image"]).read_text().splitlines()))
    blind = next(r for r in rows if r["method"] == "blind (blind)")
    assert float(blind["kernel_corr"]) > 0.8 and float(blind["applied"]) == 1.0
    assert float(blind["psnr_shift"]) >= float(blind["psnr"]) - 1e-6  # the zero shift is among those tried
    summary = Path(written["summary"]).read_text()
    assert "kernel corr." in summary and "PSNR shift ±3" in summary and "> 0.3 dB worse" in summary
