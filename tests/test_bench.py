"""deblur bench: metrics against scikit-image, test-set layouts, baselines, and a deterministic end-to-end run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from deblur import bench
from deblur.cli import cli
from deblur.config import BenchConfig, SynthConfig
from deblur.nets import create_net
from deblur.synth.folder import synthesize_folder
from deblur.weights import save_model


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


def _synth_set(photo_folder: Path, out: Path) -> Path:
    config = SynthConfig(kernels=("motion",), size=9, noise=(0.01, 0.01), valid=True)
    synthesize_folder(photo_folder, out, config, seed=1, progress=False, limit=2)
    return out


def _tiny_model(path: Path) -> Path:
    torch.manual_seed(0)
    net = create_net("unet", width=4, depth=2, blocks=1)
    torch.nn.init.normal_(net.tail.weight, std=0.01)
    return save_model(path, net.eval(), {"task": "deblur", "steps": 0})


def test_smoke_end_to_end_is_deterministic_and_writes_everything(tmp_path: Path, photo_folder: Path) -> None:
    testset = _synth_set(photo_folder, tmp_path / "set")
    model = _tiny_model(tmp_path / "tiny.safetensors")
    outputs = tmp_path / "other"
    for item in json.loads((testset / "manifest.json").read_text())["items"]:
        (outputs / item["blurred"]).parent.mkdir(parents=True, exist_ok=True)
        image = cv2.imread(str(testset / item["blurred"]))
        cv2.imwrite(str(outputs / f"{item['name']}.png"), cv2.GaussianBlur(image, (3, 3), 0))
    tables = []
    for run in ("a", "b"):
        config = BenchConfig(out=tmp_path / run, pairs=testset, models=(model,), results={"other": outputs})
        rows, written = bench.benchmark(config, progress=False)
        assert {"summary", "groups", "per_image", "curve", "crops"} <= set(written)
        for suffix in (".md", ".csv", ".tex", ".json"):
            assert (tmp_path / run / f"bench{suffix}").stat().st_size > 0
        with open(written["per_image"]) as handle:
            tables.append([(r["method"], r["image"], r["psnr"], r["ssim_y"]) for r in csv.DictReader(handle)])
    assert tables[0] == tables[1]
    methods = {r[0] for r in tables[0]}
    assert methods == {
        "blurred input",
        "Wiener (balance 0.05)",
        "unsupervised Wiener",
        "Richardson-Lucy (20 it.)",
        "hyper-Laplacian (weight 0.0007)",
        "other",
        "tiny",
    }
    assert len(tables[0]) == 2 * len(methods)
    latex = (tmp_path / "a" / "bench.tex").read_text()
    assert "\\toprule" in latex and "Richardson-Lucy" in latex
    meta = json.loads((tmp_path / "a" / "bench.json").read_text())["meta"]
    assert meta["seeds"] == {"bench": 0} and "command" in meta and "versions" in meta
    assert cv2.imread(str(written["crops"])) is not None


def test_values_deconvolution_beats_the_input_given_the_true_kernel(tmp_path: Path, photo_folder: Path) -> None:
    items = bench.load_test_set(_synth_set(photo_folder, tmp_path / "set"))
    methods = [bench.blurred_input(), bench.richardson_lucy(20), bench.hyper_laplacian(1e-3), bench.wiener(0.05)]
    rows, _ = bench.run_bench(items, methods, progress=False)
    summary = {r["method"]: r for r in bench.summarize(rows)[0]}
    assert summary["Richardson-Lucy (20 it.)"]["PSNR"] > summary["blurred input"]["PSNR"]
    assert summary["hyper-Laplacian (weight 0.001)"]["PSNR"] > summary["Wiener (balance 0.05)"]["PSNR"]


def test_exception_results_folder_missing_image_or_wrong_size(tmp_path: Path, photo_folder: Path) -> None:
    items = bench.load_test_set(_synth_set(photo_folder, tmp_path / "set"))
    folder = tmp_path / "theirs"
    folder.mkdir()
    cv2.imwrite(str(folder / f"{items[0].name}.png"), np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(bench.BenchError, match="lacks 1 of 2 images"):
        bench.results_folder("theirs", folder, items)
    cv2.imwrite(str(folder / f"{items[1].name}.png"), np.zeros((10, 10, 3), np.uint8))
    method = bench.results_folder("theirs", folder, items)
    with pytest.raises(bench.BenchError, match="size of the blurred input"):
        bench.run_bench(items, [method], progress=False)


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


def test_smoke_cli(tmp_path: Path, photo_folder: Path) -> None:
    testset = _synth_set(photo_folder, tmp_path / "set")
    model = _tiny_model(tmp_path / "tiny.safetensors")
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["bench", "--pairs", str(testset), "--out", str(tmp_path / "r"), "--model", str(model), "--no-unsupervised"]
        + ["--no-plots", "--channel", "y", "-q"],
    )
    assert result.exit_code == 0, result.output
    assert "| tiny |" in result.output and not (tmp_path / "r" / "bench_crops.png").exists()
    assert "on Y" in (tmp_path / "r" / "bench_groups.md").read_text()
    missing = runner.invoke(cli, ["bench", "--pairs", str(tmp_path / "nope"), "--out", str(tmp_path / "r2")])
    assert missing.exit_code == 1 and "not a folder" in missing.output and "Traceback" not in missing.output
    both = runner.invoke(cli, ["bench", "--out", str(tmp_path / "r3")])
    assert both.exit_code == 1 and "give a test set" in both.output
    bad = runner.invoke(cli, ["bench", "--pairs", str(testset), "--out", str(tmp_path / "r4"), "--results", "x"])
    assert bad.exit_code == 2 and "NAME=DIR" in bad.output


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


def test_exception_a_second_bench_run_does_not_replace_the_first_unasked(tmp_path: Path, photo_folder: Path) -> None:
    testset = _synth_set(photo_folder, tmp_path / "set")
    args = ["bench", "--pairs", str(testset), "--out", str(tmp_path / "r"), "--no-plots", "-q", "--no-unsupervised"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "r").iterdir()}
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "pass --overwrite" in again.output
    assert {p.name: p.read_bytes() for p in (tmp_path / "r").iterdir()} == before
    assert CliRunner().invoke(cli, [*args, "--overwrite"]).exit_code == 0
    assert CliRunner().invoke(cli, [*args, "--name", "second"]).exit_code == 0
    assert (tmp_path / "r" / "second.md").exists() and not list((tmp_path / "r").glob(".deblur-*"))
