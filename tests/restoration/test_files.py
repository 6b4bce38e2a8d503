"""deblur.restoration.files: output names and ``restore_files``, the library call behind ``deblur restore``."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from deblur.io import read_photo
from deblur.restoration import auto_tile, output_path


def test_values_output_path() -> None:
    assert output_path(Path("a/b.jpg"), None, None, "_deblurred") == Path("a/b_deblurred.jpg")
    assert output_path(Path("in/x/c.png"), Path("in"), Path("out"), "_d") == Path("out/x/c.png")
    assert auto_tile() % 64 == 0


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


@pytest.mark.parametrize("kind", [str, Path])
def test_values_restore_files_of_one_path_restores_that_file(tmp_path: Path, kind: type) -> None:
    # C09: a str was iterated character by character ("a.png": a, ., p, n, g; "." the whole folder)
    from deblur import RestoreConfig, restore_files
    from tests.helpers import photo_file, tiny_model

    for i, name in enumerate(("a", "b")):
        photo_file(tmp_path / f"{name}.png", i)
    config = RestoreConfig(model=tiny_model(tmp_path / "tiny.safetensors"), out_dir=tmp_path / "out", device="cpu")
    report = restore_files(kind(tmp_path / "a.png"), config)
    assert not report.errors and [t.name for _, t in report.written] == ["a.png"] and report.total == 1


def test_exception_an_output_that_is_another_input_of_the_run_is_refused(tmp_path: Path) -> None:
    # C01 (the plan): an output was checked against its own input only; with overwrite it replaced another input
    from deblur import RestoreConfig, restore_files
    from tests.helpers import photo_file, tiny_model

    first, second = photo_file(tmp_path / "p.png"), photo_file(tmp_path / "sub" / "p.png", 1)
    before = first.read_bytes(), second.read_bytes()
    model = tiny_model(tmp_path / "tiny.safetensors")
    config = RestoreConfig(model=model, out_dir=tmp_path, overwrite=True, device="cpu")
    report = restore_files([first, second], config)
    assert not report.written and len(report.errors) == 2
    assert report.errors[1].startswith(f"{second}: its output {first} is the input {first}")
    assert (first.read_bytes(), second.read_bytes()) == before


def test_exception_non_finite_output_names_what_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # C12: a deconvolution with a given kernel was blamed on "the default model"
    import deblur.restoration.models
    from deblur import RestoreConfig, restore_files

    source = tmp_path / "a.png"
    cv2.imwrite(str(source), np.full((24, 24, 3), 128, np.uint8))
    kernel = tmp_path / "k.npy"
    np.save(kernel, np.full((3, 3), 1 / 9, np.float32))
    monkeypatch.setattr(deblur.restoration.models, "hl_deconv", lambda blurred, *a, **k: blurred * float("nan"))
    report = restore_files([source], RestoreConfig(out_dir=tmp_path / "out", kernel=kernel))
    assert len(report.errors) == 1 and "the deconvolution with this kernel returned NaN" in report.errors[0]
    assert "default model" not in report.errors[0] and not report.written
