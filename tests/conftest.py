"""Shared test set-up: CPU-only by default; ``gpu`` tests skip without CUDA; ``slow`` tests need --runslow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    skip_slow = pytest.mark.skip(reason="slow: pass --runslow")
    for item in items:
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)


@pytest.fixture(autouse=True)
def _few_threads() -> None:
    torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    """Three small sharp colour photos from scikit-image (public-domain test images), in a nested folder."""
    import cv2
    import skimage.data

    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    images = {
        "astronaut": skimage.data.astronaut(),
        "coffee": skimage.data.coffee(),
        "sub/chelsea": skimage.data.chelsea(),
    }
    for name, image in images.items():
        small = cv2.resize(image, (96, 80), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(root / f"{name}.png"), np.ascontiguousarray(small[:, :, ::-1]))
    return root
