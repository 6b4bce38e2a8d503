"""data_scripts/prepare.py: public-set layouts become folders deblur bench reads."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from deblur import bench

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def prepare():
    spec = importlib.util.spec_from_file_location("prepare", ROOT / "data_scripts" / "prepare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _image(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((24, 32, 3), value, np.uint8))


def test_smoke_gopro_layout(prepare, tmp_path: Path) -> None:
    for scene in ("GOPR0384_11_00", "GOPR0385_11_01"):
        for part, value in (("blur", 10), ("blur_gamma", 20), ("sharp", 30)):
            _image(tmp_path / "GOPRO_Large" / "test" / scene / part / "000001.png", value)
    out = tmp_path / "gopro_test"
    assert prepare.main(["gopro", "--src", str(tmp_path / "GOPRO_Large"), "--out", str(out), "--gamma"]) == 0
    items = bench.load_test_set(out)
    assert [i.name for i in items] == ["GOPR0384_11_00/000001", "GOPR0385_11_01/000001"]
    assert abs(float(items[0].blurred.mean()) - 20 / 255) < 1e-6  # blur_gamma was taken
    assert prepare.main(["gopro", "--src", str(tmp_path / "GOPRO_Large"), "--out", str(out)]) == 1  # never replaced


def test_values_pairs_by_name_lai_style(prepare, tmp_path: Path) -> None:
    for name in ("boat", "car"):
        _image(tmp_path / "ground_truth" / f"{name}.png", 200)
        for k in (1, 2):
            _image(tmp_path / "blurred" / f"{name}_kernel_{k}.png", 100)
    out = tmp_path / "lai"
    code = prepare.main(
        ["pairs", "--blurred", str(tmp_path / "blurred"), "--sharp", str(tmp_path / "ground_truth")]
        + ["--key", r"(.+)_kernel_\d+", "--sharp-name", "{0}", "--out", str(out), "--copy"]
    )
    assert code == 0
    items = bench.load_test_set(out)
    assert len(items) == 4 and items[0].name == "boat_kernel_1"
    assert abs(float(items[0].sharp.mean()) - 200 / 255) < 1e-6
    missing = prepare.main(
        ["pairs", "--blurred", str(tmp_path / "blurred"), "--sharp", str(tmp_path / "ground_truth")]
        + ["--key", r"(.+)_kernel_\d+", "--sharp-name", "gt_{0}", "--out", str(tmp_path / "x")]
    )
    assert missing == 1


def test_values_kernels_become_npy(prepare, tmp_path: Path) -> None:
    kernel = np.zeros((7, 7), np.float32)
    kernel[3, 1:6] = 2.0
    np.save(tmp_path / "line.npy", kernel)
    assert prepare.main(["kernels", "--src", str(tmp_path / "line.npy"), "--out", str(tmp_path / "bank")]) == 0
    saved = np.load(tmp_path / "bank" / "line.npy")
    assert saved.sum() == pytest.approx(1.0) and (tmp_path / "bank" / "preview" / "line.png").is_file()
