"""Shared test set-up: CPU-only by default; ``gpu`` tests skip without CUDA; ``slow`` tests need --runslow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from deblur.nets import create_net
from deblur.weights import save_model


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


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write an IDX file (gzipped if the name ends in .gz): magic 0 0 0x08 ndim, big-endian sizes, uint8 data."""
    import gzip

    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> Path:
    """An MNIST-format folder: 120 training and 40 test 28x28 images of 10 classes (a bright bar per class)."""
    root = tmp_path / "tiny-mnist"
    root.mkdir()
    rng = np.random.default_rng(0)
    for split, count in (("train", 120), ("t10k", 40)):
        labels = np.arange(count) % 10
        images = (rng.random((count, 28, 28)) * 40).astype(np.uint8)
        for i, label in enumerate(labels):
            images[i, 4 + 2 * label : 6 + 2 * label, 4:24] = 255
        write_idx(root / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(root / f"{split}-labels-idx1-ubyte.gz", labels.astype(np.uint8))
    return root


def photo_crop(name: str = "camera") -> torch.Tensor:
    """The 256 x 256 crop at (100, 100) of a scikit-image photo as an RGB batch ``(1, 3, 256, 256)`` in [0, 1]."""
    import skimage.data

    image = torch.from_numpy(getattr(skimage.data, name)()).float().div(255)
    image = image[None, None].expand(1, 3, -1, -1) if image.ndim == 2 else image.permute(2, 0, 1)[None]
    return image[..., 100:356, 100:356].contiguous()


def blur_with_noise(sharp: torch.Tensor, kernel: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """``sharp`` blurred by ``kernel`` ``(1, k, k)`` (valid convolution) with Gaussian noise of 0.005, in [0, 1]."""
    from deblur.ops.conv import blur

    blurred = blur(sharp, kernel, padding="valid")
    noise = torch.randn(blurred.shape, generator=torch.Generator().manual_seed(seed))
    return (blurred + 0.005 * noise).clamp(0, 1)


@pytest.fixture
def net() -> torch.nn.Module:
    torch.manual_seed(0)
    model = create_net("unet", width=4, depth=2, blocks=1)
    torch.nn.init.normal_(model.tail.weight, std=0.05)  # not the identity, so tiling errors would show
    return model.eval()


@pytest.fixture
def model_file(net: torch.nn.Module, tmp_path: Path) -> Path:
    return save_model(tmp_path / "tiny.safetensors", net, {"task": "deblur", "steps": 0})
