"""Model files: safetensors round trip, validation of names and shapes, clear errors, no code execution."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from deblur.nets import create_net
from deblur.weights import ModelFileError, load_model, read_metadata, save_model


def test_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = create_net("dcgan_generator", z_dim=4, width=4, image_size=28).eval()
    path = save_model(tmp_path / "g.safetensors", net, {"note": "test"})
    loaded, info = load_model(path)
    z = torch.randn(3, 4)
    torch.testing.assert_close(loaded(z), net(z), rtol=0, atol=0)
    assert info["note"] == "test" and info["net"]["name"] == "dcgan_generator"
    assert read_metadata(path)["format"] == "deblur-model/1"


def test_exception_shape_mismatch(tmp_path: Path) -> None:
    net = create_net("mlp_generator", z_dim=4, hidden=(8,), image_shape=(1, 4, 4))
    tensors = {k: v.clone() for k, v in net.state_dict().items()}
    tensors["body.0.weight"] = torch.zeros(9, 4)
    meta = {"format": "deblur-model/1", "net": net.spec}
    save_file(tensors, tmp_path / "bad.safetensors", metadata={"deblur": json.dumps(meta)})
    with pytest.raises(ModelFileError, match=r"body\.0\.weight has shape \(9, 4\)"):
        load_model(tmp_path / "bad.safetensors")


def test_exception_missing_tensor(tmp_path: Path) -> None:
    net = create_net("mlp_generator", z_dim=4, hidden=(8,), image_shape=(1, 4, 4))
    tensors = {k: v for k, v in net.state_dict().items() if k != "body.0.bias"}
    save_file(
        tensors,
        tmp_path / "m.safetensors",
        metadata={"deblur": json.dumps({"format": "deblur-model/1", "net": net.spec})},
    )
    with pytest.raises(ModelFileError, match="missing"):
        load_model(tmp_path / "m.safetensors")


def test_exception_foreign_and_corrupt_files(tmp_path: Path) -> None:
    save_file({"w": torch.zeros(1)}, tmp_path / "foreign.safetensors")
    with pytest.raises(ModelFileError, match="no deblur metadata"):
        load_model(tmp_path / "foreign.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(ModelFileError, match="not a readable safetensors"):
        load_model(tmp_path / "junk.safetensors")
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "none.safetensors")


def test_exception_unknown_network(tmp_path: Path) -> None:
    save_file(
        {"w": torch.zeros(1)},
        tmp_path / "x.safetensors",
        metadata={"deblur": json.dumps({"format": "deblur-model/1", "net": {"name": "transformer"}})},
    )
    with pytest.raises(ModelFileError, match="cannot build"):
        load_model(tmp_path / "x.safetensors")
