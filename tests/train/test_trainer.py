"""The deblurring trainer: short runs on tiny crops, exact resume, kills, export, config file vs CLI, DDP."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from deblur.cli import cli
from deblur.config import LossConfig, OptimConfig, SynthConfig, TrainConfig, config_to_dict, load_train_config
from deblur.errors import ConfigError, ImageError
from deblur.train.checkpoint import load_checkpoint
from deblur.train.deblurring import start_from, train
from deblur.train.log import read_metrics
from deblur.train.run import build_networks, export_generator
from deblur.weights import METADATA_KEYS, load_model, save_model

TINY = {
    "crop": 32,
    "val_crop": 32,
    "batch": 2,
    "gen": {"name": "unet", "width": 4, "depth": 2, "blocks": 1},
    "disc": {"name": "patchgan", "width": 4, "layers": 2},
    "val_holdout": 1,
    "val_images": 2,
    "log_every": 1,
    "device": "cpu",
    "synth": SynthConfig(kernels=("motion", "trajectory", "gaussian"), size=7, noise=(0.0, 0.01)),
}


def tiny_config(data: Path, out: Path, **overrides: object) -> TrainConfig:
    return TrainConfig(data=(data,), out=out, **{**TINY, **overrides})


def _loss(**fields: object) -> LossConfig:
    return LossConfig(**fields)


def test_smoke_twenty_steps_make_checkpoint_and_validation(photo_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    state = train(tiny_config(photo_folder, out, steps=20, val_every=10, ckpt_every=10), progress=False)
    assert state.step == 20 and (out / "last.pt").exists() and (out / "best.pt").exists()
    validation = [m for m in read_metrics(out) if "val_psnr" in m]
    assert [m["step"] for m in validation] == [10, 20]
    assert all(10 < m["val_psnr"] < 60 and 0 < m["val_ssim"] <= 1 for m in validation)
    assert (out / "samples" / "step_0000020.png").exists()
    meta = json.loads((out / "config.json").read_text())
    assert meta["task"] == "deblur" and meta["config"]["steps"] == 20 and meta["data"]["val_psnr_blurred"] > 10
    losses = [m for m in read_metrics(out) if "loss_g" in m]
    assert len(losses) == 20 and all("loss_d" in m and "images_per_s" in m for m in losses)


def _losses(out: Path) -> list[float]:
    return [m[key] for m in read_metrics(out) if "loss_g" in m for key in ("loss_d", "loss_g")]


def test_values_resume_equals_uninterrupted(photo_folder: Path, tmp_path: Path) -> None:
    whole, split = tmp_path / "whole", tmp_path / "split"
    train(tiny_config(photo_folder, whole, steps=20, val_every=0), progress=False)
    # the first half runs at the full rate, as the uninterrupted run does until its decay starts at step 10
    train(tiny_config(photo_folder, split, steps=10, val_every=0, optim=OptimConfig(lr_decay_from=1.0)), progress=False)
    train(tiny_config(photo_folder, split, steps=20, val_every=0), resume=True, progress=False)
    assert _losses(split) == pytest.approx(_losses(whole), abs=1e-6)
    a, b = load_checkpoint(whole / "last.pt")["state"], load_checkpoint(split / "last.pt")["state"]
    assert all(torch.allclose(a["ema"]["model"][k], b["ema"]["model"][k], atol=1e-6) for k in a["ema"]["model"])


def test_smoke_content_only_and_other_losses(photo_folder: Path, tmp_path: Path) -> None:
    state = train(tiny_config(photo_folder, tmp_path / "l1", steps=3, loss=_loss(adv_weight=0.0)), progress=False)
    assert state.step == 3 and all("loss_d" not in m for m in read_metrics(tmp_path / "l1"))
    state = train(
        tiny_config(
            photo_folder,
            tmp_path / "h",
            steps=2,
            loss=_loss(adv_loss="hinge", content="charbonnier", fft_weight=1.0),
            disc={"name": "patchgan", "width": 4, "layers": 2, "scales": 2},
        ),
        progress=False,
    )
    assert "fft" in read_metrics(tmp_path / "h")[0]


def test_smoke_perceptual_loss_from_local_weights(photo_folder: Path, tmp_path: Path) -> None:
    import torchvision

    weights = tmp_path / "vgg.pth"
    torch.save(torchvision.models.vgg19(weights=None).features[:4].state_dict(), weights)
    from deblur.losses import PerceptualLoss

    loss = PerceptualLoss(str(weights), layers=("relu1_2",))
    x = torch.rand(1, 3, 16, 16)
    assert float(loss(x, x)) == 0.0 and float(loss(x, torch.rand_like(x))) > 0
    with pytest.raises(ValueError, match="do not exist"):
        PerceptualLoss(str(tmp_path / "missing.pth"))


def test_values_exported_model_restores(photo_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(tiny_config(photo_folder, out, steps=4, val_every=2), progress=False)
    path = export_generator(out, tmp_path / "model.safetensors")
    net, info = load_model(path)
    assert info["task"] == "deblur" and info["config"]["synth"]["size"] == 7 and "val_psnr" in info["metrics"]
    assert set(info) >= set(METADATA_KEYS) and info["steps"] == 4 and info["checkpoint"] == "best.pt"
    image = torch.rand(1, 3, 45, 61)
    with torch.no_grad():
        restored = net(image).clamp(0, 1)
    assert restored.shape == image.shape and torch.isfinite(restored).all()
    with pytest.raises(ImageError, match="already exists"):
        export_generator(out, path)


def test_values_config_file_and_cli_agree(tmp_path: Path) -> None:
    text = """
[train]
data = ["photos"]
steps = 123
batch = 4
adv_loss = "hinge"
spectral = true
[synth]
kernels = ["motion", "gaussian"]
size = 21
noise = [0.0, 0.02]
"""
    (tmp_path / "train.toml").write_text(text)
    from_file = load_train_config(tmp_path / "train.toml")
    flags = {"data": (Path("photos"),), "steps": 123, "batch": 4, "adv_loss": "hinge", "spectral": True}
    flags.update({"kernels": ("motion", "gaussian"), "kernel_size": 21, "noise": (0.0, 0.02)})
    assert load_train_config(None, flags) == from_file
    assert load_train_config(tmp_path / "train.toml", {"steps": 7}).steps == 7  # flags win
    assert config_to_dict(from_file)["synth"]["size"] == 21
    assert from_file.loss.adv_loss == "hinge" and from_file.disc == {"name": "patchgan", "spectral": True}
    assert from_file.optim.lr_decay_from == 0.5  # the table's defaults stay where the file is silent


def test_values_nested_tables_and_old_flat_files_agree(tmp_path: Path) -> None:
    nested = """
[train]
data = ["photos"]
gen = {name = "unet", width = 8, depth = 2}
disc = {width = 32}
loss = {adv_loss = "hinge", fft_weight = 0.5}
optim = {lr = 1e-3, ema = 0.99}
[synth]
size = 15
"""
    flat = """
[train]
data = ["photos"]
width = 8
depth = 2
disc_width = 32
adv_loss = "hinge"
fft_weight = 0.5
lr = 1e-3
ema = 0.99
[synth]
size = 15
"""
    (tmp_path / "nested.toml").write_text(nested)
    (tmp_path / "flat.toml").write_text(flat)
    config = load_train_config(tmp_path / "nested.toml")
    assert config == load_train_config(tmp_path / "flat.toml")
    assert config.gen == {"name": "unet", "width": 8, "depth": 2} and config.disc == {"name": "patchgan", "width": 32}
    assert config.optim == OptimConfig(lr=1e-3, ema=0.99, lr_decay_from=0.5) and config.synth.size == 15
    assert config.synth.kernels == ("motion", "trajectory", "gaussian")  # the training default, not SynthConfig's
    assert load_train_config(tmp_path / "flat.toml", {"lr": 5e-4}).optim.lr == 5e-4  # a flag beats the file


def test_exception_bad_settings(photo_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--data"):
        TrainConfig()
    with pytest.raises(ConfigError, match="crop must be a multiple of 8"):
        train(tiny_config(photo_folder, tmp_path / "odd", crop=36, steps=1), progress=False)
    with pytest.raises(ConfigError, match="generator spec .*unknown net 'resnet'"):
        train(tiny_config(photo_folder, tmp_path / "net", gen={"name": "resnet"}, steps=1), progress=False)
    with pytest.raises(ConfigError, match="unknown adv_loss 'fancy'"):
        train(tiny_config(photo_folder, tmp_path / "loss", loss=_loss(adv_loss="fancy"), steps=1), progress=False)
    result = CliRunner().invoke(cli, ["train", "--data", str(tmp_path / "missing"), "--steps", "1"])
    assert result.exit_code == 1 and "is not a folder" in result.output and "Traceback" not in result.output


def _train_command(data: Path, out: Path, steps: int, *extra: str) -> list[str]:
    args = ["--data", str(data), "--out", str(out), "--steps", str(steps), "--crop", "32", "--batch", "2"]
    args += ["--width", "4", "--depth", "2", "--disc-width", "4", "--val-every", "0", "--device", "cpu"]
    args += ["--kernel-size", "7", "--ckpt-every", "1", "-q", *extra]
    return [sys.executable, "-m", "deblur", "train", *args]


def _wait_for_step(checkpoint: Path, step: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if checkpoint.exists():
            try:
                if load_checkpoint(checkpoint)["state"]["step"] >= step:
                    return
            except Exception:  # noqa: BLE001 - a reader may race the atomic rename on some systems
                pass
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        time.sleep(0.05)
    raise AssertionError("training did not reach the step in time")


def test_values_three_sigkills_at_random_moments_then_resume(photo_folder: Path, tmp_path: Path) -> None:
    import random

    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    rng = random.Random(0)
    last = 0
    for kill in range(3):  # a checkpoint every step: kills often land while one is being written
        extra = ("--resume",) if kill else ()
        process = subprocess.Popen(
            _train_command(photo_folder, out, 10_000, *extra), env=env, stderr=subprocess.PIPE, text=True
        )
        try:
            _wait_for_step(out / "last.pt", last + 1, process)
            time.sleep(rng.uniform(0.0, 0.4))
        finally:
            process.kill()
            process.wait()
        step = load_checkpoint(out / "last.pt")["state"]["step"]  # complete and loadable after every kill
        assert step > last
        last = step
    done = subprocess.run(_train_command(photo_folder, out, last + 2, "--resume"), env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert load_checkpoint(out / "last.pt")["state"]["step"] == last + 2


def test_exception_full_disk_keeps_previous_checkpoint(
    photo_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import deblur.io.files

    out = tmp_path / "run"
    train(tiny_config(photo_folder, out, steps=2, val_every=0, ckpt_every=1), progress=False)
    before = (out / "last.pt").read_bytes()
    real_fdopen = os.fdopen

    def full_disk(fd: int, *args: object, **kwargs: object):  # noqa: ANN202
        handle = real_fdopen(fd, *args, **kwargs)

        real_write = handle.write

        def write(data: bytes) -> int:  # room for the small config.json, not for a checkpoint
            if len(data) > 20_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(data)

        handle.write = write
        return handle

    monkeypatch.setattr(deblur.io.files.os, "fdopen", full_disk)
    with pytest.raises(ImageError, match=r"cannot write .*last\.pt: No space left on device \(nothing was written\)"):
        train(tiny_config(photo_folder, out, steps=4, val_every=0, ckpt_every=1), resume=True, progress=False)
    assert (out / "last.pt").read_bytes() == before  # the previous checkpoint is intact
    assert load_checkpoint(out / "last.pt")["state"]["step"] == 2
    assert not [p for p in out.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]  # no temporary left


def test_values_sigterm_saves_and_exits(photo_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    command = _train_command(photo_folder, out, 10_000)
    command[command.index("--ckpt-every") + 1] = "1000"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / "metrics.jsonl").exists() or not (out / "metrics.jsonl").read_text().strip():
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "SIGTERM at step" in stderr and "--resume" in stderr and "Traceback" not in stderr
    assert load_checkpoint(out / "last.pt")["state"]["step"] >= 1


DDP_SCRIPT = """
import sys, torch
from pathlib import Path
sys.path.insert(0, {tests!r})
from deblur.train.deblurring import start_from, train
from train.test_trainer import tiny_config
torch.set_num_threads(1)
state = train(tiny_config(Path({data!r}), Path({out!r}), steps=3, val_every=0), progress=False)
total = sum(float(p.double().sum()) for p in state.gen.parameters())
Path({out!r}, "rank_" + __import__("os").environ["RANK"] + ".txt").write_text(repr(total))
"""


def test_smoke_ddp_two_gloo_processes(photo_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    script = tmp_path / "ddp.py"
    tests = str(Path(__file__).resolve().parent.parent)
    script.write_text(DDP_SCRIPT.format(tests=tests, data=str(photo_folder), out=str(out)))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    totals = [float(p.read_text()) for p in sorted(out.glob("rank_*.txt"))]
    assert len(totals) == 2 and totals[0] == pytest.approx(totals[1], abs=1e-9)  # DDP kept the replicas equal
    assert load_checkpoint(out / "last.pt")["meta"]["data"]["world_size"] == 2


def test_smoke_kernel_aware_generator_trains_exports_and_restores_with_its_kernel(
    photo_folder: Path, tmp_path: Path
) -> None:
    import numpy as np

    from deblur.cli import cli

    gen = {"name": "kernel_aware", "refiner": {"width": 4, "depth": 2, "blocks": 1}, "iterations": 3}
    gen["learn_weight"] = True
    out = tmp_path / "run"
    state = train(tiny_config(photo_folder, out, steps=3, val_every=3, gen=gen), progress=False)
    assert state.step == 3 and [m["step"] for m in read_metrics(out) if "val_psnr" in m] == [3]
    assert float(state.gen.log_weight.detach()) != pytest.approx(float(np.log(7e-4)))  # the weight was learned
    path = export_generator(out, tmp_path / "ka.safetensors", task="deblur")
    psf = np.zeros((5, 5), np.float32)
    psf[2, :] = 0.2
    np.save(tmp_path / "psf.npy", psf)
    image = photo_folder / "coffee.png"
    result = CliRunner().invoke(
        cli,
        [
            "restore",
            str(image),
            "--model",
            str(path),
            "--kernel",
            str(tmp_path / "psf.npy"),
            "-o",
            str(tmp_path / "o.png"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o.png").exists()
    result = CliRunner().invoke(cli, ["restore", str(image), "--model", str(path), "-o", str(tmp_path / "p.png")])
    assert result.exit_code == 1 and "kernel-aware: pass the blur kernel with --kernel" in result.output
    with pytest.raises(ConfigError, match="needs each sample's kernel"):
        pairs = tmp_path / "pairs"
        (pairs / "blur").mkdir(parents=True)
        (pairs / "sharp").mkdir()
        for name in ("a.png", "b.png", "c.png"):
            for side in ("blur", "sharp"):
                (pairs / side / name).write_bytes((photo_folder / "coffee.png").read_bytes())
        config = TrainConfig(pairs=pairs, out=tmp_path / "p", **{**TINY, "gen": gen, "steps": 1})
        train(config, progress=False)


def test_values_init_starts_the_generator_from_a_model_file(photo_folder: Path, tmp_path: Path) -> None:
    gen = {"name": "kernel_aware", "refiner": {"width": 4, "depth": 2, "blocks": 1}, "iterations": 3}
    train(tiny_config(photo_folder, tmp_path / "a", steps=2, val_every=0, gen=gen), progress=False)
    source = export_generator(tmp_path / "a", tmp_path / "a.safetensors", task="deblur")
    # fine-tuning with another iteration count (no weights change): step 0 is the source model exactly
    tuned = {**gen, "iterations": 2}
    config = tiny_config(photo_folder, tmp_path / "b", steps=1, val_every=0, gen=tuned, init=source)
    assert config.init == source
    fresh, _ = build_networks(tuned, config.disc, torch.device("cpu"))
    start_from(fresh, source)
    expected, _ = load_model(source)
    for name, tensor in expected.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[name], tensor)
    assert train(config, progress=False).step == 1
    deeper = {**gen, "refiner": {"width": 4, "depth": 3, "blocks": 1}}
    with pytest.raises(ConfigError, match="does not fit the generator"):
        train(tiny_config(photo_folder, tmp_path / "c", steps=1, val_every=0, gen=deeper, init=source), progress=False)
    with pytest.raises(ConfigError, match="init: "):
        train(tiny_config(photo_folder, tmp_path / "d", steps=1, val_every=0, init=tmp_path / "nope.safetensors"))


def test_values_init_grows_a_conditioning_branch_with_zero_weights(photo_folder: Path, tmp_path: Path) -> None:
    gen = {"name": "kernel_aware", "refiner": {"width": 4, "depth": 2, "blocks": 1}, "iterations": 3}
    train(tiny_config(photo_folder, tmp_path / "a", steps=2, val_every=0, gen=gen), progress=False)
    source = export_generator(tmp_path / "a", tmp_path / "a.safetensors", task="deblur")
    grown = {**gen, "wiener_nsr": 5e-3}  # the refiner's head takes 3 more input channels
    _check_grown_branch(grown, source)
    _check_grown_branch({**grown, "sharp_factor": 0.25}, source)  # and 3 more for a sharper deconvolution
    _check_grown_branch({**grown, "residual": True}, source)  # or for the kernel-trust residual map
    learned = float(load_model(source)[0].log_weight)
    for spec, expected in (({**gen, "weight": 2e-3}, learned), ({**gen, "weight": 2e-3, "learn_weight": False}, None)):
        fresh, _ = build_networks(spec, {"name": "patchgan", "width": 4}, torch.device("cpu"))
        start_from(fresh, source)  # a learned weight comes from the source; a fixed one is the spec's setting
        assert float(fresh.log_weight) == pytest.approx(math.log(2e-3) if expected is None else expected)
    narrower = {**gen, "refiner": {"width": 4, "depth": 2, "blocks": 1, "channels": 1}}
    with pytest.raises(ConfigError, match="does not fit the generator"):
        train(tiny_config(photo_folder, tmp_path / "c", steps=1, val_every=0, gen=narrower, init=source))


def _check_grown_branch(grown: dict, source: Path) -> None:
    fresh, _ = build_networks(grown, {"name": "patchgan", "width": 4}, torch.device("cpu"))
    start_from(fresh, source)
    expected, _ = load_model(source)
    head = fresh.refiner.head.weight
    old = expected.refiner.head.weight
    torch.testing.assert_close(head[:, : old.shape[1]], old)
    assert head[:, old.shape[1] :].abs().sum() == 0 and head.shape[1] > old.shape[1]
    blurred = torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    kernel = torch.full((1, 5, 5), 1 / 25)
    fresh.eval(), expected.eval()
    fresh.cpu_bf16 = expected.cpu_bf16 = False
    with torch.no_grad():  # the new branch starts silent: the grown model computes what the source did
        torch.testing.assert_close(fresh(blurred, kernel), expected(blurred, kernel))


def test_values_init_widens_the_refiner_and_step_0_computes_the_source(photo_folder: Path, tmp_path: Path) -> None:
    gen = {"name": "kernel_aware", "refiner": {"width": 4, "depth": 2}, "iterations": 3}
    train(tiny_config(photo_folder, tmp_path / "a", steps=2, val_every=0, gen=gen), progress=False)
    source = export_generator(tmp_path / "a", tmp_path / "a.safetensors", task="deblur")
    expected, metadata = load_model(source)
    with torch.no_grad():  # trained weights are near their init; make every channel matter
        for parameter in expected.refiner.parameters():
            parameter.normal_(0, 0.2, generator=torch.Generator().manual_seed(parameter.numel()))
    save_model(tmp_path / "b.safetensors", expected, {"task": metadata["task"]})
    wider = {**gen, "refiner": {"width": 6, "depth": 2}, "wiener_nsr": 5e-3}  # wider, and a Wiener branch
    fresh, _ = build_networks(wider, {"name": "patchgan", "width": 4}, torch.device("cpu"))
    start_from(fresh, tmp_path / "b.safetensors")
    assert fresh.refiner.head.weight.shape[0] == 6 and fresh.refiner.decoders[0][0].weight.shape[1] == 12
    # the new channels keep a fresh initialisation: they are not all zero, only their fan-out into old channels is
    assert fresh.refiner.head.weight[4:].abs().sum() > 0
    assert fresh.refiner.encoders[0][0].weight[:4, 4:].abs().sum() == 0
    blurred = torch.rand(2, 3, 24, 24, generator=torch.Generator().manual_seed(0)).double()
    kernel = torch.full((1, 5, 5), 1 / 25).double()
    fresh, expected = fresh.double().eval(), expected.double().eval()
    with torch.no_grad():
        torch.testing.assert_close(fresh(blurred, kernel), expected(blurred, kernel))
        assert expected(blurred, kernel).std() > 0.1  # the refiner's residual is not negligible
    narrower = {**gen, "refiner": {"width": 2, "depth": 2}}
    with pytest.raises(ConfigError, match="does not fit the generator"):
        start_from(build_networks(narrower, {"name": "patchgan", "width": 4}, torch.device("cpu"))[0], source)


def test_exception_a_second_run_into_the_same_folder_needs_resume(photo_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(tiny_config(photo_folder, out, steps=2, val_every=0), progress=False)
    before = (out / "last.pt").read_bytes()
    with pytest.raises(ConfigError, match="already holds a run .*--resume"):
        train(tiny_config(photo_folder, out, steps=4, val_every=0), progress=False)
    assert (out / "last.pt").read_bytes() == before  # the first run's checkpoint is untouched
    assert train(tiny_config(photo_folder, out, steps=4, val_every=0), resume=True, progress=False).step == 4


def test_exception_out_naming_a_file_is_a_one_line_error(photo_folder: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("keep me")
    args = ["train", "--data", str(photo_folder), "--out", str(tmp_path / "afile"), "--steps", "1", "--crop", "32"]
    result = CliRunner().invoke(cli, [*args, "-q"])
    assert result.exit_code == 1 and "is a file: give a folder" in result.output
    assert (tmp_path / "afile").read_text() == "keep me"


def test_exception_a_photo_with_bad_pixels_fails_before_step_1(photo_folder: Path, tmp_path: Path) -> None:
    # C05: a valid header over garbage compressed data stopped the run part-way, and --resume stopped there again
    bad = photo_folder / "coffee.png"
    raw = bytearray(bad.read_bytes())
    idat = raw.find(b"IDAT")
    raw[idat + 4 : idat + 204] = bytes(200)
    bad.write_bytes(bytes(raw))
    out = tmp_path / "run"
    with pytest.raises(ImageError, match="coffee.png"):
        train(tiny_config(photo_folder, out, steps=60, val_holdout=0, val_every=0, cache=False), progress=False)
    assert not out.exists()  # refused before the run began, not at the step that first drew the photo


def test_exception_pairs_of_two_sizes_fail_before_step_1(tmp_path: Path) -> None:
    # C05: a --pairs pair of two sizes was found only when a crop drew it
    import numpy as np
    from PIL import Image

    from deblur.data.folders import find_pairs

    for side in ("blur", "sharp"):
        (tmp_path / side).mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (48, 48, 3), np.uint8)).save(tmp_path / "blur" / f"x{i}.png")
        size = 40 if i == 1 else 48
        Image.fromarray(rng.integers(0, 255, (size, size, 3), np.uint8)).save(tmp_path / "sharp" / f"x{i}.png")
    with pytest.raises(ImageError, match=r"x1.png \(48x48\) and .*x1.png \(40x40\) differ in size"):
        find_pairs(tmp_path)


def test_exception_out_inside_data_is_refused(photo_folder: Path, tmp_path: Path) -> None:
    # C11: a run folder inside --data fed its own sample strips to later runs as training photos
    for out in (photo_folder / "run", photo_folder / "sub" / "run", photo_folder):
        with pytest.raises(ConfigError, match="inside --data"):
            train(tiny_config(photo_folder, out, steps=2, val_every=0), progress=False)
    assert not (photo_folder / "run").exists()


def test_exception_a_run_folder_without_checkpoint_is_not_silently_reused(photo_folder: Path, tmp_path: Path) -> None:
    # C17: a run killed before its first checkpoint left config.json and metrics.jsonl; a new run appended to them
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{}")
    (out / "metrics.jsonl").write_text('{"step": 50, "loss_g": 1.0}\n')
    with pytest.raises(ConfigError, match="saved no checkpoint .*--resume"):
        train(tiny_config(photo_folder, out, steps=2, val_every=0), progress=False)
    assert (out / "config.json").read_text() == "{}"
    with pytest.warns(UserWarning, match="starts the run afresh"):
        train(tiny_config(photo_folder, out, steps=2, val_every=0), resume=True, progress=False)
    steps = [m["step"] for m in read_metrics(out)]
    assert steps[0] == 1 and max(steps) == 2  # the new run's lines only


def test_exception_an_out_that_cannot_be_made_is_a_one_line_error(photo_folder: Path, tmp_path: Path) -> None:
    # C18: an --out that cannot be created (read-only folder, a file on its path) was an internal error
    (tmp_path / "afile").write_text("keep me")
    args = ["train", "--data", str(photo_folder), "--out", str(tmp_path / "afile" / "run"), "--steps", "1"]
    result = CliRunner().invoke(cli, [*args, "--crop", "32", "--width", "4", "--device", "cpu", "-q"])
    assert result.exit_code == 1 and "--out" in result.output and "cannot make the run folder" in result.output
    assert "please report it" not in result.output


def test_exception_an_allocation_failure_names_the_batch(
    photo_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # C21: a batch too large for memory ended in the allocator's raw RuntimeError ("please report it")
    import deblur.train.deblurring as recipe

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:121] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(recipe, "train_loop", fail)
    with pytest.raises(ConfigError, match="not enough memory for --batch 2 "):
        train(tiny_config(photo_folder, tmp_path / "run", steps=2, val_every=0), progress=False)
