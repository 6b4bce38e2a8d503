"""Blind restoration end to end: a model that carries a kernel estimator restores photos through ``restore`` and
``deblur restore``, ``deblur export --blind`` adds the estimator and its strength, and the benchmark scores its
kernels (the estimator itself is tested in tests/ops/estimate/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from deblur.ops.estimate import kernel_agreement
from deblur.synth.kernels import line_kernels
from tests.conftest import blur_with_noise, photo_crop


def _blind_model(path: Path) -> Path:
    from deblur.nets import create_net
    from deblur.weights import save_model

    net = create_net("kernel_aware", refiner={"width": 4, "depth": 2, "blocks": 1}, estimator={"max_size": 15})
    return save_model(path, net, {"task": "deblur"})


def test_values_blind_restore_estimates_the_kernel_and_deblurs(tmp_path: Path) -> None:
    from deblur import restore

    sharp = photo_crop()
    kernel = line_kernels(torch.tensor([9.0]), torch.tensor([30.0]), 15)
    blurred = blur_with_noise(sharp, kernel)
    estimates: list = []
    restored = restore(blurred[0], _blind_model(tmp_path / "blind.safetensors"), device="cpu", estimates=estimates)
    target = sharp[0, :, 7:-7, 7:-7]
    assert restored.shape == blurred[0].shape and len(estimates) == 1
    assert estimates[0].applied == 1.0 and not estimates[0].blur_free
    assert kernel_agreement(estimates[0].kernel, kernel[0]) > 0.8
    error_before, error_after = ((blurred[0] - target) ** 2).mean(), ((restored - target) ** 2).mean()
    assert float(10 * torch.log10(error_before / error_after)) > 2.0  # more than 2 dB better than its input
    half = restore(blurred[0], _blind_model(tmp_path / "blind.safetensors"), device="cpu", strength=0.5)
    torch.testing.assert_close(half, (blurred[0] + 0.5 * (restored - blurred[0])), atol=2e-3, rtol=0)


def test_values_blind_restore_returns_a_sharp_photo_unchanged(tmp_path: Path) -> None:
    from deblur import restore

    sharp = (photo_crop("astronaut")[0] * 255).round() / 255
    estimates: list = []
    restored = restore(sharp, _blind_model(tmp_path / "blind.safetensors"), device="cpu", estimates=estimates)
    assert estimates[0].blur_free and estimates[0].applied == 0.0
    torch.testing.assert_close(restored, sharp)


def test_cli_blind_restore_saves_the_kernel_and_checks_options(tmp_path: Path) -> None:
    import cv2

    from deblur.cli import cli

    model = _blind_model(tmp_path / "blind.safetensors")
    blurred = blur_with_noise(photo_crop(), line_kernels(torch.tensor([9.0]), torch.tensor([30.0]), 15))[0]
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), (blurred.permute(1, 2, 0).numpy()[..., ::-1] * 255).round().astype(np.uint8))
    before = photo.read_bytes()
    args = ["restore", str(photo), "--model", str(model), "--save-kernel", str(tmp_path / "k.png"), "-o"]
    result = CliRunner().invoke(cli, [*args, str(tmp_path / "out.png")])
    assert result.exit_code == 0, result.output
    assert "Estimated a kernel" in result.output and photo.read_bytes() == before
    kernel = np.load(tmp_path / "k.npy")
    assert kernel.shape == (15, 15) and abs(float(kernel.sum()) - 1) < 1e-4
    picture = cv2.imread(str(tmp_path / "k.png"), cv2.IMREAD_UNCHANGED)
    assert picture.shape == (15, 15) and picture.dtype == np.uint16 and int(picture.max()) == 65535
    assert cv2.imread(str(tmp_path / "out.png")).shape == (242, 242, 3)
    result = CliRunner().invoke(cli, ["restore", str(photo), "--model", str(model), "--kernel-size", "16"])
    assert result.exit_code != 0 and "odd" in result.output
    result = CliRunner().invoke(cli, ["restore", str(photo), "--model", str(model), "--strength", "1.5"])
    assert result.exit_code != 0 and "strength" in result.output.lower()


def test_cli_export_blind_adds_the_estimator(tmp_path: Path) -> None:
    from deblur.cli import cli
    from deblur.nets import create_net
    from deblur.weights import read_metadata, save_model

    plain = save_model(
        tmp_path / "plain.safetensors", create_net("kernel_aware", refiner={"width": 4, "depth": 2}), {"task": "deblur"}
    )
    out = tmp_path / "blind.safetensors"
    result = CliRunner().invoke(cli, ["export", str(plain), "--out", str(out), "--blind", "--kernel-size", "31"])
    assert result.exit_code == 0, result.output
    assert read_metadata(out)["net"]["estimator"] == {"max_size": 31}
    unet = save_model(tmp_path / "unet.safetensors", create_net("unet", width=4, depth=2), {"task": "deblur"})
    result = CliRunner().invoke(cli, ["export", str(unet), "--out", str(tmp_path / "x.safetensors"), "--blind"])
    assert result.exit_code != 0 and "takes no kernel" in result.output
    for bound in ("8", "5"):  # even, or below the estimator's coarsest level: one line naming the option
        result = CliRunner().invoke(
            cli, ["export", str(plain), "--out", str(tmp_path / "y.safetensors"), "--blind", "--kernel-size", bound]
        )
        assert result.exit_code == 1 and "--kernel-size must be odd and at least 7" in result.output
        assert not (tmp_path / "y.safetensors").exists()


def test_exception_restore_config_checks_the_kernel_bound(tmp_path: Path) -> None:
    from deblur.config import RestoreConfig
    from deblur.errors import ConfigError

    assert RestoreConfig(output=tmp_path / "x.png", kernel_size=31).kernel_size == 31
    for bound in (6, 10, 3):
        with pytest.raises(ConfigError, match="kernel size must be odd and at least 7"):
            RestoreConfig(output=tmp_path / "x.png", kernel_size=bound)


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
        models=(_blind_model(tmp_path / "blind.safetensors"),),
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


def test_values_export_blind_stores_the_strength_that_restore_uses(tmp_path: Path) -> None:
    from deblur import restore
    from deblur.cli import cli
    from deblur.weights import read_metadata

    full = _blind_model(tmp_path / "full.safetensors")
    out = tmp_path / "gentle.safetensors"
    args = ["export", str(full), "--out", str(out), "--blind", "--kernel-size", "15", "--strength", "0.25"]
    result = CliRunner().invoke(cli, [*args, "--min-confidence", "0.5"])
    assert result.exit_code == 0, result.output
    assert read_metadata(out)["blind"] == {"strength": 0.25, "min_confidence": 0.5}
    blurred = blur_with_noise(photo_crop(), line_kernels(torch.tensor([9.0]), torch.tensor([30.0]), 15))[0]
    restored = restore(blurred, full, device="cpu")
    estimates: list = []
    gentle = restore(blurred, out, device="cpu", estimates=estimates)  # the file's strength, not 1
    assert estimates[0].applied == 0.25
    torch.testing.assert_close(gentle, blurred + 0.25 * (restored - blurred), atol=2e-3, rtol=0)
    torch.testing.assert_close(restore(blurred, out, device="cpu", strength=1.0), restored, atol=1e-5, rtol=0)
    result = CliRunner().invoke(cli, ["export", str(full), "--out", str(tmp_path / "z.safetensors"), "--strength", "1"])
    assert result.exit_code != 0 and "--strength is for blind restoration" in result.output
    assert not (tmp_path / "z.safetensors").exists()
