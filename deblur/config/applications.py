"""The configs of what uses a trained model, as frozen dataclasses: restoring files and benchmarking.

Like every config they validate themselves in ``__post_init__`` with one-line messages; the command line builds
them from its options (``deblur restore``, ``deblur bench``) and hands them to one library call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from deblur.errors import ConfigError

__all__ = ["BenchConfig", "RestoreConfig", "check_kernel_bound"]


MIN_TILE = 64
"""The smallest tile side: smaller tiles spend nearly all their time on overlaps."""
MIN_KERNEL_BOUND = 7
"""The smallest upper bound on an estimated kernel's side (the blind estimator's coarsest level)."""
MAX_KERNEL_BOUND = 255
"""The largest: the estimator compares kernels' spectra on 256 px tiles, so a kernel must fit in one (the largest
kernel file read is as large, :data:`deblur.io.MAX_KERNEL_SIDE`)."""


def check_kernel_bound(size: int | None, name: str = "kernel size") -> None:
    """Check an upper bound on the estimated kernel's side (None: the model's own): odd, 7 to 255 pixels.

    Raises:
        ConfigError: it is not.
    """
    if size is not None and (not MIN_KERNEL_BOUND <= size <= MAX_KERNEL_BOUND or size % 2 == 0):
        raise ConfigError(
            f"{name} must be odd and at least {MIN_KERNEL_BOUND} pixels, at most {MAX_KERNEL_BOUND}, got {size}"
        )


@dataclass(frozen=True)
class RestoreConfig:
    """How ``deblur restore`` and :func:`deblur.restoration.restore_files` restore files and where they write.

    Attributes:
        output: the output file (one input only).
        out_dir: output folder, mirroring input folders; without it (and ``output``) each result goes beside its
            input with ``suffix`` added to the name.
        suffix: added to the stem of outputs written beside their inputs.
        recursive: look into sub-folders of input folders (and let globs use ``**``).
        model: model file (None: the shipped default model).
        kernel: a known blur kernel (PNG/TIFF/BMP picture or ``.npy``): with a kernel-aware ``model`` it is the
            model's kernel; without ``model``, non-blind deconvolution with a hyper-Laplacian prior.
        kernel_weight: its prior weight (None: from each photo's estimated noise, ``7 sigma^2``).
        kernel_size: blind restoration (a model with a kernel estimator, no ``kernel``): the upper bound of the
            estimated kernel's side, odd (None: the model's).
        region: blind restoration: ``(top, left, height, width)`` in pixels of the window to estimate the kernel
            on (None: the window with the most edges).
        strength: blind restoration: how much of the restoration to apply, 0 (the input) to 1 (None: the model
            file's recommendation, 1 if it has none).
        save_kernel: blind restoration: write each estimated kernel, after its output, as a PNG picture and a
            ``.npy`` array: a ``.png`` name for one input (the array beside it), a folder for several
            (``<output stem>_<extension>_kernel.png`` and ``.npy``, in the output's sub-folders). Every file of
            the run is checked before anything is restored: none may replace an input or another output.
        tile: tile side in pixels (None: 1024, the same on every machine; 0: the whole image at once).
        overlap: pixels shared by neighbouring tiles (blended).
        device: ``auto``, ``cpu``, ``cuda[:N]`` or ``mps``.
        half: half precision (CUDA only).
        quality: JPEG/WebP quality of the outputs.
        max_pixels: larger images are refused before they are decoded.
        overwrite: replace existing outputs (never an input).
    """

    output: Path | None = None
    out_dir: Path | None = None
    suffix: str = "_deblurred"
    recursive: bool = False
    model: Path | None = None
    kernel: Path | None = None
    kernel_weight: float | None = None
    kernel_size: int | None = None
    strength: float | None = None
    region: tuple[int, int, int, int] | None = None
    save_kernel: Path | None = None
    tile: int | None = None
    overlap: int = 32
    device: str = "auto"
    half: bool = False
    quality: int = 95
    max_pixels: float = 100e6
    overwrite: bool = False

    def __post_init__(self) -> None:
        for name in ("output", "out_dir", "model", "kernel", "save_kernel"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, Path(getattr(self, name)))
        if self.output is not None and self.out_dir is not None:
            raise ConfigError("give -o FILE or --out-dir DIR, not both")
        if self.kernel_weight is not None and not (math.isfinite(self.kernel_weight) and self.kernel_weight > 0):
            raise ConfigError(f"kernel_weight must be a positive number, got {self.kernel_weight}")
        check_kernel_bound(self.kernel_size)
        if self.strength is not None and not 0 <= self.strength <= 1:
            raise ConfigError(f"strength must be between 0 and 1, got {self.strength}")
        if self.kernel is not None and (
            self.kernel_size is not None or self.save_kernel is not None or self.region is not None
        ):
            raise ConfigError("--kernel-size, --region and --save-kernel are for estimated kernels: not with --kernel")
        if self.region is not None:
            region = tuple(self.region)
            if len(region) != 4 or any(not isinstance(v, int) for v in region) or min(region[:2]) < 0:
                raise ConfigError(f"region must be four whole numbers TOP, LEFT, HEIGHT, WIDTH, got {self.region}")
            if min(region[2:]) < 32:
                raise ConfigError(f"region must be at least 32 px on each side to estimate a kernel, got {region}")
            object.__setattr__(self, "region", region)
        if not 1 <= self.quality <= 100:
            raise ConfigError(f"quality must be between 1 and 100, got {self.quality}")
        if self.overlap < 0:
            raise ConfigError(f"overlap must be 0 or more pixels, got {self.overlap}")
        if self.tile is not None and self.tile != 0 and self.tile < MIN_TILE:
            raise ConfigError(f"tile must be 0 (whole images) or at least {MIN_TILE} pixels, got {self.tile}")
        if self.tile and self.overlap * 2 >= self.tile:
            raise ConfigError(
                f"overlap ({self.overlap}) must be less than half the tile ({self.tile}): "
                "pass a larger --tile or a smaller --overlap"
            )
        if not (math.isfinite(self.max_pixels) and self.max_pixels >= 1):
            raise ConfigError(f"max_pixels must be a positive number of pixels, got {self.max_pixels}")
        if any(sep in self.suffix for sep in ("/", "\\", "\0")):
            raise ConfigError(f"suffix must be part of a file name (no / or \\), got {self.suffix!r}")


@dataclass(frozen=True)
class BenchConfig:
    """What ``deblur bench`` and :func:`deblur.bench.benchmark` score, and where the tables go.

    Attributes:
        out: folder for the tables, plots and per-image CSV.
        pairs: a test set: a ``deblur synth`` folder (kernels known) or real pairs (``*/blur`` + ``*/sharp``,
            ``blur/`` + ``sharp/``, ``input/`` + ``target/``).
        sharp, kernels, noise: the non-blind protocol instead: sharp images, each blurred by every kernel of the
            bank (valid convolution) with Gaussian noise of this sigma.
        kernel_error: in the non-blind protocol, give the methods kernels perturbed at this strength (0 to 1,
            :func:`deblur.synth.kernels.perturb_kernels`) instead of the true ones: estimated kernels' errors.
        recenter: centre those perturbed kernels by their centre of mass before the methods see them, as
            ``deblur restore --kernel`` centres kernel files (their whole-pixel shifts then cancel).
        models: model files to score (None: the shipped default model when one is installed).
        blind: models with a kernel estimator estimate each image's kernel instead of being given it (the rows then
            carry the estimate's correlation with the true kernel).
        shift_tolerant: also report a shift-tolerant PSNR (best whole-pixel alignment within 3 px).
        results: other methods' saved outputs, ``{name: folder}``.
        baselines, unsupervised: Wiener, unsupervised Wiener, Richardson-Lucy and deblur's hyper-Laplacian
            deconvolution given the true kernel (where kernels are known); ``unsupervised`` is the slowest of them.
        wiener_balance, rl_iterations, hl_weight: their settings (``hl_weight`` None: from each image's noise).
        channel: ``rgb`` or ``y``, the channel of the per-group table.
        border: pixels cropped from every side before scoring.
        device: where models run (``auto``, ``cpu``, ``cuda[:N]``, ``mps``).
        tile: restore models' inputs in tiles of this side (None or 0: whole images).
        seed: seed of the protocol's noise and of unsupervised Wiener.
        limit: use only the first N images.
        plots: write the PSNR-vs-kernel-size plot and the crop grid (needs matplotlib).
        name: stem of the result files.
        overwrite: replace the result files of an earlier run with the same ``name`` in ``out``.
    """

    out: Path = Path("bench")
    pairs: Path | None = None
    sharp: Path | None = None
    kernels: Path | None = None
    noise: float = 0.01
    kernel_error: float = 0.0
    recenter: bool = False
    models: tuple[Path, ...] | None = None
    blind: bool = False
    shift_tolerant: bool = False
    results: dict[str, Path] = field(default_factory=dict)
    baselines: bool = True
    unsupervised: bool = True
    wiener_balance: float = 0.05
    rl_iterations: int = 20
    hl_weight: float | None = 7e-4
    channel: str = "rgb"
    border: int = 0
    device: str = "auto"
    tile: int | None = None
    seed: int = 0
    limit: int | None = None
    plots: bool = True
    name: str = "bench"
    overwrite: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        for name in ("pairs", "sharp", "kernels"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, Path(getattr(self, name)))
        if self.models is not None:
            object.__setattr__(self, "models", tuple(Path(m) for m in self.models))
        object.__setattr__(self, "results", {label: Path(folder) for label, folder in dict(self.results).items()})
        if (self.pairs is None) == (self.sharp is None):
            raise ConfigError("give a test set: --pairs DIR, or --sharp DIR with --kernels BANK")
        if self.sharp is not None and self.kernels is None:
            raise ConfigError("--sharp needs --kernels (a folder or file of kernels, e.g. Levin09.mat)")
        if self.border < 0:
            raise ConfigError(f"border must be 0 or more pixels, got {self.border}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be at least 1, got {self.limit}")
        if not 0 <= self.seed < 2**63:
            raise ConfigError(f"seed must be between 0 and 2^63 - 1, got {self.seed}")
        if not 0 <= self.kernel_error <= 1:
            raise ConfigError(f"kernel_error must be between 0 and 1, got {self.kernel_error}")
        if self.kernel_error and self.sharp is None:
            raise ConfigError("--kernel-error applies to the non-blind protocol (--sharp with --kernels)")
        if self.channel not in ("rgb", "y"):
            raise ConfigError(f"channel must be rgb or y, got {self.channel!r}")
