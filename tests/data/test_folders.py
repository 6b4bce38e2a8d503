"""Datasets: sharp-folder crops, paired folders in GoPro and input/target layouts, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from deblur.data import PairedFolder, SharpFolder, find_pairs
from deblur.errors import ImageError
from deblur.io import write_image


def test_sharp_folder_crops(photo_folder: Path) -> None:
    dataset = SharpFolder(photo_folder, crop=64)
    assert len(dataset) == 3
    item = dataset[0]
    assert item["sharp"].shape == (3, 64, 64) and item["sharp"].dtype == torch.float32
    assert item["sharp"].min() >= 0 and item["sharp"].max() <= 1


def test_sharp_folder_skips_small(photo_folder: Path) -> None:
    write_image(photo_folder / "tiny.png", torch.rand(3, 20, 20))
    with pytest.warns(UserWarning, match="tiny.png.*smaller than the 64 px crop"):
        dataset = SharpFolder(photo_folder, crop=64)
    assert len(dataset) == 3


def test_exception_sharp_folder_empty(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no usable images"):
        SharpFolder(tmp_path)


def test_sharp_folder_whole_images_and_cache(photo_folder: Path) -> None:
    dataset = SharpFolder(photo_folder, crop=None, flip=False, cache=True)
    first = dataset[1]["sharp"]
    assert first.shape == (3, 80, 96)
    assert torch.equal(dataset[1]["sharp"], first)


def test_loader_reproducible(photo_folder: Path) -> None:
    def batches(seed: int) -> list[torch.Tensor]:
        torch.manual_seed(seed)  # crops and flips use torch's global generator (seeded per worker by DataLoader)
        loader = DataLoader(SharpFolder(photo_folder, crop=32), batch_size=3, shuffle=True)
        return [batch["sharp"] for batch in loader]

    assert all(torch.equal(a, b) for a, b in zip(batches(0), batches(0), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(batches(0), batches(1), strict=True))


def _pairs(root: Path, degraded: str, sharp: str, scenes: tuple[str, ...] = ("",)) -> None:
    for scene in scenes:
        for i in range(2):
            image = torch.rand(3, 48, 56)
            write_image(root / scene / sharp / f"{i:06d}.png", image)
            write_image(root / scene / degraded / f"{i:06d}.png", image * 0.5)


def test_paired_gopro_layout(tmp_path: Path) -> None:
    _pairs(tmp_path, "blur", "sharp", ("GOPR0001_00", "GOPR0002_00"))
    dataset = PairedFolder(tmp_path, crop=32)
    assert len(dataset) == 4
    item = dataset[3]
    assert item["blurred"].shape == item["sharp"].shape == (3, 32, 32)
    # the same crop and flips on both: blurred is exactly half of sharp, up to 8-bit rounding
    torch.testing.assert_close(item["blurred"], item["sharp"] * 0.5, atol=1 / 255, rtol=0)


def test_paired_input_target(tmp_path: Path) -> None:
    _pairs(tmp_path, "input", "target")
    assert len(find_pairs(tmp_path)) == 2
    assert PairedFolder(tmp_path, crop=None, flip=False)[0]["blurred"].shape == (3, 48, 56)


def test_exception_missing_counterpart(tmp_path: Path) -> None:
    _pairs(tmp_path, "blur", "sharp")
    (tmp_path / "sharp" / "000001.png").unlink()
    with pytest.raises(ImageError, match="000001.png has no sharp counterpart"):
        find_pairs(tmp_path)


def test_exception_size_mismatch(tmp_path: Path) -> None:
    write_image(tmp_path / "blur" / "a.png", torch.rand(3, 40, 40))
    write_image(tmp_path / "sharp" / "a.png", torch.rand(3, 40, 41))
    with pytest.raises(ImageError, match="same size"):
        PairedFolder(tmp_path, crop=32)[0]


def test_exception_no_layout(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no image pairs"):
        find_pairs(tmp_path)
