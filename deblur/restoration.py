"""Restoration: run a deblurring model over images of any size, tile by tile, with seamless blending.

An image is cut into overlapping tiles; each tile is restored with ``overlap`` pixels of context on every inner
side, and the tiles are blended with weights that ramp linearly across each overlap (a partition of unity), so no
seam shows. Whole-image and tiled results differ by far less than one 8-bit level (a test checks < 0.5/255 on
average). Memory stays bounded by the tile size: a 24-megapixel photo needs the image, one accumulator and one
tile's activations.

:func:`restore` is the Python API: it takes a NumPy array ``(H, W[, C])`` (uint8, uint16 or float) or a tensor
``(C, H, W)`` / ``(B, C, H, W)`` and returns the same kind, dtype and shape. Grey images are restored as RGB and
converted back; an alpha channel passes through unchanged. :func:`restore_files` is what ``deblur restore`` runs:
inputs (files, folders, globs) to outputs, one file at a time, each written atomically.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from deblur.config import RestoreConfig, check_kernel_bound
from deblur.device import resolve_device
from deblur.errors import ConfigError, DeblurError
from deblur.io import IMAGE_EXTENSIONS, from_float, list_images, to_float

DEFAULT_MODEL_NAME = "deblur_default.safetensors"
DEFAULT_TILE = 512
DEFAULT_OVERLAP = 32


def default_model_path() -> Path:
    """The shipped default model: ``$DEBLUR_MODEL`` if set, else ``models/deblur_default.safetensors`` in the
    package (wheel) or beside it in a source checkout."""
    if os.environ.get("DEBLUR_MODEL"):
        return Path(os.environ["DEBLUR_MODEL"])
    here = Path(__file__).resolve().parent
    for candidate in (here / "models" / DEFAULT_MODEL_NAME, here.parent / "models" / DEFAULT_MODEL_NAME):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no default model ({DEFAULT_MODEL_NAME}) is installed: pass --model PATH (train one with `deblur train` and "
        "`deblur export`) or set DEBLUR_MODEL"
    )


_LOADED: dict[tuple[str, int, int, str], tuple[nn.Module, dict]] = {}
"""Model files loaded for inference, by (path, size, modification time, device): a script that calls
:func:`restore` photo after photo reads the file once."""


def load_restorer(model: str | Path | None = None, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Load a deblurring model file (the default model when ``model`` is None) for inference on ``device``; a file
    already loaded (and unchanged since) is not read again."""
    from deblur.weights import ModelFileError, load_model

    path = default_model_path() if model is None else Path(model)
    device = resolve_device(device)
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, str(device))
    except OSError:
        key = None  # load_model says what is wrong with the path
    if key in _LOADED:
        return _LOADED[key]
    net, info = load_model(path, device)
    if info.get("task") != "deblur":
        raise ModelFileError(f"{path} is not a deblurring model (it holds a {info['net']['name']})")
    _check_restores(net, path, info)
    loaded = net.to(memory_format=torch.channels_last).requires_grad_(False), info
    if key is not None:
        _LOADED.clear()  # one model kept: the last one asked for
        _LOADED[key] = loaded
    return loaded


def _check_restores(net: nn.Module, path: Path, info: dict) -> None:
    """A model file may hold any network with task "deblur" in its metadata: check on a tiny input that this one
    maps an image to an image of the same size (a discriminator, say, does not)."""
    from deblur.weights import ModelFileError

    side = 16 * int(getattr(net, "multiple", 1))
    probe = torch.zeros(1, 3, side, side, device=_module_device(net))
    args = (probe, torch.ones(1, 1, 1, device=probe.device)) if getattr(net, "takes_kernel", False) else (probe,)
    try:
        with torch.no_grad():
            out = net(*args)
    except Exception as exc:
        raise ModelFileError(f"{path} holds a {info['net'].get('name')} that cannot restore images: {exc}") from exc
    if not isinstance(out, torch.Tensor) or out.shape != probe.shape:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ModelFileError(
            f"{path} holds a {info['net'].get('name')}, which maps a {tuple(probe.shape)} image to {shape}: "
            "not a deblurring model"
        )


def load_kernel(path: str | Path) -> torch.Tensor:
    """One blur kernel (point-spread function) from a PNG/TIFF/BMP picture or a ``.npy`` array: validated, made
    to sum to 1 and moved by whole pixels so that its centre of mass is the middle of an odd square canvas (any
    size and shape goes in). Returns ``(k, k)`` float32.

    Raises:
        KernelBankError: unreadable file or bad content (named in the message), or a file holding several kernels.
    """
    from deblur.errors import KernelBankError
    from deblur.io import read_kernel_file
    from deblur.ops.psf import center_kernel

    kernels = read_kernel_file(path)
    if len(kernels) != 1:
        raise KernelBankError(f"{path} holds {len(kernels)} kernels: give a file with one kernel")
    return center_kernel(torch.from_numpy(kernels[0][1])).float()


class WithKernel(nn.Module):
    """A kernel-aware network with its kernel fixed: ``module(blurred) = net(blurred, kernel)``, so that tiling,
    :func:`restore` and :func:`restore_files` treat it as any restorer."""

    def __init__(self, net: nn.Module, kernel: torch.Tensor) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("kernel", kernel.float()[None])

    def forward(self, blurred: torch.Tensor) -> torch.Tensor:
        return self.net(blurred, self.kernel.expand(len(blurred), -1, -1))


class KernelDeconvolution(nn.Module):
    """Non-blind restoration with a known kernel: :func:`deblur.ops.deconv.hl_deconv` (hyper-Laplacian prior,
    unknown border) with the kernel fixed; ``weight`` None sets the prior weight from each input's noise
    (``7 sigma^2``)."""

    def __init__(self, kernel: torch.Tensor, weight: float | None = None) -> None:
        super().__init__()
        self.register_buffer("kernel", kernel.float()[None])
        self.weight = weight

    def forward(self, blurred: torch.Tensor) -> torch.Tensor:
        from deblur.ops.deconv import hl_deconv

        return hl_deconv(blurred, self.kernel, weight=self.weight)


MIN_CONFIDENCE = 0.7
"""Blind restoration leaves an image as it is when the self-check's confidence (the agreement of kernels estimated
on the left and right parts of its window, :func:`deblur.ops.estimate.estimate_with_check`) is below this. Chosen on
photos/val20 (80 images: its photos x motion, camera-shake, Gaussian and defocus kernels on a 45 px canvas, 1%
noise, restored by kernel_aware_cpu): no floor gave +2.34 dB and 4 images more than 0.3 dB below their input
(camera shake estimated at kernel correlation 0.2-0.7, confidence 0.41-0.68); 0.55 gave +1.97 dB and 1 such image;
0.7 gave +1.84 dB and none. (Retrying a failed estimate with a smaller size bound rescued scikit-image's clock but
made 2 of those 80 images worse: not done; ``--kernel-size`` sets the bound.)"""


@dataclass
class BlindEstimate:
    """What blind restoration found for one image."""

    kernel: torch.Tensor  # (k, k), the estimated kernel (a delta when no blur was found)
    confidence: float  # the self-check's agreement, in [0, 1]
    blur_free: bool  # no blur worth removing: the image is returned as it is
    applied: float  # how much of the restoration was applied: 0 (the input returned) to the strength asked for


class BlindRestorer:
    """A kernel-aware model with a kernel estimator (its spec's ``estimator``): each image's kernel is estimated
    once from the whole image, then the image is deconvolved and refined tile by tile with that kernel.

    It never trusts an estimate blindly: an image found blur-free, or whose self-check confidence is below
    ``min_confidence``, comes back unchanged, and ``strength`` blends the result toward the input
    (``input + strength (restored - input)``).
    """

    def __init__(
        self,
        net: nn.Module,
        kernel_size: int | None = None,
        strength: float = 1.0,
        min_confidence: float = MIN_CONFIDENCE,
    ) -> None:
        check_kernel_bound(kernel_size)
        if not 0 <= strength <= 1:
            raise ConfigError(f"strength must be between 0 and 1, got {strength}")
        self.net, self.kernel_size, self.strength, self.min_confidence = net, kernel_size, strength, min_confidence

    def estimate(self, image: torch.Tensor) -> BlindEstimate:
        """The kernel of one image ``(1, 3, H, W)`` and what to do with it."""
        kernels, confidence = self.net.estimate(image.float().cpu(), self.kernel_size)
        kernel, trust = kernels[0], float(confidence[0])
        blur_free = bool(kernel.max() >= 1 - 1e-6)
        applied = 0.0 if blur_free or trust < self.min_confidence else self.strength
        return BlindEstimate(kernel, trust, blur_free, applied)

    @torch.inference_mode()
    def restore(
        self, image: torch.Tensor, tile: int | None, overlap: int, half: bool = False
    ) -> tuple[torch.Tensor, list[BlindEstimate]]:
        """Restore ``(B, 3, H, W)`` images, each with its own estimated kernel; returns them and the estimates."""
        results, estimates = [], []
        device = _module_device(self.net)
        for one in image.split(1):
            estimate = self.estimate(one)
            estimates.append(estimate)
            given = one.float().clamp(0, 1)
            if estimate.applied == 0:
                results.append(given)
                continue
            restorer = WithKernel(self.net, estimate.kernel).to(device)
            restored = restore_tensor(restorer, one, tile, max(overlap, estimate.kernel.shape[-1]), half)
            results.append(given + estimate.applied * (restored - given))
        return torch.cat(results), estimates


def blind_settings(info: dict[str, Any]) -> dict[str, float]:
    """The blind restoration settings a model file recommends (its metadata's ``blind``, written by ``deblur export
    --blind --strength S --min-confidence C``): ``{"strength": S, "min_confidence": C}``, by default 1 and
    :data:`MIN_CONFIDENCE`."""
    given = info.get("blind") or {}
    return {
        "strength": float(given.get("strength", 1.0)),
        "min_confidence": float(given.get("min_confidence", MIN_CONFIDENCE)),
    }


def prepare_restorer(
    model: nn.Module | str | Path | None = None,
    kernel: torch.Tensor | np.ndarray | str | Path | None = None,
    device: str | torch.device = "cpu",
    kernel_weight: float | None = None,
    kernel_size: int | None = None,
    strength: float | None = None,
) -> tuple[nn.Module | BlindRestorer, dict[str, Any], int]:
    """What a restoration runs: ``(module(blurred) -> restored, its description, the least tile overlap)``.

    A model (file, loaded network, or None for the shipped default) restores as it is; with a known ``kernel``
    (a ``(k, k)`` array or a kernel file) a kernel-aware model gets it, and without a model the kernel is
    deconvolved (:class:`KernelDeconvolution`, prior weight ``kernel_weight`` or from the noise). A kernel-aware
    model with an estimator and no kernel restores blind: a :class:`BlindRestorer` (``kernel_size`` bounds the
    estimated kernel, ``strength`` blends toward the input; None takes the model file's, see :func:`blind_settings`).

    Raises:
        ConfigError: a kernel-aware model without a kernel or an estimator, or a kernel for a model that takes
            none.
    """
    device = resolve_device(device)
    if kernel is not None and not isinstance(kernel, torch.Tensor):
        kernel = load_kernel(kernel) if isinstance(kernel, (str, Path)) else torch.as_tensor(np.asarray(kernel))
    if kernel is not None and model is None:
        info = {"task": "deblur", "net": {"name": "hl_deconv"}}
        return KernelDeconvolution(kernel, kernel_weight).to(device), info, kernel.shape[-1]
    if isinstance(model, nn.Module):
        # channels_last weights, as load_restorer gives: with NCHW weights every convolution converts them per call
        # (measured 1.4x the bare network at 720p, against 1.1x)
        net = model.to(memory_format=torch.channels_last)
        info = {"task": "deblur", "net": dict(getattr(model, "spec", {"name": type(model).__name__}))}
    else:
        net, info = load_restorer(model, device)
    takes_kernel = bool(getattr(net, "takes_kernel", False))
    name = model if isinstance(model, (str, Path)) else "the default model" if model is None else "this network"
    if takes_kernel and kernel is None:
        if getattr(net, "estimator", None) is not None:
            chosen = blind_settings(info)
            strength = chosen["strength"] if strength is None else strength
            return BlindRestorer(net, kernel_size, strength, chosen["min_confidence"]), info, 0
        raise ConfigError(f"{name} is kernel-aware: pass the blur kernel with --kernel PSF")
    if kernel is not None and not takes_kernel:
        raise ConfigError(f"{name} takes no kernel: give --kernel without --model to deconvolve with it")
    if kernel is None:
        return net, info, 0
    return WithKernel(net, kernel).to(device), info, kernel.shape[-1]


def _module_device(net: nn.Module) -> torch.device:
    for tensor in (*net.parameters(), *net.buffers()):
        return tensor.device
    return torch.device("cpu")


def _ramp(length: int, overlap: int, start: bool, end: bool) -> torch.Tensor:
    """1-D blending weights: linear ramps over the first/last ``overlap`` samples where a neighbour tile overlaps."""
    weights = torch.ones(length)
    ramp = (torch.arange(overlap, dtype=torch.float32) + 0.5) / overlap
    if start and overlap:
        weights[:overlap] = ramp
    if end and overlap:
        weights[length - overlap :] = ramp.flip(0)
    return weights


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    """Tile origins along one axis: stride ``tile - overlap``, the last tile flush with the end."""
    if size <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, size - tile, stride))
    return starts + [size - tile]


@torch.inference_mode()
def restore_tensor(
    net: nn.Module,
    image: torch.Tensor,
    tile: int | None = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    half: bool = False,
    on_tile: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """Restore ``(B, 3, H, W)`` float images in [0, 1] with ``net``, tiled; returns float32 on the input's device.

    Args:
        net: a deblurring generator (``restored = net(blurred)``), on its device.
        image: the blurred images.
        tile: tile side (None or 0: the whole image at once).
        overlap: pixels shared by neighbouring tiles (blended).
        half: run the network in fp16 autocast (CUDA only; ignored elsewhere).
        on_tile: called as ``on_tile(done, total)`` after each tile (progress).
    """
    device = _module_device(net)
    batch, channels, height, width = image.shape
    if not tile or (height <= tile and width <= tile):
        out = _run(net, image.to(device), half).to(image.device)
        if on_tile:
            on_tile(1, 1)
        return out
    if overlap * 2 >= tile:
        raise ConfigError(f"overlap ({overlap}) must be less than half the tile size ({tile})")
    tile_h, tile_w = min(tile, height), min(tile, width)
    rows, cols = _starts(height, tile_h, overlap), _starts(width, tile_w, overlap)
    total = len(rows) * len(cols)
    result = torch.zeros(batch, channels, height, width, dtype=torch.float32, device=image.device)
    weight = torch.zeros(1, 1, height, width, dtype=torch.float32, device=image.device)
    done = 0
    for top in rows:
        for left in cols:
            piece = image[..., top : top + tile_h, left : left + tile_w].to(device)
            restored = _run(net, piece, half).to(image.device)
            w = (
                _ramp(tile_h, overlap, top > 0, top + tile_h < height)[:, None]
                * _ramp(tile_w, overlap, left > 0, left + tile_w < width)[None, :]
            )
            w = w.to(image.device)
            result[..., top : top + tile_h, left : left + tile_w] += restored * w
            weight[..., top : top + tile_h, left : left + tile_w] += w
            done += 1
            if on_tile:
                on_tile(done, total)
    return result / weight


def _run(net: nn.Module, image: torch.Tensor, half: bool) -> torch.Tensor:
    # channels_last runs 3x3 convolutions about 1.3x faster on CPUs (benchmarks/results/restore_speed_cpu.md)
    image = image.contiguous(memory_format=torch.channels_last)
    if half and image.device.type == "cuda":
        with torch.autocast("cuda", dtype=torch.float16):
            return net(image.float()).float().clamp(0, 1)
    return net(image.float()).float().clamp(0, 1)


def _to_float_rgb(array: np.ndarray) -> tuple[torch.Tensor, dict[str, Any]]:
    """``(H, W[, C])`` array -> ``(1, 3, H, W)`` float tensor in [0, 1] and what is needed to convert back."""
    info: dict[str, Any] = {
        "dtype": array.dtype,
        "ndim": array.ndim,
        "channels": 1 if array.ndim == 2 else array.shape[2],
    }
    values, info["scale"] = to_float(array)
    if values.ndim == 2:
        values = values[..., None]
    if values.shape[2] not in (1, 2, 3, 4):
        raise ConfigError(f"images must have 1 to 4 channels, got {values.shape[2]}")
    colour = values[..., :3] if values.shape[2] >= 3 else values[..., :1].expand(-1, -1, 3)
    info["alpha"] = values[..., -1:] if values.shape[2] in (2, 4) else None
    return colour.permute(2, 0, 1)[None], info  # channels_last already: the layout the network runs in


def _from_float_rgb(restored: torch.Tensor, info: dict[str, Any]) -> np.ndarray:
    rgb = restored[0].permute(1, 2, 0).cpu()
    colour = rgb.mean(dim=2, keepdim=True) if info["channels"] in (1, 2) else rgb
    if info["alpha"] is not None:
        colour = torch.cat([colour, info["alpha"]], dim=2)
    if info["ndim"] == 2:
        colour = colour[..., 0]
    return from_float(colour, info["dtype"])


def restore(
    image: np.ndarray | torch.Tensor,
    model: nn.Module | str | Path | None = None,
    tile: int | str | None = "auto",
    overlap: int = DEFAULT_OVERLAP,
    device: str | torch.device = "auto",
    half: bool = False,
    kernel: torch.Tensor | np.ndarray | str | Path | None = None,
    kernel_size: int | None = None,
    strength: float | None = None,
    estimates: list | None = None,
) -> np.ndarray | torch.Tensor:
    """Deblur one image (or a batch of tensors) and return the same kind, shape and dtype.

    Args:
        image: a NumPy array ``(H, W)`` or ``(H, W, C)`` (uint8, uint16, or float in [0, 1]; C = 1, 2, 3 or 4 with
            alpha last), or a float tensor ``(C, H, W)`` / ``(B, C, H, W)`` in [0, 1] with C = 1, 3 or 4.
        model: a loaded network, a model file, or None for the shipped default model.
        tile, overlap: tiled inference (see :func:`restore_tensor`); ``tile="auto"`` picks the tile from the free
            memory of the device (:func:`auto_tile`), so that a photo that fits is restored in one piece.
        device: where the network runs (``auto``: CUDA, then MPS, then CPU).
        half: half precision on CUDA.
        kernel: the blur kernel when it is known (a ``(k, k)`` array or a kernel file): for a kernel-aware model,
            or, with ``model=None``, for non-blind deconvolution (see :func:`prepare_restorer`).
        kernel_size, strength: for blind restoration (a model with a kernel estimator and no ``kernel``): the
            estimated kernel's size bound (odd; None: the model's) and the blend toward the input (0 to 1; None:
            the model's, see :func:`blind_settings`).
        estimates: a list that receives each image's :class:`BlindEstimate` (blind restoration only).

    Example:
        >>> import numpy as np
        >>> from deblur.nets import create_net
        >>> net = create_net("unet", width=4, depth=2, blocks=1).eval()
        >>> restore(np.zeros((8, 8, 3), np.uint8), net).shape
        (8, 8, 3)
    """
    where = _module_device(model) if isinstance(model, nn.Module) else device  # a loaded net stays where it is
    if isinstance(model, BlindRestorer):
        net, reach = model, 0
    else:
        net, _, reach = prepare_restorer(model, kernel, where, kernel_size=kernel_size, strength=strength)
    overlap = max(overlap, reach)
    if tile == "auto":
        tile = auto_tile(_module_device(net.net if isinstance(net, BlindRestorer) else net))

    def run(colour: torch.Tensor) -> torch.Tensor:
        if isinstance(net, BlindRestorer):
            restored, found = net.restore(colour, tile, overlap, half)
            if estimates is not None:
                estimates.extend(found)
            return _finite(restored)
        return _finite(restore_tensor(net, colour, tile, overlap, half))

    if isinstance(image, np.ndarray):
        colour, info = _to_float_rgb(image)
        return _from_float_rgb(run(colour), info)
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"restore takes a NumPy array or a torch tensor, got {type(image).__name__}")
    batched = image.ndim == 4
    x = image if batched else image[None]
    channels = x.shape[1]
    if channels not in (1, 3, 4):
        raise ConfigError(f"tensors must have 1, 3 or 4 channels, got {channels}")
    colour = x[:, :3] if channels >= 3 else x.expand(-1, 3, -1, -1)
    restored = run(colour.float())
    if channels == 1:
        restored = restored.mean(1, keepdim=True)
    elif channels == 4:
        restored = torch.cat([restored, x[:, 3:].float()], dim=1)
    restored = restored.to(image.dtype)
    return restored if batched else restored[0]


def _finite(restored: torch.Tensor) -> torch.Tensor:
    if not bool(torch.isfinite(restored).all()):
        raise NonFiniteOutput("the model returned NaN or infinite values")
    return restored


BYTES_PER_PIXEL = 1200
"""Rough peak memory of the default network per input pixel in inference (float32 activations and workspace)."""


def auto_tile(device: torch.device, bytes_per_pixel: int = BYTES_PER_PIXEL) -> int:
    """A tile side that fits a quarter of the free memory of ``device`` (a multiple of 64, 256 to 2048 px)."""
    free = None
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
    else:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            free = None
    if not free:
        return DEFAULT_TILE
    side = int((free * 0.25 / bytes_per_pixel) ** 0.5)
    return max(256, min(2048, side - side % 64))


def output_path(source: Path, root: Path | None, out_dir: Path | None, suffix: str) -> Path:
    """Where the restored ``source`` goes: beside it with ``suffix`` added to the stem, or under ``out_dir``
    (mirroring its place below ``root`` when it came from a folder)."""
    if out_dir is None:
        return source.with_name(f"{source.stem}{suffix}{source.suffix}")
    relative = source.relative_to(root) if root is not None else Path(source.name)
    return out_dir / relative


def collect_inputs(
    inputs: Sequence[str | Path], recursive: bool = False, skip_suffix: str | None = None
) -> tuple[list[tuple[Path, Path | None]], list[str]]:
    """``(file, folder it came from)`` for every input file, folder (``recursive``: with sub-folders) or glob, and
    one message for each input that names nothing (a missing path, a glob that matches no image, a folder with no
    image). Files of a folder whose stem ends with ``skip_suffix`` (earlier outputs written beside their inputs)
    are left out."""
    found: list[tuple[Path, Path | None]] = []
    errors: list[str] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            images = list_images(path, recursive=recursive)
            kept = [p for p in images if not (skip_suffix and p.stem.endswith(skip_suffix))]
            found += [(p, path) for p in kept]
            if not kept:
                what = "image" if not images else f"image that is not an earlier output (*{skip_suffix})"
                hint = "" if recursive or images else " (pass -r to include its sub-folders)"
                errors.append(f"{raw}: no {what} in this folder{hint}")
        elif path.is_file():
            found.append((path, None))
        elif any(c in str(raw) for c in "*?["):
            matches = sorted(Path(m) for m in glob.glob(str(raw), recursive=recursive))
            files = [m for m in matches if m.is_file() and m.suffix.lower() in IMAGE_EXTENSIONS]
            found += [(m, None) for m in files]
            if not files:
                errors.append(f"{raw}: no images match")
        else:
            errors.append(f"{raw}: no such file or folder")
    return found, errors


class NonFiniteOutput(DeblurError):
    """A model returned NaN or infinite values."""


@dataclass
class RestoreReport:
    """What :func:`restore_files` did: the ``(input, output)`` pairs written, one message per failed input, the
    model's metadata and how many inputs it tried."""

    written: list[tuple[Path, Path]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)
    total: int = 0
    estimates: list[tuple[Path, BlindEstimate]] = field(default_factory=list)  # blind restoration's, per input


def save_kernel(kernel: torch.Tensor, path: Path, overwrite: bool = False) -> tuple[Path, Path]:
    """Write a kernel as a picture (``path``, 16-bit PNG scaled to its peak) and as ``path`` with ``.npy`` (the
    values, summing to 1), each atomically; returns both paths."""
    from deblur.io import atomic_write_bytes, encode_npy, write_image

    kernel = kernel.detach().float().cpu()
    picture, values = path.with_suffix(".png"), path.with_suffix(".npy")
    picture.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(values, encode_npy(kernel.numpy()), overwrite=overwrite)
    write_image(picture, (kernel / kernel.max().clamp(min=1e-12))[None], bit_depth=16, overwrite=overwrite)
    return picture, values


def _kernel_path(option: Path, output: Path, count: int) -> Path:
    """Where ``--save-kernel`` writes an output's kernel: the given file for one input, else inside the folder."""
    if count == 1 and not option.is_dir():
        return option
    return option / f"{output.stem}_kernel.png"


def restore_files(
    inputs: Sequence[str | Path], config: RestoreConfig | None = None, progress: bool = False
) -> RestoreReport:
    """Restore image files, folders and globs as ``deblur restore`` does: read (format, size and animation
    checked first), restore, encode (bit depth, alpha, EXIF and ICC kept) and write each output atomically.

    A file that cannot be read or written is reported in ``report.errors`` and the others go on; existing outputs
    are kept unless ``config.overwrite``, and an input is never replaced.

    Args:
        inputs: files, folders or glob patterns.
        config: outputs, model, tiling, device (see :class:`deblur.config.RestoreConfig`).
        progress: show a progress bar over several files.

    Raises:
        ConfigError: settings that cannot work (``-o`` with several inputs); ModelFileError: a bad model.
    """
    from tqdm import tqdm

    from deblur.io import Photo, atomic_write_bytes, encode_photo, read_photo

    config = config or RestoreConfig()
    if config.out_dir is not None and config.out_dir.exists() and not config.out_dir.is_dir():
        raise ConfigError(f"--out-dir {config.out_dir} is a file: give a folder for the outputs")
    beside = config.output is None and config.out_dir is None  # outputs written next to their inputs
    files, errors = collect_inputs(inputs, config.recursive, skip_suffix=config.suffix if beside else None)
    if config.out_dir is not None:  # an output folder inside an input folder: its files are outputs, not inputs
        outputs = config.out_dir.resolve()
        files = [(f, root) for f, root in files if root is None or not f.resolve().is_relative_to(outputs)]
    if config.output is not None and len(files) != 1:
        raise ConfigError(f"-o takes one input image, got {len(files)}: use --out-dir for several")
    device = resolve_device(config.device)
    net, info, reach = prepare_restorer(
        config.model, config.kernel, device, config.kernel_weight, config.kernel_size, config.strength
    )
    if config.save_kernel is not None and not isinstance(net, BlindRestorer):
        raise ConfigError("--save-kernel needs blind restoration: a model with a kernel estimator and no --kernel")
    overlap = max(config.overlap, reach)  # each tile sees the whole kernel's reach of context
    tile = auto_tile(device) if config.tile is None else config.tile
    report = RestoreReport(errors=errors, model=info, total=len(files))
    claimed: dict[Path, Path] = {}  # output -> the input it is written for
    model_name = str(config.model) if config.model is not None else "the default model"
    for source, root in tqdm(files, desc="restore", unit="image", disable=not progress or len(files) < 2):
        target = config.output or output_path(source, root, config.out_dir, config.suffix)
        try:
            resolved = target.resolve()
            if resolved == source.resolve():
                raise DeblurError(f"{target} is the input: choose another output name")
            if resolved in claimed:
                raise DeblurError(
                    f"{source}: its output {target} is also the output of {claimed[resolved]}: "
                    "restore them to different folders"
                )
            claimed[resolved] = source
            if target.exists() and not config.overwrite:
                raise DeblurError(f"{target} already exists: pass --overwrite to replace it")
            photo = read_photo(source, int(config.max_pixels))
            found: list[BlindEstimate] = []
            pixels = restore(photo.pixels, net, tile=tile, overlap=overlap, half=config.half, estimates=found)
            data = encode_photo(
                Photo(pixels, photo.format, photo.exif, photo.icc_profile), target.suffix, config.quality
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            if config.save_kernel is not None and found:
                save_kernel(found[0].kernel, _kernel_path(config.save_kernel, target, len(files)), config.overwrite)
            atomic_write_bytes(target, data, overwrite=config.overwrite)
            report.written.append((source, target))
            report.estimates.extend((source, estimate) for estimate in found)
        except NonFiniteOutput:
            report.errors.append(f"{source}: {model_name} returned NaN or infinite values: the model is broken")
        except (DeblurError, OSError) as exc:
            if isinstance(exc, DeblurError):
                message = str(exc)
            elif exc.filename and Path(exc.filename) != source:  # the output's name or folder is at fault
                message = f"{source}: cannot write {exc.filename}: {exc.strerror or exc}"
            else:
                message = f"{source}: {exc.strerror or exc}"
            named = str(source) in message or str(target) in message
            report.errors.append(message if named else f"{source}: {message}")
        except MemoryError:
            report.errors.append(f"{source}: not enough memory to restore it: pass a smaller --tile")
        except Exception as exc:  # one bad file must never cost the others
            report.errors.append(f"{source}: {type(exc).__name__}: {exc} (unexpected: please report it)")
    return report
