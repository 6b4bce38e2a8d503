"""CUDA: the same results as the CPU (noise aside), and bit-identical replays on the GPU. Skipped without CUDA."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from deblur.config import SynthConfig
from deblur.synth import blur, degrade, make_pairs, sample_params
from deblur.synth.folder import synthesize_folder
from deblur.synth.kernels import SAMPLERS

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_blur_matches_cpu(method: str, padding: str) -> None:
    image = torch.rand(4, 3, 64, 72)
    kernels = SAMPLERS["trajectory"](4, 21, torch.Generator().manual_seed(0))
    cpu = blur(image, kernels, padding=padding, method=method)
    gpu = blur(image.cuda(), kernels.cuda(), padding=padding, method=method)
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-5, rtol=0)


def test_degrade_matches_cpu_without_noise() -> None:
    config = SynthConfig(kernels=("motion", "defocus", "trajectory"), size=15, noise=(0.0, 0.0), linear_light=True)
    params = sample_params(config, 4, torch.Generator().manual_seed(0))
    image = torch.rand(4, 3, 48, 48)
    torch.testing.assert_close(degrade(image.cuda(), params).cpu(), degrade(image, params), atol=1e-5, rtol=0)


def test_gpu_bit_identical() -> None:
    config = SynthConfig(kernels=("trajectory", "gaussian"), noise=(0.0, 0.02), poisson=(0.0, 0.01), jpeg_prob=0.5)
    image = torch.rand(8, 3, 64, 64, device="cuda")
    first = make_pairs(image, config, torch.Generator().manual_seed(1))[0]
    again = make_pairs(image, config, torch.Generator().manual_seed(1))[0]
    assert first.is_cuda and torch.equal(first, again)


def test_params_need_cpu_generator() -> None:
    with pytest.raises(ValueError, match="CPU"):
        sample_params(SynthConfig(), 1, torch.Generator(device="cuda"))


def test_synthesize_folder_on_gpu(photo_folder: Path, tmp_path: Path) -> None:
    first = synthesize_folder(photo_folder, tmp_path / "a", SynthConfig(size=11), device="cuda", progress=False)
    synthesize_folder(photo_folder, tmp_path / "b", SynthConfig(size=11), device="cuda", progress=False)
    assert first["device"] == "cuda"
    for name in ("astronaut", "coffee", "sub/chelsea"):
        assert (tmp_path / "a/blurred" / f"{name}.png").read_bytes() == (
            tmp_path / "b/blurred" / f"{name}.png"
        ).read_bytes()


def test_deblur_training_bf16_and_restore_half(photo_folder: Path, tmp_path: Path) -> None:
    from deblur.config import TrainConfig
    from deblur.restoration import restore_tensor
    from deblur.train.deblurring import train
    from deblur.train.run import export_generator
    from deblur.weights import load_model

    config = TrainConfig(
        data=(photo_folder,),
        out=tmp_path / "run",
        steps=4,
        batch=2,
        crop=32,
        val_crop=32,
        gen={"name": "unet", "width": 4, "depth": 2},
        disc={"name": "patchgan", "width": 4},
        val_holdout=1,
        val_every=2,
        device="cuda",
        workers=0,
        synth=SynthConfig(kernels=("motion",), size=7),
    )
    state = train(config, progress=False)
    assert state.step == 4 and next(state.gen.parameters()).is_cuda
    net, _ = load_model(export_generator(tmp_path / "run", tmp_path / "m.safetensors"), "cuda")
    image = torch.rand(1, 3, 300, 200, device="cuda")
    out = restore_tensor(net, image, tile=128, overlap=16, half=True)
    assert out.shape == image.shape and torch.isfinite(out).all()
