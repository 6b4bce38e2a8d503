"""The application layer (``deblur.train.run``): one metadata schema for every task, files and run folders written
before it still load, one loader and one exporter for GAN and deblurring runs, one-line errors for the wrong kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from deblur.config import GANConfig, OptimConfig, SynthConfig, TrainConfig, config_from_dict
from deblur.errors import ConfigError
from deblur.nets import create_net, net_spec
from deblur.restoration import restore
from deblur.train.checkpoint import save_checkpoint
from deblur.train.deblurring import train
from deblur.train.gan import sample_images, train_gan
from deblur.train.run import build_networks, checkpoint_path, export_generator, load_generator
from deblur.weights import METADATA_KEYS, load_model, read_metadata

LEGACY = Path(__file__).resolve().parent.parent / "fixtures" / "legacy"
"""Model files written by the code at commit 242c889, before the one metadata schema (see its README)."""


def _tiny_deblur(data: Path, out: Path, steps: int = 2) -> TrainConfig:
    return TrainConfig(
        data=(data,),
        out=out,
        steps=steps,
        crop=32,
        val_crop=32,
        batch=2,
        gen={"name": "unet", "width": 4, "depth": 2, "blocks": 1},
        disc={"name": "patchgan", "width": 4, "layers": 2},
        val_holdout=1,
        val_images=1,
        val_every=steps,
        device="cpu",
        synth=SynthConfig(kernels=("motion",), size=7),
    )


def _tiny_gan(data: Path, out: Path) -> GANConfig:
    return GANConfig(
        model="dcgan", data=data, out=out, steps=2, batch=8, width=4, z_dim=8, holdout=20, sample_every=0, device="cpu"
    )


def test_values_legacy_gan_file_loads_into_the_schema() -> None:
    path = LEGACY / "gan_dcgan_w8.safetensors"
    gen, meta = load_generator(path, task="gan")
    assert meta["task"] == "gan" and meta["config"]["model"] == "dcgan" and meta["steps"] == 3
    assert "gan" not in meta and "step" not in meta
    assert config_from_dict(GANConfig, meta["config"]).optim == OptimConfig(lr_decay_from=1.0)  # flat keys nest
    images = sample_images(gen, meta, 4, seed=0)
    assert images.shape == (4, 1, 28, 28) and torch.isfinite(images).all()


def test_values_legacy_deblur_file_loads_into_the_schema_and_restores() -> None:
    path = LEGACY / "deblur_unet_w8.safetensors"
    net, meta = load_generator(path, task="deblur")
    assert meta["task"] == "deblur" and meta["config"]["width"] == 8 and meta["config"]["synth"]["size"] == 31
    assert "synth" not in meta and "train" not in meta and meta["steps"] == 4
    old = config_from_dict(TrainConfig, meta["config"])  # a file's flat config reads as today's nested one
    assert old.gen["width"] == 8 and old.disc["width"] == 8 and old.optim.lr_decay_from == 0.5
    out = restore(np.full((20, 24, 3), 128, np.uint8), net, tile=None)
    assert out.shape == (20, 24, 3) and out.dtype == np.uint8


def test_values_legacy_run_checkpoints_load(tmp_path: Path) -> None:
    """Checkpoints written before the schema (``gan`` / ``train`` meta, no ``task`` for GANs) load and export."""
    torch.manual_seed(0)
    gen = create_net("unet", width=4, depth=2, blocks=1)
    legacy = {  # task: (old meta, its config)
        "gan": ({"deblur_version": "0.1.0", "gan": {"model": "dcgan"}, "gen": net_spec(gen), "data": {}}, "gan"),
        "deblur": ({"task": "deblur", "train": {"width": 4}, "gen": net_spec(gen), "data": {}}, "train"),
    }
    for task, (old_meta, config_key) in legacy.items():
        state = {"step": 7, "gen": gen.state_dict(), "ema": None}
        save_checkpoint(tmp_path / task / "last.pt", {"state": state, "meta": old_meta})
        loaded, meta = load_generator(tmp_path / task, task=task)
        assert meta["task"] == task and meta["steps"] == 7 and meta["checkpoint"] == "last.pt"
        assert all(torch.equal(v, gen.state_dict()[k]) for k, v in loaded.state_dict().items())
        exported = export_generator(tmp_path / task, tmp_path / f"{task}.safetensors", task=task)
        assert read_metadata(exported)["config"] == old_meta[config_key]


def test_values_both_tasks_write_one_schema(photo_folder: Path, tiny_mnist: Path, tmp_path: Path) -> None:
    train(_tiny_deblur(photo_folder, tmp_path / "deblur"), progress=False)
    train_gan(_tiny_gan(tiny_mnist, tmp_path / "gan"), progress=False)
    files = {
        task: export_generator(tmp_path / task, tmp_path / f"{task}.safetensors", task=task)
        for task in ("deblur", "gan")
    }
    for task, path in files.items():
        meta = read_metadata(path)
        assert set(METADATA_KEYS) <= set(meta) and meta["task"] == task and meta["steps"] == 2
        assert meta["deblur_version"] and meta["net"] == load_model(path)[1]["net"]
    assert read_metadata(files["deblur"])["metrics"]["val_step"] == 2
    assert read_metadata(files["gan"])["config"]["model"] == "dcgan"
    assert read_metadata(files["deblur"])["config"]["gen"] == {"name": "unet", "width": 4, "depth": 2, "blocks": 1}


def test_exception_wrong_task_is_one_line(photo_folder: Path, tiny_mnist: Path, tmp_path: Path) -> None:
    train_gan(_tiny_gan(tiny_mnist, tmp_path / "gan"), progress=False)
    with pytest.raises(ConfigError, match=r"holds a GAN model, not a deblurring one"):
        load_generator(tmp_path / "gan", task="deblur")
    with pytest.raises(ConfigError, match=r"holds a deblurring model, not a GAN one"):
        load_generator(LEGACY / "deblur_unet_w8.safetensors", task="gan")
    with pytest.raises(ConfigError, match="does not exist"):
        checkpoint_path(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds no checkpoint"):
        checkpoint_path(tmp_path / "empty")


def test_exception_bad_specs_name_the_network() -> None:
    with pytest.raises(ConfigError, match="generator spec .*unknown net 'nope'"):
        build_networks({"name": "nope"}, {"name": "patchgan"})
    with pytest.raises(ConfigError, match="discriminator spec: patchgan has no field 'colour'"):
        build_networks({"name": "unet"}, {"name": "patchgan", "colour": 3})
    with pytest.raises(ConfigError, match="discriminator.spectral must be true or false, got 'false'"):
        build_networks({"name": "unet"}, {"name": "patchgan", "spectral": "false"})  # not silently true
    with pytest.raises(ConfigError, match="generator.width must be an integer, got 16.5"):
        build_networks({"name": "unet", "width": 16.5}, {"name": "patchgan"})
    with pytest.raises(ConfigError, match="generator spec .*must be at least 1"):
        build_networks({"name": "unet", "width": 0}, {"name": "patchgan"})


def test_values_specs_and_decay_read_the_same_from_python_files_and_flags(tmp_path: Path) -> None:
    from deblur.config import config_to_dict, load_train_config
    from deblur.train.loop import LoopConfig

    python = TrainConfig(data=("p",), gen={"depth": 4}, optim=OptimConfig(lr=1e-3))
    assert python.gen == {"name": "unet", "width": 16, "depth": 4}  # on top of the default spec, as from files
    assert python.optim.lr_decay_from == 0.5 and GANConfig().optim.lr_decay_from == 1.0  # each recipe's default
    assert LoopConfig().optim.lr_decay_from == 1.0 and LoopConfig().optim.precision == "fp32"
    assert load_train_config(overrides={"data": ["p"], "depth": 4, "lr": 1e-3}) == python
    assert config_from_dict(TrainConfig, config_to_dict(python)) == python
    spec = {"name": "unet", "width": 3}
    assert TrainConfig(data=("p",), gen=spec).gen is not spec  # the config keeps its own copy
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text(
        '{"task": "deblur", "config": ' + __import__("json").dumps(config_to_dict(python)) + "}"
    )
    assert load_train_config(tmp_path / "run" / "config.json") == python  # a run's config.json is a config file


def test_values_networks_are_built_in_a_fixed_order() -> None:
    torch.manual_seed(3)
    gen, disc = build_networks({"name": "unet", "width": 4}, {"name": "patchgan", "width": 4})
    torch.manual_seed(3)
    again_gen = create_net("unet", width=4)
    again_disc = create_net("patchgan", width=4)
    for a, b in ((gen, again_gen), (disc, again_disc)):
        assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_values_a_model_file_exports_again_in_the_schema(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[2] / "models" / "gan_fashion_mnist_mlp.safetensors"
    path = export_generator(shipped, tmp_path / "again.safetensors", task="gan")
    old, new = load_model(shipped)[1], read_metadata(path)
    assert set(METADATA_KEYS) <= set(new) and new["steps"] == old["steps"] and new["config"] == old["config"]
    assert new["parzen_fashion_mnist"] == old["parzen_fashion_mnist"]  # what the writer added stays
    a, b = load_generator(shipped)[0], load_generator(path)[0]
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_values_export_fixes_the_deconvolution_weight(tmp_path: Path) -> None:
    """export --deconv-weight sets a kernel-aware model's prior weight, keeps the learned one in the metadata, and
    changes nothing else; a network without a deconvolution gets a one-line error and no file."""
    from click.testing import CliRunner

    from deblur.cli import cli
    from deblur.weights import save_model

    net = create_net("kernel_aware", refiner={"width": 4, "depth": 2})
    plain = save_model(tmp_path / "plain.safetensors", net, {"task": "deblur"})
    out = tmp_path / "fixed.safetensors"
    result = CliRunner().invoke(cli, ["export", str(plain), "--out", str(out), "--deconv-weight", "3.5e-4"])
    assert result.exit_code == 0, result.output
    fixed, meta = load_model(out)
    assert meta["deconv_weight"] == {"learned": pytest.approx(7e-4), "set": 3.5e-4}
    assert float(fixed.log_weight.detach().exp()) == pytest.approx(3.5e-4)
    before, after = net.state_dict(), fixed.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k != "log_weight")
    again = tmp_path / "again.safetensors"  # set once more: the learned value is still the training's
    result = CliRunner().invoke(cli, ["export", str(out), "--out", str(again), "--deconv-weight", "5e-4"])
    assert result.exit_code == 0, result.output
    assert read_metadata(again)["deconv_weight"] == {"learned": pytest.approx(7e-4), "set": 5e-4}
    unet = save_model(tmp_path / "unet.safetensors", create_net("unet", width=4, depth=2), {"task": "deblur"})
    for source, value, message in ((unet, "1e-3", "no deconvolution weight"), (plain, "-1", "must be positive")):
        result = CliRunner().invoke(
            cli, ["export", str(source), "--out", str(tmp_path / "x.safetensors"), "--deconv-weight", value]
        )
        assert result.exit_code == 1 and message in result.output and not (tmp_path / "x.safetensors").exists()


def test_values_export_center_kernels_sets_the_option_and_keeps_the_weights(tmp_path: Path) -> None:
    """export --center-kernels gives a kernel-aware model the centring option (in its spec, so it loads with it) and
    changes no weight; a network that takes no kernel gets a one-line error and no file."""
    from click.testing import CliRunner

    from deblur.cli import cli
    from deblur.weights import save_model

    net = create_net("kernel_aware", refiner={"width": 4, "depth": 2})
    plain = save_model(tmp_path / "plain.safetensors", net, {"task": "deblur"})
    out = tmp_path / "centred.safetensors"
    result = CliRunner().invoke(cli, ["export", str(plain), "--out", str(out), "--center-kernels"])
    assert result.exit_code == 0, result.output
    centred, meta = load_model(out)
    assert centred.center and meta["net"]["center"] is True and not net.center
    before, after = net.state_dict(), centred.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    unet = save_model(tmp_path / "unet.safetensors", create_net("unet", width=4, depth=2), {"task": "deblur"})
    result = CliRunner().invoke(
        cli, ["export", str(unet), "--out", str(tmp_path / "x.safetensors"), "--center-kernels"]
    )
    assert result.exit_code == 1 and "takes no kernel" in result.output and not (tmp_path / "x.safetensors").exists()
