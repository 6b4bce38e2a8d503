"""deblur.config.jobs: the synth, optimiser and GAN settings check themselves when made, with one-line messages."""

from __future__ import annotations

import pytest

from deblur.config import SynthConfig
from deblur.errors import ConfigError


def test_comma_separated_kinds() -> None:
    assert SynthConfig(kernels="motion,defocus").kernels == ("motion", "defocus")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"size": 30}, "size must be an odd integer"),
        ({"size": 1}, "size must be an odd integer"),
        ({"kernels": ("blurry",)}, "unknown kernel kind 'blurry'"),
        ({"kernels": ()}, "at least one kind"),
        ({"noise": (0.2, 0.1)}, "noise must satisfy"),
        ({"jpeg_quality": (0, 90)}, "jpeg_quality must satisfy"),
        ({"jpeg_prob": 1.5}, "jpeg_prob must be between 0 and 1"),
        ({"conv": "fast"}, "conv must be one of"),
    ],
)
def test_exception_validation(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SynthConfig(**changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"d_steps": 0}, "d_steps"),
        ({"ema": 1.0}, "ema"),
        ({"ema_start": -1}, "ema_start"),
        ({"precision": "bf-16"}, "precision"),
        ({"clip": -1.0}, "clip"),
        ({"optimizer": "rmsprop"}, "optimizer"),
    ],
)
def test_exception_optim_validation(changes: dict, message: str) -> None:
    """Every optimiser setting is checked when the config is made (d_steps 0 would never train D; "bf-16" would
    silently run fp32)."""
    from deblur.config.jobs import OptimConfig

    with pytest.raises(ConfigError, match=message):
        OptimConfig(**changes)
    assert OptimConfig(d_steps=2, ema=0.0, precision="bf16", clip=1.0).d_steps == 2


@pytest.mark.parametrize("changes", [{"gamma": 0.0}, {"gamma": 1.5}, {"lambda_k": -0.1}])
def test_exception_began_settings(changes: dict) -> None:
    from deblur.config import GANConfig

    with pytest.raises(ConfigError, match="gamma must be in"):
        GANConfig(model="began", **changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model": "began", "pull_away": -0.1}, "pull_away must be at least 0"),
        ({"pull_away": 0.1}, "for began"),
        ({"model": "began", "pull_away": 0.1, "batch": 1}, "batch must be at least 2"),
        ({"began_skip": True}, "began_skip is for began"),
        ({"began_batch_std": True}, "began_batch_std is for began"),
        ({"disc_width": -1}, "disc_width must be at least 0"),
        ({"model": "lapgan", "disc_width": 32}, "disc_width is for dcgan, cgan and began"),
        ({"eval_every": -1}, "eval_every must be at least 0"),
        ({"eval_every": 10, "holdout": 2}, "holdout must be at least 4"),
    ],
)
def test_exception_began_and_eval_settings(changes: dict, message: str) -> None:
    from deblur.config import GANConfig

    with pytest.raises(ConfigError, match=message):
        GANConfig(**changes)
    assert GANConfig(model="began", pull_away=0.1).pull_away == 0.1


def test_exception_batch_has_an_upper_bound() -> None:
    # C21: batch = 100000000 was accepted, and memory grew until the allocation failed
    from deblur.config import GANConfig, TrainConfig
    from deblur.config.jobs import MAX_BATCH

    with pytest.raises(ConfigError, match=f"batch must be at most {MAX_BATCH}"):
        TrainConfig(data=("photos",), batch=100_000_000)
    with pytest.raises(ConfigError, match=f"batch must be at most {MAX_BATCH}"):
        GANConfig(batch=MAX_BATCH + 1)
    assert TrainConfig(data=("photos",), batch=MAX_BATCH).batch == MAX_BATCH


@pytest.mark.parametrize("name", ["log_every", "val_every", "ckpt_every"])
def test_exception_negative_periods_are_refused(name: str) -> None:
    # C29: ckpt_every = -5 was accepted (and acted as 5)
    from deblur.config import GANConfig, TrainConfig

    with pytest.raises(ConfigError, match=f"{name} must be at least 0"):
        TrainConfig(data=("photos",), **{name: -5})
    gan_name = "sample_every" if name == "val_every" else name
    with pytest.raises(ConfigError, match=f"{gan_name} must be at least 0"):
        GANConfig(**{gan_name: -5})
    assert TrainConfig(data=("photos",), **{name: 0}).__dict__[name] == 0
