"""``deblur restore`` on files and folders: outputs, kernels, and one-line errors for bad inputs and options."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from deblur.cli import cli
from deblur.synth.kernels import line_kernels
from tests.conftest import blur_with_noise, photo_crop
from tests.helpers import blind_model


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


def test_cli_blind_restore_saves_the_kernel_and_checks_options(tmp_path: Path) -> None:
    import cv2

    from deblur.cli import cli

    model = blind_model(tmp_path / "blind.safetensors")
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
