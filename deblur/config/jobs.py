"""The configs of synthesis and training, as frozen dataclasses: blur synthesis, GAN and deblurring training
(with the shared optimiser and the deblurring loss tables).

Each job is described by one frozen dataclass; ``deblur synth --noise 0.02`` and
``SynthConfig(noise=(0.02, 0.02))`` build the same object. Configs validate themselves in ``__post_init__`` with
one-line messages. Ranges are ``(low, high)`` tuples sampled uniformly per image; a single number on the command
line means ``(x, x)``. Networks are specs for ``create_net`` (``{"name": "unet", "width": 16}``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from deblur.errors import ConfigError

__all__ = [
    "CONV_METHODS",
    "DEFAULT_TRAIN_SYNTH",
    "GAN_MODELS",
    "KERNEL_KINDS",
    "OPTIM_KEYS",
    "GANConfig",
    "LossConfig",
    "OptimConfig",
    "Range",
    "SynthConfig",
    "TrainConfig",
]

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
        dwell: strength of an uneven speed along a camera-shake path (0: off): bright dwell points joined by faint
            trails, as in recorded camera shake (``random_trajectory_kernels``).
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
        kernel_error: strength range (0 to 1, drawn per sample) of the errors in the kernel that training hands a
            kernel-aware model (:func:`deblur.synth.kernels.perturb_kernels`: extent, smoothing, faint trails,
            shifts), so that it learns to tolerate estimated kernels; the image is still blurred with the true
            kernel. (0, 0): the true kernel. ``deblur synth`` always saves the true kernel.
        kernel_error_share: the fraction of samples whose kernel is perturbed (the others get the true one).
    """

    kernels: tuple[str, ...] = ("trajectory",)
    size: int = 31
    motion_length: Range = (0.2, 1.0)
    trajectory_extent: Range = (0.3, 1.0)
    exposure: Range = (0.5, 1.0)
    anxiety: Range = (0.001, 0.005)
    dwell: Range = (0.0, 0.0)
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
    kernel_error: Range = (0.0, 0.0)
    kernel_error_share: float = 1.0

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
        _check_range("dwell", self.dwell, 0.0, 3.0)
        _check_range("gaussian_sigma", self.gaussian_sigma, 0.0, 1.0)
        _check_range("defocus_radius", self.defocus_radius, 0.0, 1.0)
        _check_range("noise", self.noise, 0.0, 1.0)
        _check_range("poisson", self.poisson, 0.0, 1.0)
        _check_range("jpeg_quality", self.jpeg_quality, 1, 100)
        _check_range("saturation_gain", self.saturation_gain, 1.0, 100.0)
        _check_range("kernel_error", self.kernel_error, 0.0, 1.0)
        for name in ("jpeg_prob", "saturation_prob", "saturation_threshold", "kernel_error_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, got {value!r}")
        if self.conv not in CONV_METHODS:
            raise ConfigError(f"conv must be one of {', '.join(CONV_METHODS)}, got {self.conv!r}")


@dataclass(frozen=True)
class OptimConfig:
    """How a generator and its discriminator are optimised: one table shared by the GAN and deblurring recipes
    and read by the training loop (``deblur.train.loop``).

    Attributes:
        optimizer: ``adam`` or ``sgd`` (with ``momentum``, as in the 2014 paper).
        lr: generator learning rate; ``lr_d`` the discriminator's (None: the same).
        beta1, beta2: Adam's betas.
        momentum: SGD momentum.
        lr_decay_from: fraction of the steps after which both learning rates fall linearly to 0 (1: constant;
            None: the recipe's default, 1 for GANs and 0.5 for deblurring).
        d_steps: discriminator steps per generator step (``k`` of Algorithm 1, Goodfellow et al. 2014).
        ema: decay of the generator's exponential moving average (0: no EMA).
        ema_start: generator steps during which the average copies the live weights, after which it decays at
            ``ema`` itself (None: the decay ramps up as ``min(ema, (1 + t) / (10 + t))``, reaching 0.999 near
            9,000 steps).
        precision: ``auto`` (bf16 on CUDA, fp32 elsewhere), ``fp32`` or ``bf16`` (autocast, also on the CPU).
        clip: max gradient norm (0: no clipping).
    """

    optimizer: str = "adam"
    lr: float = 2e-4
    lr_d: float | None = None
    beta1: float = 0.5
    beta2: float = 0.999
    momentum: float = 0.5
    lr_decay_from: float | None = None
    d_steps: int = 1
    ema: float = 0.999
    ema_start: int | None = None
    precision: str = "auto"
    clip: float = 0.0

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "sgd"):
            raise ConfigError(f"optimizer must be adam or sgd, got {self.optimizer!r}")
        if not 0 < self.lr < math.inf or (self.lr_d is not None and not 0 < self.lr_d < math.inf):
            raise ConfigError("learning rates must be positive and finite")
        if self.lr_decay_from is not None and not 0.0 <= self.lr_decay_from <= 1.0:
            raise ConfigError(f"lr_decay_from must be in [0, 1], got {self.lr_decay_from}")
        if self.d_steps < 1:
            raise ConfigError(f"d_steps must be at least 1, got {self.d_steps}")
        if not 0 <= self.ema < 1:
            raise ConfigError(f"ema must be in [0, 1), got {self.ema}")
        if self.ema_start is not None and self.ema_start < 0:
            raise ConfigError(f"ema_start must be non-negative, got {self.ema_start}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ConfigError(f"precision must be auto, fp32 or bf16, got {self.precision!r}")
        if not self.clip >= 0:
            raise ConfigError(f"clip must be non-negative, got {self.clip!r}")

    def with_decay(self, default: float) -> OptimConfig:
        """This config with ``lr_decay_from`` set to ``default`` if it was left to the recipe (None)."""
        return self if self.lr_decay_from is not None else dataclasses.replace(self, lr_decay_from=default)


GAN_MODELS = ("mlp", "dcgan", "cgan", "lapgan", "began")

OPTIM_KEYS = tuple(f.name for f in dataclasses.fields(OptimConfig))


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
        optim: optimiser, learning rates and their decay, k, EMA, precision, clipping (:class:`OptimConfig`).
        z_dim: noise dimension (BEGAN: also its code size).
        width: channel/unit width of the networks (0: the model's default).
        disc_width: width of the discriminator of ``dcgan``, ``cgan`` and ``began`` where it should differ from the
            generator's (0: ``width``), so that a discriminator can be made stronger than its generator (the shipped
            BEGAN's is: ``models/gan_fashion_mnist.md``).
        image_size: side of generated images (0: the data's own, rounded up as the model needs).
        channels: image channels for image folders (1 or 3).
        folder_mode: how image folders feed the GAN: ``resize`` whole images or random ``patch``-es.
        holdout: the last ``holdout`` training images of MNIST-format data are held out (Parzen validation).
        r1, gp: R1 and WGAN-GP penalty weights.
        conditioning: how ``cgan``'s discriminator sees the label: ``projection`` (Miyato & Koyama 2018: a class
            embedding's inner product with its features, added to its logit) or ``concat`` (one-hot planes beside
            the image, Mirza & Osindero 2014).
        aux_classes: weight of ``cgan``'s AC-GAN auxiliary classification loss (Odena et al. 2017): D gets a
            class head that learns the class of real images, and G is also trained to make images it classifies
            as their requested label (0: off; None, the default: 1 for ``cgan``, 0 for the others).
        lapgan_coarse: LAPGAN's coarsest level: ``conv`` (a small convolutional GAN, the default) or ``mlp`` (the
            paper's fully connected one); ``benchmarks/lapgan_levels.py`` scores each level to show which one limits
            a model.
        lapgan_levels: LAPGAN's band levels (0: as many as leave an 8 px coarse image, 2 at 32 px). Fewer levels
            give the coarse GAN a larger image and leave fewer bands to generate; 1 level (16 px coarse at 32 px) is
            Denton et al.'s choice for small images.
        gamma, lambda_k: BEGAN's diversity ratio and k learning rate.
        pull_away: weight of EBGAN's pull-away term in BEGAN's generator loss (0: off, as in the BEGAN paper;
            ``deblur.train.objectives.pull_away_term``).
        began_skip: BEGAN's skip connections (the paper's section 3.2): every decoder scale also sees the first 8x8
            map, upsampled (off: the plain decoder).
        began_batch_std: BEGAN's discriminator sees the minibatch standard deviation of its encoder's last map
            (Karras et al. 2018), a deviation from the paper against mode collapse (off: the paper's encoder).
        seed: seeds data order, noise and initialisation.
        device: ``auto``, ``cpu``, ``cuda[:N]`` or ``mps``.
        log_every, sample_every, ckpt_every: periods in steps.
        eval_every: on MNIST-format data, every ``eval_every`` steps (and at the last) the EMA generator's Parzen
            log-likelihood of the held-out split is logged (``parzen_val``: 2,000 samples, ``sigma`` chosen on the
            first half of the held-out images, the second half scored) and ``best.pt`` keeps the generator that
            scored highest; the test split is never seen (0: never).
    """

    FLAT_KEYS: ClassVar[dict[str, str]] = {key: f"optim.{key}" for key in OPTIM_KEYS}
    """Flat names of nested settings, as the command line spells them and as config files written before the
    ``optim`` table did (``lr = 1e-4`` means ``optim.lr``)."""

    model: str = "dcgan"
    data: Path = Path("data")
    out: Path = Path("runs/gan")
    steps: int = 10_000
    batch: int = 64
    loss: str = "nonsaturating"
    optim: OptimConfig = OptimConfig()
    z_dim: int = 100
    width: int = 0
    disc_width: int = 0
    image_size: int = 0
    channels: int = 3
    folder_mode: str = "resize"
    holdout: int = 10_000
    r1: float = 0.0
    gp: float = 10.0
    conditioning: str = "projection"
    aux_classes: float | None = None
    lapgan_coarse: str = "conv"
    lapgan_levels: int = 0
    gamma: float = 0.5
    lambda_k: float = 0.001
    pull_away: float = 0.0
    began_skip: bool = False
    began_batch_std: bool = False
    seed: int = 0
    device: str = "auto"
    log_every: int = 50
    sample_every: int = 1000
    ckpt_every: int = 1000
    eval_every: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", Path(self.data))
        object.__setattr__(self, "out", Path(self.out))
        if self.model not in GAN_MODELS:
            raise ConfigError(f"unknown model {self.model!r}: use one of {', '.join(GAN_MODELS)}")
        if self.folder_mode not in ("resize", "patch"):
            raise ConfigError(f"folder_mode must be resize or patch, got {self.folder_mode!r}")
        if self.conditioning not in ("projection", "concat"):
            raise ConfigError(f"conditioning must be projection or concat, got {self.conditioning!r}")
        if self.aux_classes is None:  # the recipe: AC-GAN's class loss for cgan (see models/gan_fashion_mnist.md)
            object.__setattr__(self, "aux_classes", 1.0 if self.model == "cgan" else 0.0)
        if self.aux_classes < 0:
            raise ConfigError(f"aux_classes must be at least 0, got {self.aux_classes}")
        if self.aux_classes and self.model != "cgan":
            raise ConfigError(f"aux_classes is for cgan, not {self.model}")
        if self.lapgan_coarse not in ("conv", "mlp"):
            raise ConfigError(f"lapgan_coarse must be conv or mlp, got {self.lapgan_coarse!r}")
        if not 0 < self.gamma <= 1 or not 0 <= self.lambda_k < math.inf:
            raise ConfigError(f"gamma must be in (0, 1] and lambda_k at least 0, got {self.gamma}, {self.lambda_k}")
        if not 0 <= self.pull_away < math.inf:
            raise ConfigError(f"pull_away must be at least 0, got {self.pull_away}")
        if self.pull_away and self.model != "began":
            raise ConfigError(f"pull_away is for began, not {self.model}")
        for name in ("began_skip", "began_batch_std"):
            if getattr(self, name) and self.model != "began":
                raise ConfigError(f"{name} is for began, not {self.model}")
        if self.pull_away and self.batch < 2:
            raise ConfigError(f"pull_away compares the fakes of a batch: batch must be at least 2, got {self.batch}")
        if self.disc_width < 0:
            raise ConfigError(f"disc_width must be at least 0 (0: the generator's width), got {self.disc_width}")
        if self.disc_width and self.model not in ("dcgan", "cgan", "began"):
            raise ConfigError(f"disc_width is for dcgan, cgan and began, not {self.model}")
        if self.lapgan_levels < 0:
            raise ConfigError(f"lapgan_levels must be at least 0 (0: automatic), got {self.lapgan_levels}")
        if self.eval_every < 0:
            raise ConfigError(f"eval_every must be at least 0 (0: never), got {self.eval_every}")
        if self.eval_every and self.holdout < 4:
            raise ConfigError(f"eval_every scores the held-out images: holdout must be at least 4, got {self.holdout}")
        _check_at_least_one(self, ("steps", "batch", "z_dim"))
        _check_periods(self, ("log_every", "sample_every", "ckpt_every"))
        _check_batch(self)
        object.__setattr__(self, "optim", self.optim.with_decay(1.0))  # GANs: a constant learning rate
        if self.channels not in (1, 3):
            raise ConfigError(f"channels must be 1 or 3, got {self.channels}")


MAX_BATCH = 4096
"""The largest ``batch`` a trainer takes: far above what fits in memory at the usual crop sizes, it refuses typos
(``batch = 100000000``) before memory grows until the allocation fails."""


def _check_batch(config: Any) -> None:
    if config.batch > MAX_BATCH:
        raise ConfigError(f"batch must be at most {MAX_BATCH}, got {config.batch}")


def _check_periods(config: Any, names: tuple[str, ...]) -> None:
    for name in names:
        if getattr(config, name) < 0:
            raise ConfigError(f"{name} must be at least 0 (0: never), got {getattr(config, name)}")


def _check_at_least_one(config: Any, names: tuple[str, ...]) -> None:
    for name in names:
        if getattr(config, name) < 1:
            raise ConfigError(f"{name} must be at least 1, got {getattr(config, name)}")


@dataclass(frozen=True)
class LossConfig:
    """What the deblurring generator minimises: an adversarial term plus content terms.

    Attributes:
        adv_loss, adv_weight: adversarial loss kind (``deblur.losses.GAN_LOSSES``) and weight (0: no
            discriminator, content losses only).
        content, content_weight: ``l1``, ``charbonnier`` or ``l2`` (mean squared error) and its weight (100
            relative to the adversarial term, as in pix2pix).
        fft_weight: weight of the frequency loss.
        guard_weight: weight of the per-sample never-worse-than-the-input term (0: off).
        perceptual_weights, perceptual_weight: a local VGG-19 weights file and the perceptual loss weight.
    """

    adv_loss: str = "nonsaturating"
    adv_weight: float = 1.0
    content: str = "l1"
    content_weight: float = 100.0
    fft_weight: float = 0.0
    guard_weight: float = 0.0
    perceptual_weights: Path | None = None
    perceptual_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.perceptual_weights is not None:
            object.__setattr__(self, "perceptual_weights", Path(self.perceptual_weights))
        if self.content not in ("l1", "charbonnier", "l2"):  # deblur.losses.CONTENT_LOSSES (config stays torch-free)
            raise ConfigError(f"content must be l1, charbonnier or l2, got {self.content!r}")
        for name in ("adv_weight", "content_weight", "fft_weight", "perceptual_weight", "guard_weight"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"{name} must be non-negative, got {getattr(self, name)}")
        if self.perceptual_weight > 0 and self.perceptual_weights is None:
            raise ConfigError("perceptual_weight needs --perceptual-weights, a local VGG-19 weights file")


DEFAULT_TRAIN_SYNTH = SynthConfig(kernels=("motion", "trajectory", "gaussian"), size=31, noise=(0.0, 0.01))
"""What ``deblur train`` synthesises unless told otherwise: linear motion, camera shake and Gaussian blur up to
31 px, and up to 1% Gaussian noise."""


_DEFAULT_SPECS: dict[str, dict[str, Any]] = {"gen": {"name": "unet", "width": 16}, "disc": {"name": "patchgan"}}
"""The networks ``deblur train`` builds unless told otherwise (missing fields take the network's own defaults)."""


def _net_spec_field(role: str) -> Any:
    return field(default_factory=lambda: dict(_DEFAULT_SPECS[role]))


@dataclass(frozen=True)
class TrainConfig:
    """A deblurring training run: ``deblur train`` and :func:`deblur.train.deblurring.train` take this.

    Attributes:
        data: folders of sharp photos (pairs are synthesised from them with ``synth``).
        pairs: a folder of real (blurred, sharp) pairs (GoPro layout) to train on instead of ``data``.
        out: run folder: ``last.pt``, ``best.pt``, ``config.json``, ``metrics.jsonl``, ``samples/``.
        val: folder of sharp photos for validation; without it ``val_holdout`` photos of ``data`` are kept out.
        val_holdout: photos of ``data`` held out for validation when ``val`` is not given (0: validate on none).
        val_images: validation crops (one centre crop per photo, up to this many).
        val_crop: side of the validation crops.
        steps, batch, crop: generator steps, crops per batch, crop side (a multiple of the generator's
            ``multiple``, shuffle x 2^depth for the U-Net).
        gen: the generator's spec for ``create_net`` (``{"name": "unet", "width": 16}``); the fields given replace
            the default spec's, so ``{"depth": 4}`` is a width-16 U-Net of depth 4, and fields given nowhere take
            the network's own defaults.
        disc: the discriminator's spec (``{"name": "patchgan"}``), the same way.
        loss: the generator's objective (:class:`LossConfig`).
        optim: optimiser settings (:class:`OptimConfig`; unless ``lr_decay_from`` is given, the learning rates
            decay over the second half).
        synth: the degradations synthesised on the training device (:class:`SynthConfig`).
        init: a model file (``deblur export``'s safetensors) whose generator weights start the run instead of a
            random initialisation: fine-tuning. Its tensors must fit ``gen`` (settings that hold no weights, such
            as a kernel-aware model's iterations, may differ), except that a U-Net may be wider or take more
            conditioning channels: it then starts computing what the file's smaller one did
            (:meth:`deblur.nets.unet.UNetGenerator.embed`). Ignored on ``--resume``.
        workers: data-loader processes for decoding and cropping (-1: 0 on the CPU, 4 on a GPU).
        cache: keep decoded photos in memory.
        seed, device: as everywhere.
        log_every, val_every, ckpt_every: periods in steps.
    """

    FLAT_KEYS: ClassVar[dict[str, str]] = {
        **{key: f"gen.{key}" for key in ("width", "depth", "blocks", "norm", "act", "shuffle")},
        **{f"disc_{key}": f"disc.{key}" for key in ("width", "layers", "norm")},
        "spectral": "disc.spectral",
        "scales": "disc.scales",
        **{key: f"loss.{key}" for key in LossConfig.__dataclass_fields__},
        **{key: f"optim.{key}" for key in OPTIM_KEYS},
        **{
            key: f"synth.{key}"
            for key in ("kernels", "noise", "kernel_error", "jpeg_prob", "jpeg_quality", "saturation_prob")
        },
        "kernel_size": "synth.size",
    }
    """Flat names of nested settings, as the command line spells them (``--disc-width`` is ``disc.width``) and as
    config files written before the nested tables did."""

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
    gen: dict[str, Any] = _net_spec_field("gen")
    disc: dict[str, Any] = _net_spec_field("disc")
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    synth: SynthConfig = DEFAULT_TRAIN_SYNTH
    init: Path | None = None
    workers: int = -1
    cache: bool = True
    seed: int = 0
    device: str = "auto"
    log_every: int = 50
    val_every: int = 1000
    ckpt_every: int = 1000

    def __post_init__(self) -> None:
        data = (self.data,) if isinstance(self.data, (str, Path)) else self.data
        object.__setattr__(self, "data", tuple(Path(p) for p in data))
        object.__setattr__(self, "out", Path(self.out))
        for name in ("pairs", "val", "init"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, Path(getattr(self, name)))
        for name in ("gen", "disc"):
            spec, default = getattr(self, name), _DEFAULT_SPECS[name]
            if not isinstance(spec, dict) or not isinstance(spec.get("name", default["name"]), str):
                raise ConfigError(f'{name} must be a network spec with a name, such as {{name = "unet"}}, got {spec!r}')
            # the fields given replace the default spec's; another network starts from its own defaults
            merged = {**default, **spec} if spec.get("name", default["name"]) == default["name"] else dict(spec)
            object.__setattr__(self, name, merged)
        object.__setattr__(self, "optim", self.optim.with_decay(0.5))  # deblurring: decay over the second half
        if not self.data and self.pairs is None:
            raise ConfigError("give --data (folders of sharp photos) or --pairs (a folder of blurred/sharp pairs)")
        if self.data and self.pairs is not None:
            raise ConfigError("give either --data or --pairs, not both")
        _check_at_least_one(self, ("steps", "batch", "val_images"))
        _check_periods(self, ("log_every", "val_every", "ckpt_every"))
        _check_batch(self)
        if self.crop < 16:
            raise ConfigError(f"crop must be at least 16, got {self.crop}")
        if self.val_crop < self.crop // 4 or self.val_crop < 16:
            raise ConfigError(f"val_crop must be at least 16 and a quarter of crop, got {self.val_crop}")
        if self.val_holdout < 0:
            raise ConfigError(f"val_holdout must be non-negative, got {self.val_holdout}")
