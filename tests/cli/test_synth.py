"""``deblur synth`` and ``deblur kernels`` end to end, in temporary folders, with click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from deblur.cli import cli
from deblur.io import read_image
from tests.helpers import photo_file, run_cli


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_synth_twice_identical(photo_folder: Path, tmp_path: Path) -> None:
    args = [
        "synth",
        "--data",
        str(photo_folder),
        "--kernel",
        "trajectory,motion,defocus",
        "--size",
        "15",
        "--noise",
        "0.01",
        "--poisson",
        "0:0.005",
        "--jpeg-prob",
        "0.5",
        "--seed",
        "3",
        "-q",
    ]
    code, output = run_cli(*args, "--out", str(tmp_path / "first"))
    assert code == 0, output
    code, output = run_cli(*args, "--out", str(tmp_path / "second"))
    assert code == 0, output
    first, second = _files(tmp_path / "first"), _files(tmp_path / "second")
    assert first == second
    assert {
        "blurred/astronaut.png",
        "sharp/sub/chelsea.png",
        "kernels/coffee.npy",
        "kernels/coffee.png",
        "manifest.json",
    } <= set(first)
    manifest = json.loads(first["manifest.json"])
    assert manifest["count"] == 3 and manifest["seed"] == 3 and manifest["config"]["size"] == 15
    kernel = np.load(tmp_path / "first" / "kernels" / "coffee.npy")
    assert kernel.shape == (15, 15) and kernel.sum() == pytest.approx(1.0, abs=1e-5)
    blurred = read_image(tmp_path / "first" / "blurred" / "astronaut.png")
    sharp = read_image(tmp_path / "first" / "sharp" / "astronaut.png")
    assert blurred.shape == sharp.shape == (3, 80, 96)
    assert not torch.equal(blurred, sharp)


def test_synth_other_seed_differs(photo_folder: Path, tmp_path: Path) -> None:
    for seed in ("0", "1"):
        code, output = run_cli(
            "synth", "--data", str(photo_folder), "--out", str(tmp_path / seed), "--seed", seed, "-q"
        )
        assert code == 0, output
    assert _files(tmp_path / "0")["blurred/coffee.png"] != _files(tmp_path / "1")["blurred/coffee.png"]


def test_synth_valid_crops_sharp(photo_folder: Path, tmp_path: Path) -> None:
    code, output = run_cli(
        "synth", "--data", str(photo_folder), "--out", str(tmp_path / "v"), "--valid", "--size", "11", "-q"
    )
    assert code == 0, output
    blurred = read_image(tmp_path / "v" / "blurred" / "coffee.png")
    sharp = read_image(tmp_path / "v" / "sharp" / "coffee.png")
    assert blurred.shape == sharp.shape == (3, 70, 86)


def test_synth_refuses_overwrite(photo_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("synth", "--data", str(photo_folder), "--out", str(out), "-q")[0] == 0
    before = _files(out)
    code, output = run_cli("synth", "--data", str(photo_folder), "--out", str(out), "--seed", "5", "-q")
    assert code == 1 and "already exists: pass --overwrite" in output
    assert _files(out) == before
    code, output = run_cli("synth", "--data", str(photo_folder), "--out", str(out), "--seed", "5", "--overwrite", "-q")
    assert code == 0 and _files(out) != before


def test_synth_bank_and_config_file(photo_folder: Path, tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    bank.mkdir()
    kernel = np.zeros((7, 7), np.float32)
    kernel[3, 1:6] = 1
    np.save(bank / "line.npy", kernel)
    config = tmp_path / "synth.toml"
    config.write_text(f'kernels = ["bank:{bank.as_posix()}"]\nsize = 31\nnoise = [0.0, 0.0]\n')
    code, output = run_cli(
        "synth", "--data", str(photo_folder), "--out", str(tmp_path / "o"), "--config", str(config), "--size", "9", "-q"
    )
    assert code == 0, output
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["config"]["size"] == 9  # the flag wins over the file
    saved = np.load(tmp_path / "o" / "kernels" / "coffee.npy")
    np.testing.assert_allclose(saved[4, 2:7], 0.2, rtol=1e-6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kernel", "wobble"], "unknown kernel kind 'wobble'"),
        (["--size", "8"], "size must be an odd integer"),
        (["--noise", "abc"], "not a number or a LOW:HIGH range"),
        (["--kernel", "bank:/no/such/bank"], "does not exist"),
        (["--device", "cuda:7"], "cuda"),
    ],
)
def test_exception_bad_options(photo_folder: Path, tmp_path: Path, args: list[str], message: str) -> None:
    code, output = run_cli("synth", "--data", str(photo_folder), "--out", str(tmp_path / "o"), "-q", *args)
    assert code != 0
    assert message in output
    assert "Traceback" not in output


def test_exception_bad_bank_file_one_line(photo_folder: Path, tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    bank.mkdir()
    np.save(bank / "nan.npy", np.full((5, 5), np.nan))
    code, output = run_cli(
        "synth", "--data", str(photo_folder), "--out", str(tmp_path / "o"), "--kernel", f"bank:{bank}", "-q"
    )
    assert code == 1
    assert output.strip().count("\n") == 0 and "nan.npy" in output and "NaN" in output
    assert not (tmp_path / "o").exists()


def test_exception_missing_data_and_out_inside(photo_folder: Path, tmp_path: Path) -> None:
    code, output = run_cli("synth", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "o"), "-q")
    assert code == 1 and "does not exist" in output
    code, output = run_cli("synth", "--data", str(photo_folder), "--out", str(photo_folder / "out"), "-q")
    assert code == 1 and "inside --data" in output


def test_kernels_grid(tmp_path: Path) -> None:
    code, output = run_cli(
        "kernels",
        "--kind",
        "trajectory",
        "-n",
        "6",
        "--size",
        "9",
        "--out",
        str(tmp_path / "g.png"),
        "--npy",
        str(tmp_path / "k.npy"),
    )
    assert (
        code == 0 and f"Wrote 6 trajectory kernels (9 px) to {tmp_path / 'g.png'} and {tmp_path / 'k.npy'}." in output
    )
    grid = read_image(tmp_path / "g.png")
    assert grid.shape[0] == 3 and grid.max() > 0.9
    kernels = np.load(tmp_path / "k.npy")
    assert kernels.shape == (6, 9, 9)
    np.testing.assert_allclose(kernels.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    code, output = run_cli("kernels", "--out", str(tmp_path / "g.png"))
    assert code == 1 and "already exists" in output


def test_values_synth_keeps_inputs_that_share_a_stem_apart(tmp_path: Path) -> None:
    import json

    from PIL import Image

    photo_file(tmp_path / "in" / "x.png", 1)
    Image.open(photo_file(tmp_path / "tmp" / "x.png", 2)).save(tmp_path / "in" / "x.jpg")
    photo_file(tmp_path / "in" / "y.png", 3)
    out = tmp_path / "set"
    result = CliRunner().invoke(cli, ["synth", "--data", str(tmp_path / "in"), "--out", str(out), "--size", "5", "-q"])
    assert result.exit_code == 0, result.output
    items = json.loads((out / "manifest.json").read_text())["items"]
    assert sorted(i["name"] for i in items) == ["x_jpg", "x_png", "y"]
    assert len({i["blurred"] for i in items}) == 3 and all((out / i["blurred"]).is_file() for i in items)


def test_exception_a_failed_write_part_way_says_how_many_files_were_written(
    photo_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # C15: a full disk part-way left a partial set while the message said "(nothing was written)"
    import deblur.synth.folder as folder
    from deblur.errors import ImageError

    def full(path: Path, *args: object, **kwargs: object) -> None:
        raise ImageError(f"cannot write {path}: No space left on device (nothing was written)")

    monkeypatch.setattr(folder, "atomic_write_bytes", full)  # the first kernel .npy fails
    with pytest.raises(ImageError, match="incomplete: 2 of its files were written before this failure"):
        folder.synthesize_folder(photo_folder, tmp_path / "set", progress=False)
    assert not (tmp_path / "set" / "manifest.json").exists()
