"""``deblur restore`` on files and folders: outputs, kernels, and one-line errors for bad inputs and options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from deblur.cli import cli
from deblur.synth.kernels import line_kernels
from tests.conftest import blur_with_noise, photo_crop
from tests.helpers import blind_model, photo_file, run_cli, tiny_model
from tests.io.test_photos import png_bomb


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
    for size in ("big", "15.5"):
        result = CliRunner().invoke(cli, ["restore", str(photo), "--model", str(model), "--kernel-size", size])
        assert result.exit_code == 2 and "neither auto nor a whole number" in result.output
    for region in ("1,2,3", "a,b,c,d"):
        result = CliRunner().invoke(cli, ["restore", str(photo), "--model", str(model), "--region", region])
        assert result.exit_code == 2 and "X,Y,WIDTH,HEIGHT" in result.output
    result = CliRunner().invoke(cli, ["restore", str(photo), "--model", str(model), "--region", "0,0,8,8"])
    assert result.exit_code == 1 and "at least 32 px" in result.output
    out = tmp_path / "auto.png"
    args = ["restore", str(photo), "--model", str(model), "--kernel-size", "auto", "--region", "10,20,160,160"]
    result = CliRunner().invoke(cli, [*args, "-o", str(out)])
    assert result.exit_code == 0 and out.is_file(), result.output


def _bad_input_corpus(root: Path) -> dict[str, str]:  # noqa: PLR0915
    """Write the corpus; returns file name -> expected outcome ("ok" or a fragment of the one-line error)."""
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (40, 52, 3), dtype=np.uint8))
    root.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}

    def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        return buffer.getvalue()

    (root / "empty.png").write_bytes(b"")
    expected["empty.png"] = "not a readable image"
    png, jpeg = encoded(rgb, "PNG"), encoded(rgb, "JPEG")
    (root / "truncated.png").write_bytes(png[: len(png) // 2])
    expected["truncated.png"] = "not a readable image"
    (root / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    expected["truncated.jpg"] = "not a readable image"
    (root / "noise.jpg").write_bytes(rng.integers(0, 255, 4096, dtype=np.uint8).tobytes())
    expected["noise.jpg"] = "not a readable image"
    (root / "notes.png").write_text("this is not an image\n")
    expected["notes.png"] = "not a readable image"
    png_bomb(root / "bomb.png")
    expected["bomb.png"] = "over the limit"
    frames = [Image.fromarray(np.full((16, 16, 3), v, np.uint8)) for v in (0, 255)]
    frames[0].save(root / "animated.gif", save_all=True, append_images=frames[1:])
    expected["animated.gif"] = "GIF"
    (root / "cmyk.jpg").write_bytes(encoded(rgb.convert("CMYK"), "JPEG"))
    expected["cmyk.jpg"] = "ok"
    Image.fromarray(rng.integers(0, 65535, (30, 20), dtype=np.uint16)).save(root / "sixteen.png")
    expected["sixteen.png"] = "ok"
    for side in (1, 3):
        Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)).save(root / f"tiny{side}.png")
        expected[f"tiny{side}.png"] = "ok"
    rgb.convert("L").save(root / "grey.png")
    rgb.convert("RGBA").save(root / "alpha.png")
    rgb.convert("P").save(root / "palette.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the upright image is 52 x 40
    rgb.save(root / "rotated.jpg", exif=exif)
    rgb.save(root / "with space é.png")
    for name in ("grey.png", "alpha.png", "palette.png", "rotated.jpg", "with space é.png"):
        expected[name] = "ok"
    _more_kinds(root, rgb, expected)
    return expected


def _more_kinds(root: Path, rgb: Any, expected: dict[str, str]) -> None:
    """The kinds found by the issue-16 probe and beyond: TIFF layouts, damaged metadata, odd shapes and formats."""
    import io
    import struct

    from PIL import Image, ImageCms

    pixels = np.asarray(rgb)
    for name in _tiff_corpus(root / "tiffs"):  # exif_ifd, cmyk, grey_alpha, alpha128, planar, strips
        (root / f"tiff_{name}").write_bytes((root / "tiffs" / name).read_bytes())
        expected[f"tiff_{name}"] = "ok"
    for path in (root / "tiffs").iterdir():
        path.unlink()
    (root / "tiffs").rmdir()
    exif = Image.Exif()
    exif[0x010F] = "Camera"
    rgb.save(root / "bad_exif.jpg", exif=exif)
    data = bytearray((root / "bad_exif.jpg").read_bytes())
    at = data.index(b"Exif\0\0") + 6
    data[at + 14 : at + 18] = b"\xff\xff\xff\x00"  # an entry claiming an absurd count
    (root / "bad_exif.jpg").write_bytes(bytes(data))
    expected["bad_exif.jpg"] = "ok"
    deep = (pixels.astype(np.uint16) * 257)[:, :, ::-1]
    cv2.imwrite(str(root / "deep_rgb.tif"), np.ascontiguousarray(deep))
    cv2.imwrite(str(root / "deep_grey.tif"), np.ascontiguousarray(deep[:, :, 0]))
    cv2.imwrite(str(root / "deep_rgba.png"), np.dstack([deep, np.full(deep.shape[:2], 40000, np.uint16)]))
    rgb.save(root / "lossless.webp", lossless=True)
    rgb.save(root / "lossy.webp", quality=80)
    rgb.save(root / "plain.bmp")
    rgb.convert("LA").save(root / "grey_alpha.png")
    palette = rgb.convert("P")
    palette.info["transparency"] = 0
    palette.save(root / "palette_transparent.png", transparency=0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    rgb.save(root / "icc.jpg", icc_profile=icc)
    rgb.save(root / "progressive.jpg", progressive=True)
    for orientation in (3, 8):
        tagged = Image.Exif()
        tagged[0x0112] = orientation
        rgb.save(root / f"orient{orientation}.jpg", exif=tagged)
    Image.fromarray(pixels[:1]).save(root / "one_row.png")
    rgb.save(root / "multipage.tif", save_all=True, append_images=[rgb.rotate(90)])
    buffer = io.BytesIO()
    rgb.save(buffer, "PNG")
    (root / "png_named.jpg").write_bytes(buffer.getvalue())  # the content decides, not the extension
    for name in ("deep_rgb.tif", "deep_grey.tif", "deep_rgba.png", "lossless.webp", "lossy.webp", "plain.bmp",
                 "grey_alpha.png", "palette_transparent.png", "icc.jpg", "progressive.jpg", "orient3.jpg",
                 "orient8.jpg", "one_row.png", "multipage.tif", "png_named.jpg"):  # fmt: skip
        expected[name] = "ok"
    Image.fromarray(np.zeros((1, (1 << 20) + 100, 3), np.uint8)).save(root / "wider_than_opencv.png")
    expected["wider_than_opencv.png"] = "ok"  # valid: OpenCV's 2^20 px limit is not the file's fault
    _five_channel_tiff(root / "five_channels.tif")
    expected["five_channels.tif"] = "5 channels per pixel"  # valid, not "corrupt"
    (root / "empty.tif").write_bytes(b"")
    expected["empty.tif"] = "not a readable image"
    tif = (root / "tiff_planar.tif").read_bytes()
    (root / "truncated.tif").write_bytes(tif[: len(tif) // 3])
    expected["truncated.tif"] = "not a readable image"
    (root / "damaged.tif").write_bytes(tif[:8] + b"\xff" * 40 + tif[48:])  # a wrecked first IFD
    expected["damaged.tif"] = "not a readable image"
    header = bytearray(tif)
    width_at = 8 + 2 + 8  # the first IFD entries (ImageWidth, ImageLength, LONG): their values
    header[width_at : width_at + 4] = struct.pack("<I", 200_000)
    header[width_at + 12 : width_at + 16] = struct.pack("<I", 200_000)  # 40 gigapixels claimed
    (root / "bomb.tif").write_bytes(bytes(header))
    expected["bomb.tif"] = "over the limit"
    (root / "still.gif").write_bytes(encoded_gif(rgb))
    expected["still.gif"] = "GIF"
    _probe_kinds(root, pixels, expected)


def _probe_kinds(root: Path, pixels: np.ndarray, expected: dict[str, str]) -> None:
    """The kinds of the 2026-12-07 probe (issue 52): tiny sides and extreme shapes, textureless pictures, float
    TIFFs (with NaN or infinity too), Nyquist patterns, heavy JPEG artefacts."""
    from PIL import Image

    for height, width in ((16, 300), (300, 16), (47, 47), (1, 600), (600, 2)):
        tiled = np.tile(pixels, (height // pixels.shape[0] + 1, width // pixels.shape[1] + 1, 1))[:height, :width]
        Image.fromarray(np.ascontiguousarray(tiled)).save(root / f"tiny_{height}x{width}.png")
        expected[f"tiny_{height}x{width}.png"] = "ok"
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(root / "flat_grey.png")
    Image.fromarray(np.full((32, 32), 77, np.uint8)).save(root / "flat_grey_l.png")
    Image.fromarray(np.tile(np.linspace(0, 255, 48).astype(np.uint8)[None, :, None], (32, 1, 3))).save(
        root / "ramp.png"
    )
    stripes = np.zeros((32, 32, 3), np.uint8)
    stripes[:, ::2] = 255
    Image.fromarray(stripes).save(root / "stripes_1px.png")
    Image.fromarray((np.indices((32, 32)).sum(0) % 2 * 255).astype(np.uint8)).save(root / "checker.png")
    Image.fromarray(pixels).save(root / "jpeg_q2.jpg", quality=2)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / "flat_black.png")
    Image.fromarray(np.tile(np.linspace(0, 255, 48).astype(np.uint8)[:, None], (1, 32))).save(root / "ramp_grey.png")
    for name in ("flat_grey.png", "flat_grey_l.png", "flat_black.png", "ramp.png", "ramp_grey.png",
                 "stripes_1px.png", "checker.png", "jpeg_q2.jpg"):  # fmt: skip
        expected[name] = "ok"
    for name, bad in (("float_nan.tif", np.nan), ("float_inf.tif", np.inf), ("float_plain.tif", 0.25)):
        values = np.full((16, 16), 0.5, np.float32)
        values[3, 3] = bad
        Image.fromarray(values, mode="F").save(root / name)
        expected[name] = "F TIFF"  # 32-bit float TIFFs are refused by name, NaN or not


def encoded_gif(image: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, "GIF")
    return buffer.getvalue()


def test_exception_bad_input_corpus_each_gets_its_outcome(tmp_path: Path) -> None:
    import cv2

    corpus = _bad_input_corpus(tmp_path / "in")
    before = {p.name: p.read_bytes() for p in (tmp_path / "in").iterdir()}
    model = tiny_model(tmp_path / "tiny.safetensors")
    inputs = [str(tmp_path / "in" / name) for name in sorted(corpus)]
    result = CliRunner().invoke(cli, ["restore", *inputs, "--out-dir", str(tmp_path / "out"), "--model", str(model)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    for name, outcome in corpus.items():
        stem = Path(name).stem
        written = sorted((tmp_path / "out").glob(f"{stem}.*"))  # --out-dir keeps the names
        if outcome == "ok":
            assert len(written) == 1, name
            from PIL import Image

            from deblur.io import read_photo

            with Image.open(written[0]) as output:  # every output re-opens, upright and of the input's size
                height, width = read_photo(tmp_path / "in" / name).pixels.shape[:2]
                assert output.size == (width, height), name
        else:
            assert not written, name
            assert sum(name in line and outcome in line for line in errors) == 1, (name, errors)
    assert len(errors) == sum(v != "ok" for v in corpus.values())
    assert {p.name: p.read_bytes() for p in (tmp_path / "in").iterdir()} == before  # inputs untouched
    sixteen = cv2.imread(str(tmp_path / "out" / "sixteen.png"), cv2.IMREAD_UNCHANGED)
    assert sixteen.dtype == "uint16" and sixteen.shape == (30, 20)
    assert cv2.imread(str(tmp_path / "out" / "rotated.jpg")).shape[:2] == (52, 40)
    assert cv2.imread(str(tmp_path / "out" / "alpha.png"), cv2.IMREAD_UNCHANGED).shape[2] == 4
    assert cv2.imread(str(tmp_path / "out" / "tiny1.png")).shape[:2] == (1, 1)


def test_exception_existing_output_and_unwritable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np
    from PIL import Image

    model = tiny_model(tmp_path / "tiny.safetensors")
    source = tmp_path / "photo.png"
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(source)
    existing = tmp_path / "photo_deblurred.png"
    existing.write_bytes(b"keep me")
    runner = CliRunner()
    result = runner.invoke(cli, ["restore", str(source), "--model", str(model)])
    assert result.exit_code == 1 and "already exists" in result.output and existing.read_bytes() == b"keep me"

    import deblur.io.files

    def refuse(*_: object, **__: object) -> None:
        raise PermissionError(13, "Permission denied", str(tmp_path / "locked"))

    monkeypatch.setattr(deblur.io.files.tempfile, "mkstemp", refuse)  # a read-only folder, even for root
    locked = runner.invoke(cli, ["restore", str(source), "--model", str(model), "--out-dir", str(tmp_path / "locked")])
    assert locked.exit_code == 1 and "Permission denied" in locked.output and "Traceback" not in locked.output
    assert not list((tmp_path / "locked").glob("*")) if (tmp_path / "locked").exists() else True


@pytest.mark.parametrize("overwrite", [True, False])
def test_values_two_restore_processes_share_an_output_folder(tmp_path: Path, overwrite: bool) -> None:
    import os
    import subprocess
    import sys

    import numpy as np
    from PIL import Image

    from deblur import restore
    from deblur.weights import load_model

    model = tiny_model(tmp_path / "tiny.safetensors")
    source = tmp_path / "in"
    source.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)).save(source / f"p{i}.png")
    command = [sys.executable, "-m", "deblur", "restore", str(source), "--out-dir", str(tmp_path / "out")]
    command += ["--model", str(model), "-q"] + (["--overwrite"] if overwrite else [])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    processes = [subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in processes]
    net, _ = load_model(model)
    for i in range(8):
        expected = restore(np.asarray(Image.open(source / f"p{i}.png")), net)
        assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / f"p{i}.png")), expected)  # whole, not mixed
    assert not [p for p in (tmp_path / "out").iterdir() if p.suffix == ".tmp"]
    if overwrite:
        assert [code for code, _ in results] == [0, 0], results
    else:  # each file is written by exactly one of them; the other reports it exists and exits 1
        assert sum(err.count("already exists") for _, err in results) == 8, results
        assert "Traceback" not in "".join(err for _, err in results)


def test_exception_malicious_and_broken_model_files(tmp_path: Path) -> None:
    import pickle

    import numpy as np
    from PIL import Image

    class Payload:
        def __reduce__(self):  # noqa: ANN204
            return (open, (str(tmp_path / "pwned"), "w"))

    photo = tmp_path / "photo.png"
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(photo)
    good = tiny_model(tmp_path / "tiny.safetensors").read_bytes()
    (tmp_path / "evil.safetensors").write_bytes(pickle.dumps(Payload()))
    (tmp_path / "evil.pt").write_bytes(pickle.dumps(Payload()))
    (tmp_path / "truncated.safetensors").write_bytes(good[: len(good) // 2])
    (tmp_path / "notes.safetensors").write_text("not a model")
    from deblur.nets import create_net
    from deblur.weights import save_model

    save_model(tmp_path / "gan.safetensors", create_net("dcgan_generator", image_size=32, channels=1), {"task": "gan"})
    outcomes = {
        "evil.safetensors": "",
        "evil.pt": "",
        "truncated.safetensors": "",
        "notes.safetensors": "",
        "gan.safetensors": "not a deblurring model",
        "missing.safetensors": "",
    }
    for name, message in outcomes.items():
        result = CliRunner().invoke(cli, ["restore", str(photo), "--model", str(tmp_path / name), "-o", "out.png"])
        assert result.exit_code == 1 and "Traceback" not in result.output, (name, result.output)
        assert len(result.output.strip().splitlines()) == 1 and name in result.output and message in result.output
    assert not (tmp_path / "pwned").exists()  # the payload never ran
    assert not Path("out.png").exists()


def test_exception_an_unexpected_error_on_one_file_costs_only_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import deblur.restoration

    inputs = [photo_file(tmp_path / "in" / f"{name}.png", i) for i, name in enumerate(("a", "bad", "c"))]
    real = deblur.restoration.files.restore

    def flaky(pixels, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        if pixels.shape[1] == 32 and int(pixels[0, 0, 0]) == int(_first_pixel(inputs[1])):
            raise ValueError("a failure nobody foresaw")
        return real(pixels, *args, **kwargs)

    monkeypatch.setattr(deblur.restoration.files, "restore", flaky)
    model = tiny_model(tmp_path / "tiny.safetensors")
    args = ["restore", *map(str, inputs), "--out-dir", str(tmp_path / "out"), "--model", str(model)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "c.png"]  # the batch went on
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "bad.png" in errors[0] and "ValueError: a failure nobody foresaw" in errors[0]
    assert "Restored 2 of 3" in result.output


def _first_pixel(path: Path) -> int:
    import numpy as np
    from PIL import Image

    return int(np.asarray(Image.open(path))[0, 0, 0])


def test_exception_two_inputs_with_one_output_name_are_not_both_written(tmp_path: Path) -> None:
    first, second = photo_file(tmp_path / "d1" / "x.png", 1), photo_file(tmp_path / "d2" / "x.png", 2)
    model = tiny_model(tmp_path / "tiny.safetensors")
    out = tmp_path / "out"
    args = ["restore", str(first), str(second), "--out-dir", str(out), "--model", str(model), "--overwrite"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and "Restored 1 of 2" in result.output
    assert "is also the output of" in result.output and str(second) in result.output
    assert [p.name for p in out.iterdir()] == ["x.png"]


def test_exception_a_model_that_returns_nan_is_an_error_naming_it(tmp_path: Path) -> None:
    import torch

    from deblur.nets import create_net
    from deblur.weights import save_model

    net = create_net("unet", width=4, depth=2, blocks=1).eval()
    with torch.no_grad():
        net.tail.bias.fill_(float("nan"))
    model = save_model(tmp_path / "nan.safetensors", net, {"task": "deblur", "steps": 0})
    photo = photo_file(tmp_path / "p.png")
    result = CliRunner().invoke(cli, ["restore", str(photo), "--model", str(model), "-o", str(tmp_path / "o.png")])
    assert result.exit_code == 1 and "nan.safetensors returned NaN or infinite values" in result.output
    assert not (tmp_path / "o.png").exists()


def test_exception_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    model = tiny_model(tmp_path / "tiny.safetensors")
    result = CliRunner().invoke(cli, ["restore", str(tmp_path / "empty"), "--model", str(model)])
    assert result.exit_code == 1 and "no image in this folder" in result.output


def test_values_earlier_outputs_are_skipped_only_when_writing_beside_the_inputs(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    photo_file(folder / "cat_deblurred_final.png")  # an input whose name only contains the suffix
    photo_file(folder / "dog_deblurred.png", 1)  # an earlier output beside its input
    model = tiny_model(tmp_path / "tiny.safetensors")
    result = CliRunner().invoke(
        cli, ["restore", str(folder), "--out-dir", str(tmp_path / "out"), "--model", str(model)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["cat_deblurred_final.png", "dog_deblurred.png"]
    result = CliRunner().invoke(cli, ["restore", str(folder), "--model", str(model)])
    assert result.exit_code == 0, result.output
    assert (folder / "cat_deblurred_final_deblurred.png").exists()
    assert not (folder / "dog_deblurred_deblurred.png").exists()


def test_exception_sigterm_during_restore_exits_like_an_interrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import signal

    import deblur.restoration

    def terminated(*_: object, **__: object) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM should have ended the run")

    monkeypatch.setattr(deblur.restoration, "restore_files", terminated)
    before = signal.getsignal(signal.SIGTERM)
    result = CliRunner().invoke(cli, ["restore", str(photo_file(tmp_path / "p.png"))])
    assert result.exit_code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back


def _with_metadata(source: Path, target: Path, edit) -> Path:  # noqa: ANN001
    """A copy of a model file whose deblur metadata is ``edit(metadata)`` (a dict or a raw string)."""
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(source), framework="pt") as handle:
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
        meta = json.loads(handle.metadata()["deblur"])
    edited = edit(meta)
    save_file(tensors, str(target), metadata={"deblur": edited if isinstance(edited, str) else json.dumps(edited)})
    return target


def test_exception_model_metadata_that_lies_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    import time

    good = tiny_model(tmp_path / "tiny.safetensors")
    photo = photo_file(tmp_path / "p.png")

    def huge(meta: dict) -> dict:
        return {**meta, "net": {**meta["net"], "width": 2048}}  # a 40 GB network claimed by a small file

    cases = {
        _with_metadata(good, tmp_path / "huge.safetensors", huge): "has shape",
        _with_metadata(good, tmp_path / "list.safetensors", lambda m: "[1, 2]"): "corrupt deblur metadata",
        _with_metadata(good, tmp_path / "deep.safetensors", lambda m: "[" * 100_000 + "]" * 100_000): "corrupt",
        _with_metadata(good, tmp_path / "spec.safetensors", lambda m: {**m, "net": [1]}): "cannot build",
    }
    (tmp_path / "folder.safetensors").mkdir()
    cases[tmp_path / "folder.safetensors"] = "is a folder"
    for path, message in cases.items():
        start = time.perf_counter()
        result = CliRunner().invoke(cli, ["restore", str(photo), "--model", str(path), "-o", str(tmp_path / "o.png")])
        assert result.exit_code == 1 and "Traceback" not in result.output, (path.name, result.output)
        assert message in result.output and path.name in result.output, (path.name, result.output)
        assert time.perf_counter() - start < 10  # nothing of the claimed size was allocated
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--overlap", "-1"], "overlap must be 0 or more"),
        (["--tile", "1"], "tile must be 0 (whole images) or at least 64"),
        (["--tile", "64", "--overlap", "32"], "less than half the tile"),
        (["--max-pixels", "nan"], "max_pixels must be a positive number"),
        (["--max-pixels", "inf"], "max_pixels must be a positive number"),
        (["--max-pixels", "-1"], "max_pixels must be a positive number"),
        (["--suffix", "a/b"], "suffix must be part of a file name"),
    ],
)
def test_exception_restore_options_are_checked_before_any_work(tmp_path: Path, args: list[str], message: str) -> None:
    photo = photo_file(tmp_path / "p.png")
    result = CliRunner().invoke(cli, ["restore", str(photo), "--model", str(tmp_path / "none.safetensors"), *args])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def _planar_tiff(path: Path, rgb: np.ndarray) -> Path:
    """An uncompressed baseline RGB TIFF with separate planes (PlanarConfiguration 2), written byte by byte:
    one strip per plane, as scanners and some editors write them."""
    import struct

    height, width, _ = rgb.shape
    planes = [np.ascontiguousarray(rgb[..., c]).tobytes() for c in range(3)]
    entries = 10
    ifd_size = 2 + entries * 12 + 4
    bits_at = 8 + ifd_size
    offsets_at, counts_at = bits_at + 6, bits_at + 6 + 12
    data_at = counts_at + 12
    strip_offsets = [data_at + i * len(planes[0]) for i in range(3)]

    def entry(tag: int, kind: int, count: int, value: int) -> bytes:
        packed = struct.pack("<H", value) + b"\0\0" if kind == 3 and count == 1 else struct.pack("<I", value)
        return struct.pack("<HHI", tag, kind, count) + packed

    ifd = (
        struct.pack("<H", entries)
        + b"".join(
            [
                entry(256, 4, 1, width),
                entry(257, 4, 1, height),
                entry(258, 3, 3, bits_at),
                entry(259, 3, 1, 1),
                entry(262, 3, 1, 2),
                entry(273, 4, 3, offsets_at),
                entry(277, 3, 1, 3),
                entry(278, 4, 1, height),
                entry(279, 4, 3, counts_at),
                entry(284, 3, 1, 2),
            ]
        )
        + struct.pack("<I", 0)
    )
    extra = struct.pack("<3H", 8, 8, 8) + struct.pack("<3I", *strip_offsets) + struct.pack("<3I", *map(len, planes))
    path.write_bytes(b"II*\0" + struct.pack("<I", 8) + ifd + extra + b"".join(planes))
    return path


def _five_channel_tiff(path: Path) -> Path:
    """A valid uncompressed 8-bit TIFF with 5 samples per pixel (RGB and two extra channels, as some scientific and
    prepress tools write)."""
    import struct

    height, width, samples = 8, 10, 5
    data = np.arange(height * width * samples, dtype=np.uint8).tobytes()
    entries = 11
    bits_at = 8 + 2 + entries * 12 + 4
    data_at = bits_at + 2 * samples

    def entry(tag: int, kind: int, count: int, value: int) -> bytes:
        packed = struct.pack("<H", value) + b"\0\0" if kind == 3 and count == 1 else struct.pack("<I", value)
        return struct.pack("<HHI", tag, kind, count) + packed

    tags = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, samples, bits_at), (259, 3, 1, 1), (262, 3, 1, 2)]
    tags += [(273, 4, 1, data_at), (277, 3, 1, samples), (278, 4, 1, height), (279, 4, 1, len(data))]
    tags += [(284, 3, 1, 1), (338, 3, 1, 0)]
    ifd = struct.pack("<H", entries) + b"".join(entry(*t) for t in tags) + struct.pack("<I", 0)
    bits = struct.pack(f"<{samples}H", *([8] * samples))
    path.write_bytes(b"II*\0" + struct.pack("<I", 8) + ifd + bits + data)
    return path


def _tiff_corpus(root: Path) -> dict[str, np.ndarray]:
    """TIFFs as cameras and editors write them, each with the pixels an identity model must give back."""
    import numpy as np
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    rows, cols = np.mgrid[0:24, 0:36]
    rgb = np.stack([rows * 10, cols * 7, 255 - rows * 5 - cols * 3], axis=-1).clip(0, 255).astype(np.uint8)
    expected: dict[str, np.ndarray] = {}
    exif = Image.Exif()
    exif[0x010F] = "Camera"
    exif.get_ifd(0x8769)[0x9003] = "2024:05:06 07:08:09"  # DateTimeOriginal in the Exif IFD
    exif[0x8769] = 0
    Image.fromarray(rgb).save(root / "exif_ifd.tif", exif=exif)
    expected["exif_ifd.tif"] = rgb
    Image.fromarray(rgb).convert("CMYK").save(root / "cmyk.tif")
    expected["cmyk.tif"] = np.asarray(Image.open(root / "cmyk.tif").convert("RGB"))
    grey_alpha = np.stack([rgb[..., 0], np.full((24, 36), 200, np.uint8)], axis=-1)
    Image.fromarray(grey_alpha, "LA").save(root / "grey_alpha.tif")
    expected["grey_alpha.tif"] = grey_alpha
    rgba = np.zeros((24, 36, 4), np.uint8)
    rgba[...] = (200, 100, 50, 128)
    Image.fromarray(rgba).save(root / "alpha128.tif")  # straight (unassociated) alpha
    expected["alpha128.tif"] = rgba
    _planar_tiff(root / "planar.tif", rgb)
    Image.fromarray(rgb).save(root / "strips.tif", tiffinfo={278: 1})  # one row per strip: 24 StripOffsets
    expected["planar.tif"] = rgb
    expected["strips.tif"] = rgb
    return expected


@pytest.mark.parametrize("suffix", [".tif", ".png", ".jpg"])
def test_values_tiffs_in_every_layout_restore_to_files_that_reopen_with_their_pixels(
    tmp_path: Path, suffix: str
) -> None:
    import numpy as np
    from PIL import Image

    corpus = _tiff_corpus(tmp_path / "in")
    model = tiny_model(tmp_path / "tiny.safetensors")  # zero residual: the identity
    out = tmp_path / "out"
    inputs = [str(tmp_path / "in" / name) for name in corpus]
    result = CliRunner().invoke(cli, ["restore", *inputs, "--out-dir", str(out), "--model", str(model)])
    assert result.exit_code == 0, result.output
    for name, pixels in corpus.items():
        written = out / name
        target = written.with_suffix(suffix)
        if suffix != ".tif":  # the same photos written as another format
            args = ["restore", str(tmp_path / "in" / name), "--model", str(model), "-o", str(target)]
            assert CliRunner().invoke(cli, args).exit_code == 0, name
        with Image.open(target) as im:
            got = np.asarray(im)
            assert im.size == (36, 24), name
        if suffix == ".jpg":
            want = pixels if pixels.ndim == 2 else pixels[..., : 1 if pixels.shape[2] == 2 else 3]
            got = got if got.ndim == 3 or want.ndim == 2 else got[..., None]
            assert np.abs(got.astype(int) - want.reshape(got.shape).astype(int)).mean() < 8, name
        else:
            assert np.array_equal(got, pixels), name  # no scrambled planes, no premultiplied alpha
    with Image.open(out / "exif_ifd.tif") as im:
        kept = im.getexif()
        assert kept.get(0x010F) == "Camera" and kept.get_ifd(0x8769).get(0x9003) == "2024:05:06 07:08:09"
        assert 273 in kept and kept[273] != 0  # its own strips, not the input's StripOffsets


def test_values_malformed_exif_is_dropped_and_the_photo_restored(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    photo = photo_file(tmp_path / "ok.png")
    jpeg = tmp_path / "bad_exif.jpg"
    exif = Image.Exif()
    exif[0x010F] = "Camera"
    exif[0x0110] = "x" * 40
    Image.open(photo).save(jpeg, exif=exif)
    data = bytearray(jpeg.read_bytes())
    at = data.index(b"Exif\0\0") + 6
    data[at + 10 : at + 12] = b"\x7f\xff"  # the first entry's tag ...
    data[at + 14 : at + 18] = b"\xff\xff\xff\x00"  # ... claims an absurd count
    jpeg.write_bytes(bytes(data))
    model = tiny_model(tmp_path / "tiny.safetensors")
    result = CliRunner().invoke(cli, ["restore", str(jpeg), "--model", str(model), "-o", str(tmp_path / "o.jpg")])
    assert result.exit_code == 0, result.output
    assert np.asarray(Image.open(tmp_path / "o.jpg")).shape == (24, 32, 3)


def test_exception_a_model_file_holding_a_discriminator_is_refused(tmp_path: Path) -> None:
    from deblur.nets import create_net
    from deblur.weights import save_model

    disc = save_model(tmp_path / "disc.safetensors", create_net("patchgan", width=8).eval(), {"task": "deblur"})
    photo = photo_file(tmp_path / "p.png")
    result = CliRunner().invoke(cli, ["restore", str(photo), "--model", str(disc), "-o", str(tmp_path / "o.png")])
    assert result.exit_code == 1 and "disc.safetensors holds a patchgan" in result.output
    assert "cannot restore images" in result.output or "not a deblurring model" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_values_an_out_dir_inside_the_input_tree_is_not_restored_again(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photo_file(photos / "a.png")
    photo_file(photos / "trip" / "b.png", 1)
    model = tiny_model(tmp_path / "tiny.safetensors")
    args = ["restore", str(photos), "-r", "--out-dir", str(photos / "sharp"), "--model", str(model), "--overwrite"]
    for _ in range(2):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(photos).as_posix() for p in (photos / "sharp").rglob("*.png"))
    assert written == ["sharp/a.png", "sharp/trip/b.png"]  # no sharp/sharp/... from the first run's outputs


def test_exception_out_dir_naming_a_file_fails_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("keep me")
    photo = photo_file(tmp_path / "p.png")
    model = tiny_model(tmp_path / "tiny.safetensors")
    result = CliRunner().invoke(
        cli, ["restore", str(photo), "--out-dir", str(tmp_path / "afile"), "--model", str(model)]
    )
    assert result.exit_code == 1 and "afile is a file" in result.output and "p.png" not in result.output
    assert (tmp_path / "afile").read_text() == "keep me"


def test_exception_an_output_name_too_long_names_the_output(tmp_path: Path) -> None:
    photo = photo_file(tmp_path / "p.png")
    model = tiny_model(tmp_path / "tiny.safetensors")
    target = tmp_path / ("x" * 300 + ".png")
    result = CliRunner().invoke(cli, ["restore", str(photo), "--model", str(model), "-o", str(target)])
    assert result.exit_code == 1 and "x" * 300 in result.output and "Traceback" not in result.output


def _blind_photo(tmp_path: Path) -> tuple[Path, Path]:
    return blind_model(tmp_path / "blind.safetensors"), photo_file(tmp_path / "photo.png")


@pytest.mark.parametrize("kernel", ["photo.png", "out.png"])
def test_exception_save_kernel_naming_the_input_or_the_output_writes_nothing(tmp_path: Path, kernel: str) -> None:
    # C01: the kernel once replaced the input photo (and the output), before the output was written
    model, photo = _blind_photo(tmp_path)
    before = photo.read_bytes()
    args = ["restore", photo, "-o", tmp_path / "out.png", "--save-kernel", tmp_path / kernel, "--overwrite"]
    code, output = run_cli(*args, "--model", model)
    assert code == 1 and kernel in output and "--save-kernel" in output and len(output.strip().splitlines()) == 1
    assert photo.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blind.safetensors", "photo.png"]


@pytest.mark.parametrize("existing", ["file", "dangling link"])
def test_exception_an_existing_kernel_file_is_refused_before_the_restore(tmp_path: Path, existing: str) -> None:
    # C24: the .npy was written, then the .png refused, after the whole restore; the output was lost
    model, photo = _blind_photo(tmp_path)
    kernel = tmp_path / "k.png"
    if existing == "file":
        kernel.write_text("keep me")
    else:
        kernel.symlink_to(tmp_path / "nowhere.png")
    args = ["restore", photo, "-o", tmp_path / "o.png", "--save-kernel", kernel, "--model", model]
    code, output = run_cli(*args)
    assert code == 1 and "k.png already exists: pass --overwrite" in output
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "k.npy").exists()
    assert kernel.is_symlink() or kernel.read_text() == "keep me"


def test_values_kernels_of_outputs_sharing_a_stem_do_not_collide(tmp_path: Path) -> None:
    # C06: kernels were named by the output's stem only: x.png and x.jpg (or a/x.png and b/x.png) collided
    model = blind_model(tmp_path / "blind.safetensors")
    folder = tmp_path / "in"
    photo_file(folder / "x.png")
    Image.open(photo_file(folder / "x.bmp", 1)).save(folder / "x.jpg")
    (folder / "x.bmp").unlink()
    photo_file(folder / "sub" / "x.png", 2)
    args = ["restore", folder, "-r", "--out-dir", tmp_path / "out", "--save-kernel", tmp_path / "k", "-q"]
    code, output = run_cli(*args, "--model", model)
    assert code == 0, output
    names = sorted(p.relative_to(tmp_path / "k").as_posix() for p in (tmp_path / "k").rglob("*.*"))
    assert names == sorted(
        f"{d}x_{e}_kernel.{s}" for d, e in (("", "jpg"), ("", "png"), ("sub/", "png")) for s in ("npy", "png")
    )


def test_exception_save_kernel_with_another_suffix_is_refused(tmp_path: Path) -> None:
    # C32: --save-kernel k.jpg wrote k.png and k.npy without saying so
    model, photo = _blind_photo(tmp_path)
    code, output = run_cli(
        "restore", photo, "-o", tmp_path / "o.png", "--save-kernel", tmp_path / "k.jpg", "--model", model
    )
    assert code == 1 and "k.jpg" in output and "ending in .png" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blind.safetensors", "photo.png"]


def test_exception_o_naming_a_folder_says_use_out_dir(tmp_path: Path) -> None:
    # C33: -o naming a folder said "already exists: pass --overwrite", then "Is a directory"
    photo = photo_file(tmp_path / "p.png")
    (tmp_path / "d" / "out.png").mkdir(parents=True)
    model = tiny_model(tmp_path / "tiny.safetensors")
    for extra in ([], ["--overwrite"]):
        code, output = run_cli("restore", photo, "-o", tmp_path / "d" / "out.png", "--model", model, *extra)
        assert code == 1 and "is a folder: use --out-dir" in output and "already exists" not in output


def test_exception_an_out_dir_holding_or_being_the_input_folder_never_restores_nothing_silently(
    tmp_path: Path,
) -> None:
    # C02: --out-dir equal to an input folder or one of its ancestors restored nothing, said nothing, exit 0
    model = tiny_model(tmp_path / "tiny.safetensors")
    shots = tmp_path / "od" / "shots"
    photo = photo_file(shots / "a.png")
    before = photo.read_bytes()
    code, output = run_cli("restore", shots, "--out-dir", shots, "--model", model, "--overwrite")
    assert code == 1 and "is this input folder" in output and photo.read_bytes() == before
    assert [p.name for p in shots.iterdir()] == ["a.png"]
    code, output = run_cli("restore", shots, "--out-dir", tmp_path / "od", "--model", model, "-q")
    assert code == 0 and (tmp_path / "od" / "a.png").exists() and photo.read_bytes() == before, output
    photo_file(shots / "raw" / "b.png", 1)  # an ancestor two levels up, recursive: mirrored below it
    code, output = run_cli("restore", shots / "raw", "-r", "--out-dir", tmp_path / "od", "--model", model, "-q")
    assert code == 0 and (tmp_path / "od" / "b.png").exists(), output
    only_outputs = tmp_path / "photos"
    photo_file(only_outputs / "sharp" / "c.png")  # a folder whose only images are earlier outputs
    code, output = run_cli("restore", only_outputs, "-r", "--out-dir", only_outputs / "sharp", "--model", model)
    assert code == 1 and "no image outside --out-dir" in output


def test_values_the_same_input_twice_is_restored_once_with_a_note(tmp_path: Path) -> None:
    # C20: the second copy failed as "also the output of" itself, with advice to restore "them" apart; exit 1
    photo = photo_file(tmp_path / "p.png")
    model = tiny_model(tmp_path / "tiny.safetensors")
    code, output = run_cli("restore", photo, tmp_path / "." / "p.png", "--out-dir", tmp_path / "o", "--model", model)
    assert code == 0 and "restored once" in output and "Error" not in output, output
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["p.png"]


def test_exception_a_pipe_as_input_is_not_a_regular_file(tmp_path: Path) -> None:
    # C33: a FIFO was "-o takes one input image, got 0" (alone) or "no such file or folder" (in a list)
    import os

    fifo = tmp_path / "f.png"
    os.mkfifo(fifo)
    model = tiny_model(tmp_path / "tiny.safetensors")
    code, output = run_cli("restore", fifo, "-o", tmp_path / "x.png", "--model", model)
    assert code == 1 and "f.png: not a regular file" in output and "got 0" not in output, output
    photo = photo_file(tmp_path / "p.png")
    code, output = run_cli("restore", fifo, photo, "--out-dir", tmp_path / "o", "--model", model, "-q")
    assert code == 1 and "f.png: not a regular file" in output and (tmp_path / "o" / "p.png").exists(), output


def test_exception_an_unreadable_sub_folder_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # C07: restore -r exited 0 and never mentioned a folder it could not read
    from tests.io.test_files import _lock

    photo_file(tmp_path / "t" / "ok" / "a.png")
    photo_file(tmp_path / "t" / "locked" / "b.png")
    _lock(monkeypatch, tmp_path / "t" / "locked")
    model = tiny_model(tmp_path / "tiny.safetensors")
    code, output = run_cli("restore", tmp_path / "t", "-r", "--out-dir", tmp_path / "o", "--model", model, "-q")
    assert code == 1 and "locked: Permission denied" in output and (tmp_path / "o" / "ok" / "a.png").exists()


def test_exception_blind_corpus_with_the_default_model(tmp_path: Path) -> None:
    # C03, C13: tiny sides crashed the blind path; flat and ramp pictures got a kernel "with confidence 1.00"
    from PIL import Image

    root = tmp_path / "in"
    root.mkdir()
    pixels = (photo_crop("astronaut")[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    names = []
    for height, width in ((1, 1), (8, 8), (13, 40), (16, 100), (47, 47), (2, 300)):
        Image.fromarray(np.ascontiguousarray(pixels[:height, :width])).save(root / f"tiny_{height}x{width}.png")
        names.append(f"tiny_{height}x{width}.png")
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(root / "flat_grey.png")
    Image.fromarray(np.full((64, 64), 77, np.uint8)).save(root / "flat_grey_l.png")
    ramp = np.tile(np.linspace(0, 255, 96).astype(np.uint8)[None, :, None], (64, 1, 3))
    Image.fromarray(ramp).save(root / "ramp.png")
    Image.fromarray(np.ascontiguousarray(ramp.transpose(1, 0, 2))).save(root / "ramp_vertical.png")
    textureless = ["flat_grey.png", "flat_grey_l.png", "ramp.png", "ramp_vertical.png"]
    result = CliRunner().invoke(cli, ["restore", str(root), "--out-dir", str(tmp_path / "out")])
    assert result.exit_code == 0 and "Error" not in result.output, result.output
    for name in [*names, *textureless]:
        given, written = Image.open(root / name), Image.open(tmp_path / "out" / name)
        assert written.size == given.size, name
        if name in textureless or name in ("tiny_1x1.png", "tiny_8x8.png", "tiny_2x300.png"):
            assert np.array_equal(np.asarray(written), np.asarray(given)), name  # returned unchanged
    for name, said in (("tiny_8x8.png", "too small to estimate a blur"), ("ramp.png", "No blur found")):
        result = CliRunner().invoke(cli, ["restore", str(root / name), "-o", str(tmp_path / name)])
        assert result.exit_code == 0 and said in result.output, result.output


def test_exception_symlinked_and_dangling_outputs_never_write_through(tmp_path: Path) -> None:
    # issue 52, a behaviour that holds: an output that is a link is refused without --overwrite; with it, the link is
    # replaced by the output and the file it pointed to is never written
    model = tiny_model(tmp_path / "tiny.safetensors")
    source = photo_file(tmp_path / "in.png")
    other = tmp_path / "other.png"
    other.write_bytes(b"keep me")
    (tmp_path / "link.png").symlink_to(other)
    (tmp_path / "dangling.png").symlink_to(tmp_path / "nowhere.png")
    for name in ("link.png", "dangling.png"):
        result = CliRunner().invoke(cli, ["restore", str(source), "-o", str(tmp_path / name), "--model", str(model)])
        assert result.exit_code == 1 and "already exists" in result.output and (tmp_path / name).is_symlink()
    result = CliRunner().invoke(
        cli, ["restore", str(source), "-o", str(tmp_path / "link.png"), "--model", str(model), "--overwrite"]
    )
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "link.png").is_symlink() and other.read_bytes() == b"keep me"
    assert not (tmp_path / "nowhere.png").exists()
