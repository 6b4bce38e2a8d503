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


def test_values_kernel_error_hands_the_model_a_perturbed_kernel_but_blurs_with_the_true_one(
    photo_folder: Path,
) -> None:
    exact, perturbed = (
        SynthConfig(kernels=("motion",), size=9, noise=(0.0, 0.0), kernel_error=error)
        for error in ((0.0, 0.0), (1.0, 1.0))
    )
    batches = [
        next(SynthPairs(CropBatches(KeyedCrops(sorted(photo_folder.rglob("*.png")), 32, seed=0), 3), synth, seed=0))
        for synth in (exact, perturbed)
    ]
    # the same images and blur (the errors come from their own generator), a different kernel handed over
    torch.testing.assert_close(batches[0]["blurred"], batches[1]["blurred"])
    assert not torch.allclose(batches[0]["kernel"], batches[1]["kernel"])
    torch.testing.assert_close(batches[1]["kernel"].sum((1, 2)), torch.ones(3))


def test_values_photos_smaller_than_the_crop_make_one_warning(photo_folder: Path, tmp_path: Path) -> None:
    # C26: each skipped photo made its own warning (two raw lines each: 10,000 tiny files printed 20,001 lines)
    import warnings

    from deblur.data.pairs import usable_images
    from deblur.io import write_image

    for i in range(5):
        write_image(photo_folder / f"tiny{i}.png", torch.rand(3, 8, 8))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        files = usable_images([photo_folder], 32)
    assert len(files) == 3 and len(caught) == 1
    assert "skipped 5 photos: " in str(caught[0].message) and "tiny0.png (8x8)" in str(caught[0].message)
    assert "and 2 more are smaller than the 32 px crop" in str(caught[0].message)
