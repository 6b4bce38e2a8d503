"""deblur.restoration.blind: a model that carries a kernel estimator restores blurred photos and leaves sharp ones
alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from deblur import restore
from deblur.io import read_photo
from deblur.ops.estimate import kernel_agreement
from deblur.synth.kernels import line_kernels
from tests.conftest import blur_with_noise, photo_crop
from tests.helpers import blind_model


def test_values_blind_kernel_aware_model_restores_the_example_and_leaves_sharp_photos_alone(tmp_path: Path) -> None:
    from deblur.train.run import export_generator
    from deblur.weights import read_metadata

    model = Path(__file__).resolve().parents[2] / "models" / "kernel_aware_centred_adv.safetensors"  # non-blind
    path = export_generator(model, tmp_path / "blind.safetensors", estimator={})  # made blind
    examples = Path(__file__).resolve().parents[2] / "examples"
    assert path.stat().st_size <= 25e6  # small enough to ship as the default
    info = read_metadata(path)
    assert info["task"] == "deblur" and info["data"] and info["net"]["estimator"] is not None  # blind, documented
    sharp = read_photo(examples / "sharp" / "astronaut.png").pixels
    blurred = read_photo(examples / "blurred" / "astronaut_shake.png").pixels  # camera shake, 1% noise
    estimates: list = []
    restored = restore(blurred, path, estimates=estimates)  # the kernel estimated, not given

    def psnr(image: np.ndarray) -> float:
        return float(10 * np.log10(255**2 / ((image.astype(float) - sharp) ** 2).mean()))

    assert restored.shape == blurred.shape and restored.dtype == np.uint8
    assert estimates[0].applied == 1.0 and psnr(restored) > psnr(blurred) + 3.0
    kernel = np.load(examples / "blurred" / "astronaut_shake_kernel.npy")
    from deblur.bench.scoring import kernel_correlation

    assert kernel_correlation(estimates[0].kernel, torch.from_numpy(kernel)) > 0.7
    found: list = []
    assert np.array_equal(restore(sharp, path, estimates=found), sharp) and found[0].blur_free  # sharp: unchanged


def test_values_blind_restore_estimates_the_kernel_and_deblurs(tmp_path: Path) -> None:
    from deblur import restore

    sharp = photo_crop()
    kernel = line_kernels(torch.tensor([9.0]), torch.tensor([30.0]), 15)
    blurred = blur_with_noise(sharp, kernel)
    estimates: list = []
    restored = restore(blurred[0], blind_model(tmp_path / "blind.safetensors"), device="cpu", estimates=estimates)
    target = sharp[0, :, 7:-7, 7:-7]
    assert restored.shape == blurred[0].shape and len(estimates) == 1
    assert estimates[0].applied == 1.0 and not estimates[0].blur_free
    assert kernel_agreement(estimates[0].kernel, kernel[0]) > 0.8
    error_before, error_after = ((blurred[0] - target) ** 2).mean(), ((restored - target) ** 2).mean()
    assert float(10 * torch.log10(error_before / error_after)) > 2.0  # more than 2 dB better than its input
    half = restore(blurred[0], blind_model(tmp_path / "blind.safetensors"), device="cpu", strength=0.5)
    torch.testing.assert_close(half, (blurred[0] + 0.5 * (restored - blurred[0])), atol=2e-3, rtol=0)


def test_values_blind_restore_returns_a_sharp_photo_unchanged(tmp_path: Path) -> None:
    from deblur import restore

    sharp = (photo_crop("astronaut")[0] * 255).round() / 255
    estimates: list = []
    restored = restore(sharp, blind_model(tmp_path / "blind.safetensors"), device="cpu", estimates=estimates)
    assert estimates[0].blur_free and estimates[0].applied == 0.0
    torch.testing.assert_close(restored, sharp)


def test_values_blind_restore_of_tiny_photos_shrinks_the_bound_or_returns_them_unchanged(tmp_path: Path) -> None:
    # C03: a side at most the kernel bound + 1 crashed the estimator (reflect padding wider than the image)
    model = blind_model(tmp_path / "blind.safetensors")  # bound 15
    photo = photo_crop("astronaut")[0]
    for height, width, bound in ((16, 300, None), (16, 16, None), (40, 40, 47), (47, 47, 47), (48, 60, 47)):
        image = photo[:, :height, :width].contiguous()
        estimates: list = []
        restored = restore(image, model, device="cpu", tile=0, kernel_size=bound, estimates=estimates)
        assert restored.shape == image.shape and bool(torch.isfinite(restored).all())
        assert estimates[0].kernel.shape[-1] <= min(height, width) // 2
    for height, width in ((1, 1), (8, 8), (13, 300), (2, 500)):
        image = photo[:, :height, :width].contiguous()
        estimates = []
        restored = restore(image, model, device="cpu", tile=0, estimates=estimates)
        assert torch.equal(restored, image) and estimates[0].applied == 0
        assert "too small to estimate a blur" in estimates[0].reason


def test_values_blind_restore_leaves_flat_and_ramp_images_alone(tmp_path: Path) -> None:
    # C13: a flat colour or a linear ramp got a kernel "with confidence 1.00" and was changed
    model = blind_model(tmp_path / "blind.safetensors")
    ramp = np.tile(np.linspace(0, 255, 128).astype(np.uint8)[None, :, None], (96, 1, 3))
    for image in (np.full((96, 128, 3), 128, np.uint8), ramp, ramp.transpose(1, 0, 2).copy()):
        estimates: list = []
        restored = restore(image, model, device="cpu", tile=0, estimates=estimates)
        assert np.array_equal(restored, image) and estimates[0].blur_free and estimates[0].applied == 0


def test_values_blind_restore_at_strength_0_skips_the_estimate(tmp_path: Path) -> None:
    # C27: --strength 0 ran the whole estimate and said that the self-check had failed
    from deblur.cli.restore import _describe

    photo = photo_crop("astronaut")[0][:, :64, :64].contiguous()
    estimates: list = []
    restored = restore(photo, blind_model(tmp_path / "b.safetensors"), device="cpu", strength=0, estimates=estimates)
    assert torch.equal(restored, photo) and estimates[0].reason == "strength 0"
    assert _describe(estimates[0]) == "--strength 0: photo unchanged."


def test_values_blind_restore_with_a_small_tile_caps_the_kernel_overlap(tmp_path: Path) -> None:
    # C22: --tile 66 to 94 passed the checks, then every photo failed on an overlap raised to the kernel's side
    from deblur.config import RestoreConfig
    from deblur.restoration import restore_files

    model = blind_model(tmp_path / "blind.safetensors")
    photo = tmp_path / "p.png"
    from deblur.io import write_image

    write_image(photo, photo_crop("astronaut")[0][:, :100, :100])
    config = RestoreConfig(output=tmp_path / "o.png", model=model, kernel_size=47, tile=80, device="cpu")
    report = restore_files([photo], config, progress=False)
    assert not report.errors and (tmp_path / "o.png").exists()


DEFAULT = Path(__file__).resolve().parents[2] / "models" / "deblur_default.safetensors"


def test_values_default_model_judges_hypotheses_and_deblurs_the_example() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    sharp = read_photo(examples / "sharp" / "astronaut.png").pixels
    blurred = read_photo(examples / "blurred" / "astronaut_shake.png").pixels
    estimates: list = []
    restored = restore(blurred, DEFAULT, estimates=estimates)

    def psnr(image: np.ndarray) -> float:
        return float(10 * np.log10(255**2 / ((image.astype(float) - sharp) ** 2).mean()))

    (found,) = estimates
    assert found.predicted_gain is not None and len(found.candidates) >= 3  # every hypothesis judged
    assert found.found.method == max(found.candidates, key=found.candidates.get)
    assert found.applied > 0.5 and psnr(restored) > psnr(blurred) + 3.0


def test_values_default_model_leaves_a_blur_free_photo_alone() -> None:
    import skimage.data

    sharp = skimage.data.astronaut()[:256, :256]
    estimates: list = []
    restored = restore(sharp, DEFAULT, estimates=estimates)
    assert estimates[0].applied == 0 and np.array_equal(restored, sharp)


class _Fixed(torch.nn.Module):
    """A stand-in critic that predicts one gain per kernel width: the widest kernel the most."""

    def __init__(self, gains: dict[int, float]) -> None:
        super().__init__()
        self.gains = gains

    def forward(self, blurred: torch.Tensor, restored: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
        return torch.full((len(blurred),), self.gains.get(kernels.shape[-1], -5.0))


def _restorer_with(critic: torch.nn.Module, **options: object) -> object:
    from deblur.nets import create_net
    from deblur.restoration import BlindRestorer

    net = create_net("kernel_aware", refiner={"width": 4, "depth": 2, "blocks": 1}, estimator={}).eval()
    return BlindRestorer(net, kernel_size=15, critic=critic, **options)


def test_values_the_critic_chooses_the_hypothesis_and_sets_the_strength() -> None:
    from deblur.restoration.blind import FULL_GAIN, MIN_GAIN

    blurred = blur_with_noise(photo_crop(), line_kernels(torch.tensor([9.0]), torch.tensor([0.0]), 15))
    middle = (MIN_GAIN + FULL_GAIN) / 2
    found = _restorer_with(_Fixed({15: middle})).estimate(blurred)
    assert found.predicted_gain == middle and found.applied == 0.5 and found.kernel.shape[-1] == 15
    found = _restorer_with(_Fixed({15: MIN_GAIN - 0.1})).estimate(blurred)
    assert found.applied == 0 and found.found.method in found.candidates  # nothing predicted to gain: unchanged
    found = _restorer_with(_Fixed({15: 9.0}), strength=0.4).estimate(blurred)
    assert found.applied == 0.4  # the user's strength caps the critic's


def test_exception_estimation_region_is_checked() -> None:
    import pytest

    from deblur.errors import ConfigError

    blurred = blur_with_noise(photo_crop(), line_kernels(torch.tensor([9.0]), torch.tensor([0.0]), 15))
    with pytest.raises(ConfigError, match="outside"):
        _restorer_with(_Fixed({}), box=(200, 200, 128, 128)).estimate(blurred)
    with pytest.raises(ConfigError, match="TOP,LEFT,HEIGHT,WIDTH"):
        _restorer_with(_Fixed({}), box=(0, 0, 8, 8))
    found = _restorer_with(_Fixed({15: 9.0}), box=(10, 20, 160, 160)).estimate(blurred)
    assert found.applied == 1.0


def test_exception_missing_critic_file_says_what_to_do(tmp_path: Path) -> None:
    import pytest

    from deblur.restoration.models import load_critic
    from deblur.weights import ModelFileError

    with pytest.raises(ModelFileError, match="copy it there"):
        load_critic({"blind": {"critic": "gone.safetensors"}}, tmp_path / "model.safetensors")
    assert load_critic({"blind": {}}, tmp_path / "model.safetensors") is None
