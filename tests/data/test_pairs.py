"""Synthetic training pairs carry the true kernel of every sample."""

from __future__ import annotations

from pathlib import Path

import torch

from deblur.config import SynthConfig
from deblur.data.pairs import CropBatches, KeyedCrops, SynthPairs
from deblur.ops.conv import blur


def test_values_pairs_carry_the_kernel_that_blurred_them(photo_folder: Path) -> None:
    synth = SynthConfig(kernels=("motion", "defocus"), size=9, noise=(0.0, 0.0))
    crops = CropBatches(KeyedCrops(sorted(photo_folder.rglob("*.png")), 32, seed=0), batch_size=3)
    batch = next(SynthPairs(crops, synth, seed=0))
    assert set(batch) == {"blurred", "sharp", "kernel"} and batch["kernel"].shape == (3, 9, 9)
    torch.testing.assert_close(batch["kernel"].sum((1, 2)), torch.ones(3))
    # without noise or JPEG, the blurred crop is the sharp one convolved with its own kernel
    torch.testing.assert_close(batch["blurred"], blur(batch["sharp"], batch["kernel"]).clamp(0, 1))
