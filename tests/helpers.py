"""Small builders that several test files share: a photo file, tiny model files (plain and blind), a synthesized
test set, a command-line run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from click.testing import CliRunner

from deblur.cli import cli
from deblur.config import SynthConfig
from deblur.nets import create_net
from deblur.synth.folder import synthesize_folder
from deblur.weights import save_model


def photo_file(path: Path, seed: int = 0) -> Path:
    """A 32 x 24 RGB PNG of uniform noise (``seed``) at ``path``, its folders made."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(path)
    return path


def tiny_model(path: Path, tail_std: float = 0.0) -> Path:
    """A tiny U-Net deblurring model file (seed 0). Untrained its last layer is zero: the identity; ``tail_std`` > 0
    draws that layer's weights with this spread instead."""
    torch.manual_seed(0)
    net = create_net("unet", width=4, depth=2, blocks=1)
    if tail_std:
        torch.nn.init.normal_(net.tail.weight, std=tail_std)
    return save_model(path, net.eval(), {"task": "deblur", "steps": 0})


def blind_model(path: Path) -> Path:
    """An untrained blind kernel-aware model file: a tiny refiner and a kernel estimator of up to 15 px."""
    net = create_net("kernel_aware", refiner={"width": 4, "depth": 2, "blocks": 1}, estimator={"max_size": 15})
    return save_model(path, net, {"task": "deblur"})


def synth_set(photo_folder: Path, out: Path) -> Path:
    """A two-pair test set in ``out`` (motion blur, 9 px, valid convolution, noise 0.01) from ``photo_folder``."""
    config = SynthConfig(kernels=("motion",), size=9, noise=(0.01, 0.01), valid=True)
    synthesize_folder(photo_folder, out, config, seed=1, progress=False, limit=2)
    return out


def run_cli(*args: object) -> tuple[int, str]:
    """``deblur ARGS`` through click's CliRunner, each argument as a string: the exit code and the output."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output
