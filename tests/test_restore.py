"""Restoration: seamless tiling, the Python API on arrays and tensors, and `deblur restore` on files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from deblur import restore
from deblur.cli import cli
from deblur.io import read_photo
from deblur.nets import create_net
from deblur.restoration import auto_tile, load_restorer, output_path, restore_tensor
from deblur.weights import save_model


@pytest.fixture
def net() -> torch.nn.Module:
    torch.manual_seed(0)
    model = create_net("unet", width=4, depth=2, blocks=1)
    torch.nn.init.normal_(model.tail.weight, std=0.05)  # not the identity, so tiling errors would show
    return model.eval()


@pytest.fixture
def model_file(net: torch.nn.Module, tmp_path: Path) -> Path:
    return save_model(tmp_path / "tiny.safetensors", net, {"task": "deblur", "steps": 0})


def test_values_tiled_matches_whole_image(net: torch.nn.Module) -> None:
    image = torch.rand(1, 3, 512, 512, generator=torch.Generator().manual_seed(1))
    whole = restore_tensor(net, image, tile=None)
    tiled = restore_tensor(net, image, tile=192, overlap=32)
    assert float((whole - tiled).abs().mean()) < 0.5 / 255
    ticks = []
    restore_tensor(net, image, tile=256, overlap=32, on_tile=lambda done, total: ticks.append((done, total)))
    assert ticks[-1] == (9, 9)


@pytest.mark.parametrize(
    "array",
    [
        np.random.default_rng(0).integers(0, 256, (37, 50, 3), dtype=np.uint8),
        np.random.default_rng(0).integers(0, 65536, (20, 30, 3), dtype=np.uint16),
        np.random.default_rng(0).integers(0, 256, (20, 30), dtype=np.uint8),
        np.random.default_rng(0).random((20, 30, 4)).astype(np.float32),
    ],
    ids=["rgb8", "rgb16", "grey", "rgba-float"],
)
def test_shape_api_returns_same_kind(array: np.ndarray, net: torch.nn.Module) -> None:
    out = restore(array, net, tile=16, overlap=4)
    assert isinstance(out, np.ndarray) and out.shape == array.shape and out.dtype == array.dtype
    if array.ndim == 3 and array.shape[2] == 4:
        assert np.array_equal(out[..., 3], array[..., 3])  # alpha passes through


def test_shape_api_tensors(net: torch.nn.Module) -> None:
    single, batch = torch.rand(3, 21, 33), torch.rand(2, 1, 16, 16)
    assert restore(single, net).shape == single.shape
    assert restore(batch, net).shape == batch.shape
    with pytest.raises(TypeError):
        restore([1, 2, 3], net)


def test_values_identity_model_keeps_pixels(tmp_path: Path) -> None:
    identity = create_net("unet", width=4, depth=2)
    path = save_model(tmp_path / "id.safetensors", identity, {"task": "deblur"})
    array = np.random.default_rng(0).integers(0, 256, (40, 64, 3), dtype=np.uint8)
    assert np.array_equal(restore(array, path, device="cpu"), array)


def test_exception_not_a_deblurring_model(tmp_path: Path) -> None:
    path = save_model(tmp_path / "gan.safetensors", create_net("classifier", width=4), {"task": "gan"})
    with pytest.raises(Exception, match="not a deblurring model"):
        load_restorer(path)


def test_values_output_path() -> None:
    assert output_path(Path("a/b.jpg"), None, None, "_deblurred") == Path("a/b_deblurred.jpg")
    assert output_path(Path("in/x/c.png"), Path("in"), Path("out"), "_d") == Path("out/x/c.png")
    assert auto_tile(torch.device("cpu")) % 64 == 0


def _write(path: Path, array: np.ndarray) -> Path:
    cv2.imwrite(str(path), array)
    return path


def test_smoke_cli_files_folders_and_errors(model_file: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    _write(folder / "a.png", rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))
    _write(folder / "sub" / "b.jpg", rng.integers(0, 256, (30, 20, 3), dtype=np.uint8))
    _write(folder / "c16.png", rng.integers(0, 65536, (24, 24, 3), dtype=np.uint16))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    runner = CliRunner()
    args = ["restore", str(folder), "-r", "--out-dir", str(tmp_path / "out"), "--model", str(model_file), "-q"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1 and "broken.png" in result.output and "Traceback" not in result.output
    assert (tmp_path / "out" / "a.png").exists() and (tmp_path / "out" / "sub" / "b.jpg").exists()
    assert cv2.imread(str(tmp_path / "out" / "c16.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    before = (tmp_path / "out" / "a.png").read_bytes()
    again = runner.invoke(
        cli, ["restore", str(folder / "a.png"), "-o", str(tmp_path / "out" / "a.png"), "--model", str(model_file)]
    )
    assert again.exit_code == 1 and "already exists" in again.output
    assert (tmp_path / "out" / "a.png").read_bytes() == before  # never overwritten without --overwrite
    beside = runner.invoke(cli, ["restore", str(folder / "a.png"), "--model", str(model_file)])
    assert beside.exit_code == 0 and (folder / "a_deblurred.png").exists()
    missing = runner.invoke(cli, ["restore", str(tmp_path / "nope.jpg"), "--model", str(model_file)])
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_values_blind_kernel_aware_model_restores_the_example_and_leaves_sharp_photos_alone(tmp_path: Path) -> None:
    from deblur.train.run import export_generator
    from deblur.weights import read_metadata

    model = Path(__file__).resolve().parent.parent / "models" / "kernel_aware_centred_adv.safetensors"  # non-blind
    path = export_generator(model, tmp_path / "blind.safetensors", estimator={})  # made blind
    examples = Path(__file__).resolve().parent.parent / "examples"
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


def test_values_restore_files_is_the_library_call_of_the_command(model_file: Path, tmp_path: Path) -> None:
    from deblur import RestoreConfig, restore_files
    from deblur.errors import ConfigError

    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    image = np.random.default_rng(1).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    cv2.imwrite(str(folder / "a.png"), image)
    cv2.imwrite(str(folder / "sub" / "b.jpg"), image)
    (folder / "broken.png").write_bytes(b"not an image")
    config = RestoreConfig(out_dir=tmp_path / "out", recursive=True, model=model_file, device="cpu")
    report = restore_files([folder], config)
    assert report.total == 3 and sorted(t.relative_to(tmp_path / "out").as_posix() for _, t in report.written) == [
        "a.png",
        "sub/b.jpg",
    ]
    assert len(report.errors) == 1 and "broken.png" in report.errors[0] and report.model["task"] == "deblur"
    assert read_photo(tmp_path / "out" / "a.png").pixels.shape == image.shape
    again = restore_files([folder / "a.png"], config)  # an existing output is kept, and said so
    assert not again.written and "already exists" in again.errors[0]
    with pytest.raises(ConfigError, match="-o takes one input image, got 2"):
        restore_files([folder / "a.png", folder / "sub" / "b.jpg"], RestoreConfig(output=tmp_path / "x.png"))
    with pytest.raises(ConfigError, match="not both"):
        RestoreConfig(output=tmp_path / "x.png", out_dir=tmp_path)


def test_values_restore_with_a_known_kernel(tmp_path: Path) -> None:
    """``deblur restore --kernel``: a photo blurred by a known PSF (even-sized, off-centre on its canvas) comes back
    sharper, from a .npy or a .png kernel; bad kernel files are one-line errors naming the file."""
    import skimage.data

    from deblur.io import read_image
    from deblur.metrics import psnr
    from deblur.ops.conv import blur

    sharp = torch.from_numpy(skimage.data.astronaut()[::4, ::4].copy()).permute(2, 0, 1)[None].float() / 255
    psf = np.zeros((8, 8), np.float32)
    psf[2, 1:7] = 1.0  # a horizontal streak, 6 px, on an even canvas
    psf /= psf.sum()
    from deblur.restoration import load_kernel

    kernel = load_kernel(_save_npy(tmp_path / "psf.npy", psf))
    assert kernel.shape[0] % 2 == 1 and float(kernel.sum()) == pytest.approx(1.0)
    g = torch.Generator().manual_seed(0)
    blurred = (blur(sharp, kernel[None]) + 0.01 * torch.randn(sharp.shape, generator=g)).clamp(0, 1)
    cv2.imwrite(
        str(tmp_path / "blurred.png"), (blurred[0].permute(1, 2, 0).numpy()[..., ::-1] * 255).round().astype(np.uint8)
    )
    cv2.imwrite(str(tmp_path / "psf.png"), (psf / psf.max() * 255).astype(np.uint8))
    for name in ("psf.npy", "psf.png"):
        out = tmp_path / f"restored_{name}.png"
        args = ["restore", str(tmp_path / "blurred.png"), "--kernel", str(tmp_path / name), "-o", str(out), "-q"]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        before = float(psnr(read_image(tmp_path / "blurred.png")[None], sharp))
        after = float(psnr(read_image(out)[None], sharp))
        assert after > before + 2, (name, before, after)
    (tmp_path / "bad.npy").write_bytes(b"not an array")
    result = CliRunner().invoke(cli, ["restore", str(tmp_path / "blurred.png"), "--kernel", str(tmp_path / "bad.npy")])
    assert result.exit_code == 1 and "bad.npy" in result.output and len(result.output.strip().splitlines()) == 1
    both = ["restore", str(tmp_path / "blurred.png"), "--kernel", str(tmp_path / "psf.npy"), "--model", "m.safetensors"]
    result = CliRunner().invoke(cli, both)
    assert result.exit_code == 1 and "m.safetensors does not exist" in result.output


def _save_npy(path: Path, array: np.ndarray) -> Path:
    np.save(path, array)
    return path


def test_values_restore_api_takes_a_kernel() -> None:
    from deblur.nets import create_net as make
    from deblur.ops.conv import blur

    g = torch.Generator().manual_seed(3)
    sharp = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 52, 52, generator=g), 5, 1)
    kernel = torch.zeros(7, 7)
    kernel[3, :] = 1 / 7
    blurred = blur(sharp, kernel[None]).clamp(0, 1)
    deconvolved = restore(blurred[0], kernel=kernel.numpy(), device="cpu")  # no model: deconvolution
    assert deconvolved.shape == blurred[0].shape
    assert float(((deconvolved - sharp[0]) ** 2).mean()) < float(((blurred[0] - sharp[0]) ** 2).mean())
    aware = make("kernel_aware", refiner={"width": 4, "depth": 2, "blocks": 1}).eval()
    from deblur.ops.deconv import hl_deconv

    expected = hl_deconv(blurred, kernel[None], 7e-4).clamp(0, 1)[0]  # an untrained refiner adds nothing
    torch.testing.assert_close(restore(blurred[0], aware, kernel=kernel, tile=None), expected)
    with pytest.raises(Exception, match="kernel-aware: pass the blur kernel"):
        restore(blurred[0], aware)
    with pytest.raises(Exception, match="takes no kernel"):
        restore(blurred[0], make("unet", width=4, depth=2, blocks=1), kernel=kernel)


def test_kernel_aware_wiener_branch_is_seen_by_the_refiner_and_validated() -> None:
    from deblur.nets import create_net as make
    from deblur.ops.deconv import wiener_deconv

    torch.manual_seed(0)
    net = make("kernel_aware", refiner={"width": 4, "depth": 2, "blocks": 1}, wiener_nsr=1e-2).eval()
    assert net.refiner.extra_channels == 6  # the blurred image and the Wiener deconvolution
    blurred, kernel = torch.rand(2, 3, 24, 32), torch.full((2, 5, 5), 1 / 25)
    condition = net.condition(blurred, kernel)
    torch.testing.assert_close(condition[:, :3], blurred)
    torch.testing.assert_close(condition[:, 3:], wiener_deconv(blurred, kernel, 1e-2).clamp(-0.5, 1.5))
    with torch.no_grad():  # an untrained refiner adds a zero residual: the branch changes nothing until trained
        torch.testing.assert_close(net(blurred, kernel), net.deconvolve(blurred, kernel).clamp(-0.5, 1.5))
        for p in net.refiner.parameters():
            p.add_(0.05 * torch.randn_like(p))
        changed = net(blurred, kernel)
        net.wiener_nsr = 1.0  # a different branch image reaches the refiner's output
        assert not torch.allclose(changed, net(blurred, kernel))
    with pytest.raises(ValueError, match="wiener_nsr must be positive"):
        make("kernel_aware", wiener_nsr=0.0)


def test_kernel_aware_residual_input_is_the_normalised_reblur_misfit() -> None:
    from deblur.nets import create_net as make
    from deblur.nets.kernel_aware import trust_map
    from deblur.ops.deconv import estimate_noise, hl_deconv

    torch.manual_seed(0)
    spec = {"refiner": {"width": 4, "depth": 2, "blocks": 1}, "iterations": 3, "wiener_nsr": 1e-2}
    net = make("kernel_aware", residual=True, **spec).eval()
    assert net.refiner.extra_channels == 9  # blurred, Wiener, and the residual map, last
    blurred = torch.rand(2, 3, 24, 32)
    kernel = torch.rand(2, 5, 5)
    kernel = kernel / kernel.sum((1, 2), keepdim=True)
    latent, residual = net.deconvolve(blurred, kernel, residual=True)
    weight = float(net.log_weight.detach().exp())
    torch.testing.assert_close(latent, hl_deconv(blurred, kernel, weight, net.alpha, iterations=3, beta_max=256.0))
    sigma = estimate_noise(blurred).clamp(min=2e-3)
    expected = (residual / sigma[:, None, None, None]).clamp(-10, 10) / 10
    torch.testing.assert_close(net.condition(blurred, kernel, residual=residual)[:, 6:], expected)
    torch.testing.assert_close(trust_map(blurred, residual), expected)
    assert expected.abs().max() <= 1
    with torch.no_grad():  # untrained: a zero residual on the deconvolution; then the map reaches the output
        torch.testing.assert_close(net(blurred, kernel), latent.clamp(-0.5, 1.5))
        for p in net.refiner.parameters():
            p.add_(0.05 * torch.randn_like(p))
        changed = net(blurred, kernel)
        net.residual = False  # the same network without its third branch would read the wrong channels
        with pytest.raises(RuntimeError):
            net(blurred, kernel)
        net.residual = True
        torch.testing.assert_close(net(blurred, kernel), changed)


def test_kernel_aware_sharper_branch_is_a_second_hl_deconvolution_in_one_batched_call() -> None:
    from deblur.nets import create_net as make
    from deblur.ops.deconv import hl_deconv

    torch.manual_seed(0)
    spec = {"refiner": {"width": 4, "depth": 2, "blocks": 1}, "iterations": 3, "wiener_nsr": 1e-2}
    net = make("kernel_aware", sharp_factor=0.25, **spec).eval()
    assert net.refiner.extra_channels == 9  # blurred, Wiener, and the sharper deconvolution, last
    blurred = torch.rand(2, 3, 24, 32)
    kernel = torch.rand(2, 5, 5)
    kernel = kernel / kernel.sum((1, 2), keepdim=True)
    both = net.deconvolve(blurred, kernel)
    weight = float(net.log_weight.detach().exp())
    for i in range(2):  # each half is the plain solve with its own weight (per-sample kernels kept apart)
        for half, w in ((both[i : i + 1, :3], weight), (both[i : i + 1, 3:], 0.25 * weight)):
            expected = hl_deconv(blurred[i : i + 1], kernel[i : i + 1], w, net.alpha, iterations=3, beta_max=256.0)
            torch.testing.assert_close(half, expected, atol=1e-5, rtol=1e-4)
    # the lower weight keeps more high frequencies: larger gradients than the main deconvolution
    assert both[:, 3:].diff(dim=-1).abs().mean() > both[:, :3].diff(dim=-1).abs().mean()
    plain = make("kernel_aware", **spec).eval()
    plain.load_state_dict({k: v for k, v in net.state_dict().items() if not k.startswith("refiner")}, strict=False)
    with torch.no_grad():  # untrained: a zero residual on the main deconvolution, as without the branch
        torch.testing.assert_close(net(blurred, kernel), plain.deconvolve(blurred, kernel).clamp(-0.5, 1.5))
        for p in net.refiner.parameters():
            p.add_(0.05 * torch.randn_like(p))
        changed = net(blurred, kernel)
        net.sharp_factor = 0.05  # a different sharper image reaches the refiner's output
        assert not torch.allclose(changed, net(blurred, kernel))
    with pytest.raises(ValueError, match="sharp_factor must be positive"):
        make("kernel_aware", sharp_factor=-1.0)


def test_kernel_aware_center_takes_every_kernel_by_its_centre_of_mass() -> None:
    from deblur.nets import create_net as make
    from deblur.synth.kernels import line_kernels

    torch.manual_seed(0)
    spec = {"refiner": {"width": 4, "depth": 2, "blocks": 1}, "iterations": 3, "wiener_nsr": 1e-2}
    plain, centred = make("kernel_aware", **spec).eval(), make("kernel_aware", center=True, **spec).eval()
    with torch.no_grad():
        for p in plain.refiner.parameters():
            p.add_(0.05 * torch.randn_like(p))
    centred.load_state_dict(plain.state_dict())  # the option adds no weights: any kernel-aware file can take it
    blurred = torch.rand(2, 3, 32, 40)
    kernel = line_kernels(torch.tensor([4.0, 6.0]), torch.tensor([20.0, 100.0]), 13)  # rolls wrap no mass
    shifted = torch.stack([torch.roll(kernel[0], (1, 2), dims=(0, 1)), torch.roll(kernel[1], (-2, 0), dims=(0, 1))])
    with torch.no_grad():
        torch.testing.assert_close(centred(blurred, kernel), plain(blurred, kernel))  # centred kernels: a no-op
        # a shifted kernel is put back: the result of the centred kernel on the widened canvas
        torch.testing.assert_close(centred(blurred, shifted), plain(blurred, torch.nn.functional.pad(kernel, [2] * 4)))
        assert not torch.allclose(plain(blurred, shifted), centred(blurred, shifted), atol=1e-3)
