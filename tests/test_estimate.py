"""Blind kernel estimation (deblur.ops.estimate) and blind restoration with a model that carries an estimator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from click.testing import CliRunner

from deblur.ops.conv import blur
from deblur.ops.estimate import estimate_kernel, estimate_with_check, kernel_agreement, luminance
from deblur.synth.kernels import disk_kernels, line_kernels, random_trajectory_kernels


def _photo(name: str = "camera") -> torch.Tensor:
    image = torch.from_numpy(getattr(skimage.data, name)()).float().div(255)
    image = image[None, None].expand(1, 3, -1, -1) if image.ndim == 2 else image.permute(2, 0, 1)[None]
    return image[..., 100:356, 100:356].contiguous()


def _blurred(sharp: torch.Tensor, kernel: torch.Tensor, seed: int = 0) -> torch.Tensor:
    blurred = blur(sharp, kernel, padding="valid")
    noise = torch.randn(blurred.shape, generator=torch.Generator().manual_seed(seed))
    return (blurred + 0.005 * noise).clamp(0, 1)


@pytest.mark.parametrize(
    ("kind", "kernel", "least"),
    [
        ("motion", line_kernels(torch.tensor([9.0]), torch.tensor([30.0]), 15), 0.8),
        ("defocus", disk_kernels(torch.tensor([3.0]), 15), 0.9),
        ("shake", random_trajectory_kernels(1, 15, torch.Generator().manual_seed(0)), 0.75),
    ],
)
def test_values_estimated_kernel_matches_the_true_one(kind: str, kernel: torch.Tensor, least: float) -> None:
    kernels, confidence = estimate_kernel(_blurred(_photo(), kernel), max_size=15)
    assert kernels.shape == (1, 15, 15) and torch.allclose(kernels.sum((1, 2)), torch.ones(1))
    assert bool((kernels >= 0).all())
    assert kernel_agreement(kernels[0], kernel[0]) > least, kind
    assert 0.7 < float(confidence[0]) <= 1.0 + 1e-6  # the left and right halves agree on a uniform blur


def test_values_estimated_kernel_is_centred_by_its_centre_of_mass() -> None:
    kernel = torch.zeros(1, 15, 15)
    kernel[0, 7, 7:14] = 1 / 7  # a one-sided streak: its centre of mass is 3 px right of the middle
    kernels, _ = estimate_kernel(_blurred(_photo(), kernel), max_size=15)
    columns = torch.arange(15, dtype=torch.float32)
    assert abs(float((kernels[0].sum(0) * columns).sum()) - 7) <= 0.5
    assert abs(float((kernels[0].sum(1) * columns).sum()) - 7) <= 0.5


@pytest.mark.parametrize("name", ["camera", "astronaut"])
def test_values_sharp_photo_is_found_blur_free_with_a_delta_kernel(name: str) -> None:
    estimate = estimate_with_check(luminance(_photo(name))[0, 0], 15)
    assert estimate.blur_free and estimate.central_mass >= 0.8
    delta = torch.zeros(15, 15)
    delta[7, 7] = 1
    assert torch.equal(estimate.kernel, delta)


@pytest.mark.parametrize(("name", "size"), [("coffee", 15), ("chelsea", 15), ("chelsea", 31)])
def test_values_support_step_leaves_a_sharp_photo_blur_free(name: str, size: int) -> None:
    """The support step grows faint trails only where blur was found: before it skipped concentrated kernels,
    these sharp crops came out as blurred with confident kernels (0.77-0.97) and would have been deconvolved."""
    estimate = estimate_with_check(luminance(_photo(name))[0, 0], size)
    assert estimate.blur_free and estimate.method == "none" and estimate.confidence == 1.0


def test_values_disagreeing_halves_lower_the_confidence() -> None:
    image = torch.from_numpy(skimage.data.camera()).float().div(255)[None, None].expand(1, 3, -1, -1)
    sharp = image[..., 100:356, 16:496].contiguous()  # 256 x 480: the two parts checked overlap by a third
    left = _blurred(sharp, line_kernels(torch.tensor([11.0]), torch.tensor([0.0]), 15))
    right = _blurred(sharp, line_kernels(torch.tensor([11.0]), torch.tensor([90.0]), 15))
    half = left.shape[-1] // 2
    mixed = torch.cat([left[..., :half], right[..., half:]], dim=-1)  # two different blurs: not a uniform one
    _, uniform = estimate_kernel(left, max_size=15)
    _, varying = estimate_kernel(mixed, max_size=15)
    assert float(varying[0]) < float(uniform[0]) - 0.05  # measured: 0.81 against 0.90


def test_estimate_kernel_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="odd and at least 7"):
        estimate_kernel(torch.rand(1, 3, 64, 64), max_size=16)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        estimate_kernel(torch.rand(3, 64, 64))


def _blind_model(path: Path) -> Path:
    from deblur.nets import create_net
    from deblur.weights import save_model

    net = create_net("kernel_aware", refiner={"width": 4, "depth": 2, "blocks": 1}, estimator={"max_size": 15})
    return save_model(path, net, {"task": "deblur"})


def test_values_blind_restore_estimates_the_kernel_and_deblurs(tmp_path: Path) -> None:
    from deblur import restore

    sharp = _photo()
    kernel = line_kernels(torch.tensor([9.0]), torch.tensor([30.0]), 15)
    blurred = _blurred(sharp, kernel)
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

    sharp = (_photo("astronaut")[0] * 255).round() / 255
    estimates: list = []
    restored = restore(sharp, _blind_model(tmp_path / "blind.safetensors"), device="cpu", estimates=estimates)
    assert estimates[0].blur_free and estimates[0].applied == 0.0
    torch.testing.assert_close(restored, sharp)


def test_cli_blind_restore_saves_the_kernel_and_checks_options(tmp_path: Path) -> None:
    import cv2

    from deblur.cli import cli

    model = _blind_model(tmp_path / "blind.safetensors")
    blurred = _blurred(_photo(), line_kernels(torch.tensor([9.0]), torch.tensor([30.0]), 15))[0]
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
    write_image(sharp_dir / "camera.png", _photo()[0])
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


def test_values_support_fit_recovers_a_kernel_with_a_faint_trail() -> None:
    """The non-negative fit on a grown support keeps a faint trail that a thresholded closed-form fit cuts."""
    from deblur.ops.estimate import fit_kernel, fit_on_support
    from deblur.ops.fft import gradients

    gray = luminance(_photo())[0, 0]
    kernel = torch.zeros(15, 15)
    kernel[7, 3] = 0.6  # a bright dwell point ...
    kernel[7, 4:12] = 0.05  # ... and a faint trail: the centre of mass is 2.6 px right of the dwell point
    px, py = gradients(gray)
    gx, gy = (blur(g[None, None], kernel[None], padding="same")[0, 0] for g in (px, py))
    columns = torch.arange(15, dtype=torch.float32)
    cut = fit_kernel(px, py, gx, gy, 15, 1e-4, 0.15)
    start = torch.zeros(15, 15)
    start[7, 3] = 1  # what a thresholded estimate keeps: the dwell point alone
    fitted = fit_on_support(px, py, gx, gy, start, dilate=8, beta=1e-4, steps=300)
    assert bool((fitted >= 0).all()) and abs(float(fitted.sum()) - 1) < 0.05
    assert float((fitted - kernel).abs().max()) < 0.02
    centre = float((fitted.sum(0) * columns).sum() / fitted.sum())
    true_centre = float((kernel.sum(0) * columns).sum())
    assert abs(centre - true_centre) < 0.2
    assert abs(float((cut.sum(0) * columns).sum()) - true_centre) > abs(centre - true_centre)
    # nothing outside the grown support: a 1 px growth of the dwell point reaches column 4 at most
    assert torch.equal(fit_on_support(px, py, gx, gy, start, dilate=1, beta=1e-4, steps=50)[:, 6:], torch.zeros(15, 9))


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
    blurred = _blurred(_photo(), line_kernels(torch.tensor([9.0]), torch.tensor([30.0]), 15))[0]
    restored = restore(blurred, full, device="cpu")
    estimates: list = []
    gentle = restore(blurred, out, device="cpu", estimates=estimates)  # the file's strength, not 1
    assert estimates[0].applied == 0.25
    torch.testing.assert_close(gentle, blurred + 0.25 * (restored - blurred), atol=2e-3, rtol=0)
    torch.testing.assert_close(restore(blurred, out, device="cpu", strength=1.0), restored, atol=1e-5, rtol=0)
    result = CliRunner().invoke(cli, ["export", str(full), "--out", str(tmp_path / "z.safetensors"), "--strength", "1"])
    assert result.exit_code != 0 and "--strength is for blind restoration" in result.output
    assert not (tmp_path / "z.safetensors").exists()
