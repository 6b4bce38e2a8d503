"""The shipped deblurring models (models/): the default is found without --model, blind, and the README's main command
works with it; both kernel-aware files load and take a kernel."""

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from deblur import restore
from deblur.io import read_image
from deblur.metrics import psnr

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "blurred" / "astronaut_shake.png"


def test_default_model_is_shipped_blind_and_small(monkeypatch: pytest.MonkeyPatch) -> None:
    from deblur.restoration import blind_settings, default_model_path, load_restorer

    monkeypatch.delenv("DEBLUR_MODEL", raising=False)
    path = default_model_path()
    assert path.name == "deblur_default.safetensors" and path.stat().st_size <= 25e6
    net, info = load_restorer(path)
    assert getattr(net, "takes_kernel", False) and net.estimator is not None
    assert 0 < blind_settings(info)["strength"] <= 1


def test_values_readme_main_command_restores_the_example_photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from deblur.cli import cli

    monkeypatch.delenv("DEBLUR_MODEL", raising=False)
    before = EXAMPLE.read_bytes()
    out = tmp_path / "restored.png"
    result = CliRunner().invoke(
        cli, ["restore", str(EXAMPLE), "-o", str(out), "-q", "--save-kernel", str(tmp_path / "k.png")]
    )
    assert result.exit_code == 0, result.output
    assert EXAMPLE.read_bytes() == before  # the input is never touched
    sharp = read_image(ROOT / "examples" / "sharp" / "astronaut.png")[None]
    gain = float(psnr(read_image(out)[None], sharp)[0] - psnr(read_image(EXAMPLE)[None], sharp)[0])
    assert gain > 3.0  # measured: 19.6 -> 24.9 dB
    kernel = np.load(tmp_path / "k.npy")
    assert abs(float(kernel.sum()) - 1) < 1e-4 and kernel.min() >= 0


@pytest.mark.parametrize(
    ("name", "steps", "adv_weight", "blind"),
    [("kernel_aware_centred_adv", 1500, 0.1, False), ("deblur_default", 1500, 0.1, True)],
)
def test_values_shipped_kernel_aware_model_loads_and_takes_a_kernel(
    name: str, steps: int, adv_weight: float, blind: bool
) -> None:
    from deblur.restoration import load_restorer

    path = ROOT / "models" / f"{name}.safetensors"
    net, info = load_restorer(path)
    assert info["task"] == "deblur" and info["steps"] == steps and net.takes_kernel and net.iterations == 5
    assert info["config"]["gen"]["name"] == "kernel_aware" and info["config"]["loss"]["adv_weight"] == adv_weight
    assert (net.estimator is not None) == blind  # the default estimates its kernel; the non-blind model needs one
    blurred = torch.rand(1, 3, 40, 48)
    kernel = torch.zeros(1, 5, 5)
    kernel[0, 2, :] = 0.2
    with torch.no_grad():
        out = net(blurred, kernel)
    assert out.shape == blurred.shape and torch.isfinite(out).all()
    if not blind:
        with pytest.raises(Exception, match="kernel-aware: pass the blur kernel"):
            restore(blurred[0], net)
