"""Typed configuration objects shared by the Python API and the command line.

Each job is described by one frozen dataclass; ``deblur synth --noise 0.02`` and
``SynthConfig(noise=(0.02, 0.02))`` build the same object. Configs validate themselves in ``__post_init__`` with
one-line messages, round-trip through plain dicts (JSON, TOML), and are saved beside every output they produce.
Ranges are ``(low, high)`` tuples sampled uniformly per image; a single number on the command line means
``(x, x)``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from deblur.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

KERNEL_KINDS = ("motion", "trajectory", "gaussian", "anisotropic", "defocus")
"""Built-in kernel kinds; ``bank:PATH`` names a kernel bank (folder of PNG/NPY files or a ``.mat`` file)."""

CONV_METHODS = ("auto", "direct", "fft")

Range = tuple[float, float]


def _check_range(name: str, value: Range, low: float, high: float) -> None:
    if len(value) != 2:
        raise ConfigError(f"{name} must be a (low, high) pair, got {value!r}")
    lo, hi = value
    if not (low <= lo <= hi <= high):
        raise ConfigError(f"{name} must satisfy {low} <= low <= high <= {high}, got {value!r}")


@dataclass(frozen=True)
class SynthConfig:
    """How sharp images become blurred ones: kernels, noise, compression.

    Kernel extents are relative to the kernel's half-width ``r = (size - 1) / 2``, so a config keeps its meaning
    when ``size`` changes: a motion length of 1.0 spans the whole kernel, a defocus radius of 1.0 touches its edge.

    Attributes:
        kernels: kinds sampled with equal probability per image: ``motion`` (linear), ``trajectory`` (camera
            shake), ``gaussian`` (isotropic), ``anisotropic`` (rotated elliptical Gaussian), ``defocus`` (disk), or
            ``bank:PATH`` (kernels read from a folder of PNG/NPY files or a MATLAB ``.mat`` file).
        size: odd side ``k`` of every kernel, in pixels.
        motion_length: length of linear motion, as a fraction of ``2r``.
        trajectory_extent: larger bounding-box side of a camera-shake path, as a fraction of ``2r``.
        exposure: fraction of the shake trajectory recorded by the sensor (Boracchi & Foi 2012).
        anxiety: Boracchi & Foi's anxiety, the strength of the random and centripetal terms of the walk.
        gaussian_sigma: standard deviation of Gaussian blur, as a fraction of ``r``.
        defocus_radius: radius of the defocus disk, as a fraction of ``r``.
        noise: standard deviation of additive Gaussian noise on the [0, 1] scale.
        poisson: photon-noise scale ``a`` of Poisson-Gaussian noise, ``y = a * Poisson(x / a)``; 0 turns it off.
        jpeg_prob: probability that an image is re-compressed as JPEG.
        jpeg_quality: JPEG quality range.
        saturation_prob: probability of simulated clipped highlights (light sources that streak when blurred).
        saturation_gain: how much brighter than white the highlights are before blurring.
        saturation_threshold: luminance above which a pixel counts as a highlight.
        linear_light: blur in linear light (sRGB decoded first, re-encoded after), as a camera does; off by
            default, matching the non-blind deblurring literature, which blurs the stored values.
        valid: valid convolution (no padding); the output loses ``size - 1`` rows and columns and the sharp image
            is cropped to match. The fair protocol for benchmarks.
        conv: ``direct`` (kornia ``filter2d``), ``fft`` (kornia ``fft_conv``) or ``auto`` (by kernel size and device).
    """

    kernels: tuple[str, ...] = ("trajectory",)
    size: int = 31
    motion_length: Range = (0.2, 1.0)
    trajectory_extent: Range = (0.3, 1.0)
    exposure: Range = (0.5, 1.0)
    anxiety: Range = (0.001, 0.005)
    gaussian_sigma: Range = (0.05, 0.33)
    defocus_radius: Range = (0.15, 1.0)
    noise: Range = (0.0, 0.01)
    poisson: Range = (0.0, 0.0)
    jpeg_prob: float = 0.0
    jpeg_quality: tuple[int, int] = (60, 95)
    saturation_prob: float = 0.0
    saturation_gain: Range = (1.5, 4.0)
    saturation_threshold: float = 0.95
    linear_light: bool = False
    valid: bool = False
    conv: str = "auto"

    def __post_init__(self) -> None:
        if isinstance(self.kernels, str):
            object.__setattr__(self, "kernels", tuple(k for k in self.kernels.split(",") if k))
        if not self.kernels:
            raise ConfigError("kernels must name at least one kind: " + ", ".join(KERNEL_KINDS) + " or bank:PATH")
        for kind in self.kernels:
            if kind not in KERNEL_KINDS and not (kind.startswith("bank:") and len(kind) > 5):
                raise ConfigError(f"unknown kernel kind {kind!r}: use one of {', '.join(KERNEL_KINDS)} or bank:PATH")
        if not isinstance(self.size, int) or self.size < 3 or self.size % 2 == 0 or self.size > 255:
            raise ConfigError(f"size must be an odd integer between 3 and 255, got {self.size!r}")
        _check_range("motion_length", self.motion_length, 0.0, 1.0)
        _check_range("trajectory_extent", self.trajectory_extent, 0.0, 1.0)
        _check_range("exposure", self.exposure, 1e-3, 1.0)
        _check_range("anxiety", self.anxiety, 0.0, 0.1)
        _check_range("gaussian_sigma", self.gaussian_sigma, 0.0, 1.0)
        _check_range("defocus_radius", self.defocus_radius, 0.0, 1.0)
        _check_range("noise", self.noise, 0.0, 1.0)
        _check_range("poisson", self.poisson, 0.0, 1.0)
        _check_range("jpeg_quality", self.jpeg_quality, 1, 100)
        _check_range("saturation_gain", self.saturation_gain, 1.0, 100.0)
        for name in ("jpeg_prob", "saturation_prob", "saturation_threshold"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, got {value!r}")
        if self.conv not in CONV_METHODS:
            raise ConfigError(f"conv must be one of {', '.join(CONV_METHODS)}, got {self.conv!r}")


def _check_optimisation(config: Any) -> None:
    """Checks shared by the training configs: learning rates, their decay, EMA and precision."""
    if config.lr <= 0 or (config.lr_d is not None and config.lr_d <= 0):
        raise ConfigError("learning rates must be positive")
    if not 0.0 <= config.lr_decay_from <= 1.0:
        raise ConfigError(f"lr_decay_from must be in [0, 1], got {config.lr_decay_from}")
    if not 0 <= config.ema < 1:
        raise ConfigError(f"ema must be in [0, 1), got {config.ema}")
    if config.precision not in ("auto", "fp32", "bf16"):
        raise ConfigError(f"precision must be auto, fp32 or bf16, got {config.precision!r}")


GAN_MODELS = ("mlp", "dcgan", "cgan", "lapgan", "began")


@dataclass(frozen=True)
class GANConfig:
    """A GAN training run: ``deblur gan train`` and ``deblur.train.gan.train_gan`` take this.

    Attributes:
        model: ``mlp`` (Goodfellow et al. 2014), ``dcgan``, ``cgan`` (class-conditional DCGAN), ``lapgan`` or
            ``began``.
        data: a folder of MNIST-format IDX files, ``mnist.pkl.gz``, or a folder of images.
        out: run folder (checkpoints, config, metrics, sample grids).
        steps: generator steps.
        batch: samples per minibatch.
        loss: adversarial loss (``deblur.losses.GAN_LOSSES``); BEGAN has its own.
        d_steps: discriminator steps per generator step (k of Algorithm 1).
        optimizer: ``adam`` or ``sgd``; ``lr`` (``lr_d`` for D if set), Adam's ``beta1``/``beta2``, SGD ``momentum``.
        lr_decay_from: fraction of the steps after which the learning rates fall linearly to 0 (1: constant).
        z_dim: noise dimension (BEGAN: also its code size).
        width: channel/unit width of the networks (0: the model's default).
        image_size: side of generated images (0: the data's own, rounded up as the model needs).
        channels: image channels for image folders (1 or 3).
        folder_mode: how image folders feed the GAN: ``resize`` whole images or random ``patch``-es.
        holdout: the last ``holdout`` training images of MNIST-format data are held out (Parzen validation).
        r1, gp: R1 and WGAN-GP penalty weights.
        ema: EMA decay of the generator (0: off).
        precision: ``auto`` (bf16 on CUDA), ``fp32`` or ``bf16``.
        clip: gradient-norm clip (0: off).
        gamma, lambda_k: BEGAN's diversity ratio and k learning rate.
        seed: seeds data order, noise and initialisation.
        device: ``auto``, ``cpu``, ``cuda[:N]`` or ``mps``.
        log_every, sample_every, ckpt_every: periods in steps.
    """

    model: str = "dcgan"
    data: Path = Path("data")
    out: Path = Path("runs/gan")
    steps: int = 10_000
    batch: int = 64
    loss: str = "nonsaturating"
    d_steps: int = 1
    optimizer: str = "adam"
    lr: float = 2e-4
    lr_d: float | None = None
    beta1: float = 0.5
    beta2: float = 0.999
    momentum: float = 0.5
    lr_decay_from: float = 1.0
    z_dim: int = 100
    width: int = 0
    image_size: int = 0
    channels: int = 3
    folder_mode: str = "resize"
    holdout: int = 10_000
    r1: float = 0.0
    gp: float = 10.0
    ema: float = 0.999
    precision: str = "auto"
    clip: float = 0.0
    gamma: float = 0.5
    lambda_k: float = 0.001
    seed: int = 0
    device: str = "auto"
    log_every: int = 50
    sample_every: int = 1000
    ckpt_every: int = 1000

    def __post_init__(self) -> None:
        from deblur.losses import GAN_LOSSES

        object.__setattr__(self, "data", Path(self.data))
        object.__setattr__(self, "out", Path(self.out))
        if self.model not in GAN_MODELS:
            raise ConfigError(f"unknown model {self.model!r}: use one of {', '.join(GAN_MODELS)}")
        if self.loss not in GAN_LOSSES:
            raise ConfigError(f"unknown loss {self.loss!r}: use one of {', '.join(GAN_LOSSES)}")
        if self.optimizer not in ("adam", "sgd"):
            raise ConfigError(f"optimizer must be adam or sgd, got {self.optimizer!r}")
        if self.folder_mode not in ("resize", "patch"):
            raise ConfigError(f"folder_mode must be resize or patch, got {self.folder_mode!r}")
        for name in ("steps", "batch", "d_steps", "z_dim"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.channels not in (1, 3):
            raise ConfigError(f"channels must be 1 or 3, got {self.channels}")
        _check_optimisation(self)


DEFAULT_TRAIN_SYNTH = SynthConfig(kernels=("motion", "trajectory", "gaussian"), size=31, noise=(0.0, 0.01))
"""What ``deblur train`` synthesises unless told otherwise: linear motion, camera shake and Gaussian blur up to
31 px, and up to 1% Gaussian noise."""


@dataclass(frozen=True)
class TrainConfig:
    """A deblurring training run: ``deblur train`` and :func:`deblur.trainer.train` take this.

    Attributes:
        data: folders of sharp photos (pairs are synthesised from them with ``synth``).
        pairs: a folder of real (blurred, sharp) pairs (GoPro layout) to train on instead of ``data``.
        out: run folder: ``last.pt``, ``best.pt``, ``config.json``, ``metrics.jsonl``, ``samples/``.
        val: folder of sharp photos for validation; without it ``val_holdout`` photos of ``data`` are kept out.
        val_holdout: photos of ``data`` held out for validation when ``val`` is not given (0: validate on none).
        val_images: validation crops (one centre crop per photo, up to this many).
        val_crop: side of the validation crops.
        steps, batch, crop: generator steps, crops per batch, crop side.
        lr, lr_d, beta1, beta2, lr_decay_from: Adam settings; the learning rates fall linearly to 0 after
            ``lr_decay_from * steps``.
        width, depth, blocks, norm, act, shuffle: the U-Net generator (``deblur.nets.unet``).
        disc_width, disc_layers, disc_norm, spectral, scales: the PatchGAN discriminator.
        adv_loss, adv_weight: adversarial loss kind and weight (weight 0: no discriminator, content losses only).
        content, content_weight: ``l1`` or ``charbonnier`` and its weight (100 relative to the adversarial term,
            as in pix2pix).
        fft_weight: weight of the frequency loss.
        guard_weight: weight of the per-sample never-worse-than-the-input term (0: off).
        perceptual_weights, perceptual_weight: a local VGG-19 weights file and the perceptual loss weight.
        d_steps, ema, precision, clip: see the GAN core (``deblur.train.loop``).
        workers: data-loader processes for decoding and cropping (-1: 0 on the CPU, 4 on a GPU).
        cache: keep decoded photos in memory.
        seed, device: as everywhere.
        log_every, val_every, ckpt_every: periods in steps.
        synth: the degradations synthesised on the training device (``deblur.config.SynthConfig``).
    """

    data: tuple[Path, ...] = ()
    pairs: Path | None = None
    out: Path = Path("runs/deblur")
    val: Path | None = None
    val_holdout: int = 8
    val_images: int = 16
    val_crop: int = 256
    steps: int = 20_000
    batch: int = 16
    crop: int = 256
    lr: float = 2e-4
    lr_d: float | None = None
    beta1: float = 0.5
    beta2: float = 0.999
    lr_decay_from: float = 0.5
    width: int = 16
    depth: int = 3
    blocks: int = 2
    norm: str = "none"
    act: str = "relu"
    shuffle: int = 2
    disc_width: int = 64
    disc_layers: int = 3
    disc_norm: str = "instance"
    spectral: bool = False
    scales: int = 1
    adv_loss: str = "nonsaturating"
    adv_weight: float = 1.0
    content: str = "l1"
    content_weight: float = 100.0
    fft_weight: float = 0.0
    guard_weight: float = 0.0
    perceptual_weights: Path | None = None
    perceptual_weight: float = 0.0
    d_steps: int = 1
    ema: float = 0.999
    precision: str = "auto"
    clip: float = 0.0
    workers: int = -1
    cache: bool = True
    seed: int = 0
    device: str = "auto"
    log_every: int = 50
    val_every: int = 1000
    ckpt_every: int = 1000
    synth: SynthConfig = DEFAULT_TRAIN_SYNTH

    def __post_init__(self) -> None:
        from deblur.losses import GAN_LOSSES
        from deblur.nets.unet import ACTIVATIONS, NORMS

        data = (self.data,) if isinstance(self.data, (str, Path)) else self.data
        object.__setattr__(self, "data", tuple(Path(p) for p in data))
        object.__setattr__(self, "out", Path(self.out))
        for name in ("pairs", "val", "perceptual_weights"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, Path(getattr(self, name)))
        if isinstance(self.synth, dict):
            object.__setattr__(self, "synth", config_from_dict(SynthConfig, self.synth))
        if not self.data and self.pairs is None:
            raise ConfigError("give --data (folders of sharp photos) or --pairs (a folder of blurred/sharp pairs)")
        if self.data and self.pairs is not None:
            raise ConfigError("give either --data or --pairs, not both")
        for name in ("steps", "batch", "d_steps", "val_images", "width", "depth", "blocks", "shuffle", "scales"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.crop < 16 or self.crop % (self.shuffle * 2**self.depth):
            raise ConfigError(
                f"crop must be a multiple of {self.shuffle * 2**self.depth} (shuffle x 2^depth) and at least 16, "
                f"got {self.crop}"
            )
        if self.val_crop < self.crop // 4 or self.val_crop < 16:
            raise ConfigError(f"val_crop must be at least 16 and a quarter of crop, got {self.val_crop}")
        if self.norm not in NORMS or self.disc_norm not in NORMS:
            raise ConfigError(f"norm and disc_norm must be one of {', '.join(NORMS)}")
        if self.act not in ACTIVATIONS:
            raise ConfigError(f"act must be one of {', '.join(ACTIVATIONS)}, got {self.act!r}")
        if self.adv_loss not in GAN_LOSSES:
            raise ConfigError(f"unknown adv_loss {self.adv_loss!r}: use one of {', '.join(GAN_LOSSES)}")
        if self.content not in ("l1", "charbonnier"):
            raise ConfigError(f"content must be l1 or charbonnier, got {self.content!r}")
        for name in ("adv_weight", "content_weight", "fft_weight", "perceptual_weight", "guard_weight", "clip"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be non-negative, got {getattr(self, name)}")
        if self.perceptual_weight > 0 and self.perceptual_weights is None:
            raise ConfigError("perceptual_weight needs --perceptual-weights, a local VGG-19 weights file")
        _check_optimisation(self)
        if self.val_holdout < 0:
            raise ConfigError(f"val_holdout must be non-negative, got {self.val_holdout}")


C = TypeVar("C")


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (tuples become lists, paths strings).

    Example:
        >>> config_to_dict(SynthConfig())["size"]
        31
    """

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return config_to_dict(value)
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        return value

    return {f.name: plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false", Path: "a path"}


def _coerce(annotation: Any, value: Any, name: str) -> Any:
    """Convert a JSON/TOML value to the field's annotated type (lists to tuples, strings to paths), or raise a
    :class:`ConfigError` naming the field ``name`` when the value has the wrong type."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return None if value is None else _coerce(args[0], value, name)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name} must be a list, got {value!r}")
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, name) for v in value)
        if len(args) != len(value):
            raise ConfigError(f"{name} must be a list of {len(args)} values, got {value!r}")
        return tuple(_coerce(a, v, name) for a, v in zip(args, value, strict=True))
    if dataclasses.is_dataclass(annotation):
        if isinstance(value, annotation):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be a table of settings, got {value!r}")
        return config_from_dict(annotation, value)
    if annotation is Path and isinstance(value, (str, Path)):
        return Path(value)
    if annotation is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if annotation in (int, str, bool) and not (
        isinstance(value, annotation) and (annotation is bool) == isinstance(value, bool)
    ):
        raise ConfigError(f"{name} must be {_TYPE_NAMES[annotation]}, got {value!r}")
    if annotation in (float, Path):
        raise ConfigError(f"{name} must be {_TYPE_NAMES[annotation]}, got {value!r}")
    return value


def config_from_dict(cls: type[C], data: dict[str, Any], source: str | Path | None = None) -> C:
    """Build a config dataclass from a plain dict, rejecting unknown keys (with the list of known ones) and values
    of the wrong type; ``source`` (the config file) is named in every error.

    Example:
        >>> config_from_dict(SynthConfig, {"size": 21, "noise": [0.0, 0.02]}).noise
        (0.0, 0.02)
    """
    try:
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} key(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        return cls(**{key: _coerce(hints[key], value, key) for key, value in data.items()})
    except ConfigError as exc:
        if source is None or str(source) in str(exc):
            raise
        raise ConfigError(f"{exc} (settings from {source} and the command line)") from exc


def load_config_file(path: str | Path, section: str | None = None) -> dict[str, Any]:
    """Read a TOML or JSON config file into a dict; ``section`` picks a table such as ``[synth]`` if present."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise ConfigError(f"config file {path} is not valid {kind}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a table of settings")
    if section is not None and isinstance(data.get(section), dict):
        data = data[section]
    return data
