"""Reliability: unexpected errors are one line unless --debug; bad inputs to restore get their documented outcome."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deblur.cli import cli


def test_exception_unexpected_error_is_one_line_unless_debug(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import deblur.bench

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("something broke")

    monkeypatch.setattr(deblur.bench, "benchmark", broken)
    runner = CliRunner()
    args = ["bench", "--pairs", str(tmp_path), "--out", str(tmp_path / "r")]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert "RuntimeError: something broke" in result.output and "--debug" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    debug = runner.invoke(cli, ["--debug", *args])
    assert isinstance(debug.exception, RuntimeError)


def _png_bomb(path: Path, side: int = 100_000) -> Path:
    """A valid PNG header claiming side x side RGB pixels, with almost no data (a decompression bomb's header)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )
    return path


def _bad_input_corpus(root: Path) -> dict[str, str]:
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
    _png_bomb(root / "bomb.png")
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
    return expected


def _tiny_model(path: Path) -> Path:
    import torch

    from deblur.nets import create_net
    from deblur.weights import save_model

    torch.manual_seed(0)
    return save_model(path, create_net("unet", width=4, depth=2, blocks=1).eval(), {"task": "deblur", "steps": 0})


def test_exception_bad_input_corpus_each_gets_its_outcome(tmp_path: Path) -> None:
    import cv2

    corpus = _bad_input_corpus(tmp_path / "in")
    before = {p.name: p.read_bytes() for p in (tmp_path / "in").iterdir()}
    model = _tiny_model(tmp_path / "tiny.safetensors")
    inputs = [str(tmp_path / "in" / name) for name in sorted(corpus)]
    result = CliRunner().invoke(cli, ["restore", *inputs, "--out-dir", str(tmp_path / "out"), "--model", str(model)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    for name, outcome in corpus.items():
        stem = Path(name).stem
        written = sorted((tmp_path / "out").glob(f"{stem}.*"))  # --out-dir keeps the names
        if outcome == "ok":
            assert len(written) == 1, name
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


def test_values_bomb_refused_fast_without_allocation(tmp_path: Path) -> None:
    import time
    import tracemalloc

    from deblur.errors import ImageError
    from deblur.io import read_photo

    bomb = _png_bomb(tmp_path / "bomb.png")
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(ImageError, match="over the limit"):
        read_photo(bomb)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 0.1 and peak < 50e6


def test_exception_existing_output_and_unwritable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np
    from PIL import Image

    model = _tiny_model(tmp_path / "tiny.safetensors")
    source = tmp_path / "photo.png"
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(source)
    existing = tmp_path / "photo_deblurred.png"
    existing.write_bytes(b"keep me")
    runner = CliRunner()
    result = runner.invoke(cli, ["restore", str(source), "--model", str(model)])
    assert result.exit_code == 1 and "already exists" in result.output and existing.read_bytes() == b"keep me"

    import deblur.io

    def refuse(*_: object, **__: object) -> None:
        raise PermissionError(13, "Permission denied", str(tmp_path / "locked"))

    monkeypatch.setattr(deblur.io.tempfile, "mkstemp", refuse)  # a read-only folder, even for root
    locked = runner.invoke(cli, ["restore", str(source), "--model", str(model), "--out-dir", str(tmp_path / "locked")])
    assert locked.exit_code == 1 and "Permission denied" in locked.output and "Traceback" not in locked.output
    assert not list((tmp_path / "locked").glob("*")) if (tmp_path / "locked").exists() else True


@pytest.fixture(scope="module")
def tiny_net():
    import torch

    from deblur.nets import create_net

    torch.manual_seed(0)
    net = create_net("unet", width=4, depth=2, blocks=1)
    torch.nn.init.normal_(net.tail.weight, std=0.05)
    return net.eval()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    channels=st.sampled_from([0, 1, 3, 4]),
    dtype=st.sampled_from(["uint8", "uint16", "float32"]),
    seed=st.integers(0, 2**16),
)
def test_property_restore_keeps_shape_dtype_and_range(tiny_net, height, width, channels, dtype, seed) -> None:
    import numpy as np

    from deblur import restore

    rng = np.random.default_rng(seed)
    shape = (height, width) if channels == 0 else (height, width, channels)
    if dtype == "float32":
        array = rng.random(shape, dtype=np.float32)
    else:
        array = rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)
    out = restore(array, tiny_net, tile=16, overlap=4)
    assert out.shape == array.shape and out.dtype == array.dtype
    assert np.all(np.isfinite(out.astype(np.float64)))
    if dtype == "float32":
        assert out.min() >= 0 and out.max() <= 1
    if channels == 4:
        assert np.array_equal(out[..., 3], array[..., 3])  # alpha passes through


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 3),
    height=st.integers(16, 48),
    width=st.integers(16, 48),
    size=st.sampled_from([3, 7, 15]),
    kind=st.sampled_from(["motion", "trajectory", "gaussian", "anisotropic", "defocus"]),
    valid=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_synth_pairs_are_finite_aligned_and_in_range(batch, height, width, size, kind, valid, seed) -> None:
    import torch

    from deblur.config import SynthConfig
    from deblur.synth import make_pairs

    generator = torch.Generator().manual_seed(seed)
    sharp = torch.rand(batch, 3, height, width, generator=generator)
    config = SynthConfig(kernels=(kind,), size=size, noise=(0.0, 0.02), jpeg_prob=0.5, valid=valid)
    blurred, target, _ = make_pairs(sharp, config, generator)
    expected = (height - size + 1, width - size + 1) if valid else (height, width)
    assert blurred.shape == target.shape == (batch, 3, *expected)
    assert torch.isfinite(blurred).all() and blurred.min() >= 0 and blurred.max() <= 1


@pytest.mark.parametrize("overwrite", [True, False])
def test_values_two_restore_processes_share_an_output_folder(tmp_path: Path, overwrite: bool) -> None:
    import os
    import subprocess
    import sys

    import numpy as np
    from PIL import Image

    from deblur import restore
    from deblur.weights import load_model

    model = _tiny_model(tmp_path / "tiny.safetensors")
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


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('[train]\nsteps = "many"\n', "steps must be an integer"),
        ("[train]\nstepz = 5\n", "unknown TrainConfig key(s) stepz"),
        ('[synth]\nnoise = [0.1, "x"]\n', "noise must be a number"),
        ("[synth]\nsize = -3\n", "size must be an odd integer"),
        ("[train]\ncrop = 64.5\n", "crop must be an integer"),
        ("[train\nsteps = 5\n", "not valid TOML"),
        ("[train]\nlr = 1e-3\noptim = {lr = 2e-3}\n", "lr and optim.lr are the same setting"),
        ("[train]\ngen = {width = 8, name = 3}\n", "gen must be a network spec"),
        ("[train]\noptim = 3\n", "optim must be a table of settings"),
        ('[train]\noptim = {lr = "fast"}\n', "lr must be a number"),
        ("[train]\nloss = {colour = 1}\n", "unknown LossConfig key(s) colour"),
        ("train = 3\n", "[train] in config file"),
    ],
)
def test_exception_bad_config_file_names_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    result = CliRunner().invoke(cli, ["train", "--config", str(config), "--data", str(tmp_path), "--out", "x"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert field in result.output and "bad.toml" in result.output


def test_exception_malicious_and_broken_model_files(tmp_path: Path) -> None:
    import pickle

    import numpy as np
    from PIL import Image

    class Payload:
        def __reduce__(self):  # noqa: ANN204
            return (open, (str(tmp_path / "pwned"), "w"))

    photo = tmp_path / "photo.png"
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(photo)
    good = _tiny_model(tmp_path / "tiny.safetensors").read_bytes()
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
