"""MNIST-family loaders: IDX files (gzipped or not), the classic pickle read without running code, and errors."""

from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from deblur.data.mnist import DatasetError, is_mnist_family, load_mnist_family, load_mnist_pickle, read_idx
from deblur.data.streams import PatchBatches, TensorBatches
from tests.conftest import write_idx


def test_read_idx_round_trip(tmp_path: Path) -> None:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a-idx3-ubyte", "a-idx3-ubyte.gz"):
        write_idx(tmp_path / name, array)
        np.testing.assert_array_equal(read_idx(tmp_path / name), array)


def test_exception_bad_idx(tmp_path: Path) -> None:
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(DatasetError, match="bad magic"):
        read_idx(tmp_path / "bad")
    write_idx(tmp_path / "ok", np.zeros((4, 4), np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "ok").read_bytes()[:-3])
    with pytest.raises(DatasetError, match="truncated"):
        read_idx(tmp_path / "short")


def test_splits(tiny_mnist: Path) -> None:
    train = load_mnist_family(tiny_mnist, "train", holdout=20)
    val = load_mnist_family(tiny_mnist, "val", holdout=20)
    test = load_mnist_family(tiny_mnist, "test", holdout=20)
    assert (len(train), len(val), len(test)) == (100, 20, 40)
    assert train.images.shape == (100, 1, 28, 28) and train.images.dtype == torch.float32
    assert train.images.max() == 1.0 and train.labels.dtype == torch.int64
    assert is_mnist_family(tiny_mnist)


def test_exception_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no train-images-idx3-ubyte"):
        load_mnist_family(tmp_path, "train")


def _pickle_file(path: Path, payload: object) -> None:
    with gzip.open(path, "wb") as handle:
        pickle.dump(payload, handle)


def test_mnist_pickle(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    splits = tuple((rng.random((n, 784)).astype(np.float32), np.arange(n) % 10) for n in (5, 3, 4))
    _pickle_file(tmp_path / "mnist.pkl.gz", splits)
    loaded = load_mnist_pickle(tmp_path / "mnist.pkl.gz")
    np.testing.assert_array_equal(loaded["val"][0], splits[1][0].reshape(3, 28, 28))
    assert len(load_mnist_family(tmp_path / "mnist.pkl.gz", "test")) == 4


class _Payload:
    def __reduce__(self):  # noqa: ANN204
        return (os.system, ("touch pwned",))


def test_exception_pickle_payload_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _pickle_file(tmp_path / "mnist.pkl.gz", (_Payload(), None, None))
    with pytest.raises(DatasetError, match="refusing to load"):
        load_mnist_pickle(tmp_path / "mnist.pkl.gz")
    assert not (tmp_path / "pwned").exists()


def test_tensor_batches_resume() -> None:
    images, labels = torch.arange(10.0).view(10, 1, 1, 1), torch.arange(10)
    stream = TensorBatches(images, labels, batch_size=4, seed=3)
    seen = [next(stream)["label"] for _ in range(3)]
    assert len(torch.cat(seen[:2]).unique()) == 8  # no repeats within an epoch
    state = stream.state_dict()
    expected = [next(stream)["label"] for _ in range(4)]
    again = TensorBatches(images, labels, batch_size=4, seed=3)
    again.load_state_dict(state)
    assert all(torch.equal(a, next(again)["label"]) for a in expected)


def test_patch_batches_resume() -> None:
    images = [torch.rand(3, 40, 50), torch.rand(3, 64, 33)]
    stream = PatchBatches(images, 16, batch_size=5, seed=0)
    assert next(stream)["image"].shape == (5, 3, 16, 16)
    state = stream.state_dict()
    first = next(stream)["image"]
    stream.load_state_dict(state)
    assert torch.equal(next(stream)["image"], first)
    with pytest.raises(ValueError, match="smaller than"):
        PatchBatches(images, 48)
