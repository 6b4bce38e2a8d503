"""The GAN generators shipped in models/ load without executing code, draw Fashion-MNIST-sized samples, and carry
the scores that the results table reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from deblur.train.gan import sample_images
from deblur.train.run import load_generator

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted((ROOT / "models").glob("gan_fashion_mnist_*.safetensors"))
RESULTS = json.loads((ROOT / "benchmarks" / "results" / "parzen_fashion_mnist.json").read_text())


def test_all_five_shipped() -> None:
    assert {p.stem.removeprefix("gan_fashion_mnist_") for p in MODELS} == {"mlp", "dcgan", "cgan", "lapgan", "began"}


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_shipped_generator_samples(path: Path) -> None:
    gen, meta = load_generator(path)
    assert meta["task"] == "gan"  # written before the one metadata schema, read into it
    name = meta["config"]["model"]
    assert meta["data"]["image_size"] - 2 * meta["data"]["crop"] == 28
    label = 3 if name == "cgan" else None
    images = sample_images(gen, meta, 16, seed=0, label=label)
    assert images.shape == (16, 1, 28, 28)
    assert images.min() >= 0 and images.max() <= 1 and images.std() > 0.01  # not a constant image
    assert torch.equal(images, sample_images(gen, meta, 16, seed=0, label=label))
    # the file is the one the results table scored: same steps, same Parzen score
    row = RESULTS[name]
    assert meta["steps"] == row["steps"] and meta["parzen_fashion_mnist"]["mean"] == pytest.approx(row["mean"])


def test_shipped_photo_began() -> None:
    gen, meta = load_generator(ROOT / "models" / "gan_photos_began.safetensors")
    images = sample_images(gen, meta, 4, seed=0)
    assert images.shape == (4, 3, 64, 64) and images.min() >= 0 and images.max() <= 1
    # trained with the settings benchmarks/began_photos.py states (the model card's recipe)
    from benchmarks.began_photos import SETTINGS

    config = meta["config"]
    assert config["model"] == "began" and config["folder_mode"] == "patch"
    for key in ("batch", "width", "z_dim", "gamma", "lambda_k", "pull_away"):
        assert config[key] == SETTINGS[key], key
    assert config["optim"]["lr"] == SETTINGS["lr"] and config["optim"]["precision"] == SETTINGS["precision"]
