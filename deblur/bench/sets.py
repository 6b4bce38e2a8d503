"""Test sets for ``deblur bench``: ``deblur synth`` folders (kernels known), paired folders (GoPro, blur/ + sharp/,
input/ + target/) and the non-blind protocol (sharp images times a kernel bank, valid convolution).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from deblur.errors import ConfigError, DeblurError, ImageError
from deblur.io import list_images, pixels_to_tensor, read_photo
from deblur.ops.conv import crop_valid


class BenchError(DeblurError):
    """A test set or a results folder that cannot be scored as asked."""


@dataclass
class BenchItem:
    """One test image: the blurred input, its sharp target (same size), and what is known about it.

    ``name`` is the relative name without extension; other methods' outputs are matched by it.
    ``group`` is the kernel kind, kernel name or scene (the per-group table's columns).
    """

    name: str
    blurred: torch.Tensor
    sharp: torch.Tensor
    group: str
    kernel: np.ndarray | None = None
    bit_depth: int = 8
    given_kernel: np.ndarray | None = None

    @property
    def kernel_size(self) -> int | None:
        return kernel_extent(self.kernel) if self.kernel is not None else None

    @property
    def method_kernel(self) -> np.ndarray | None:
        """The kernel that non-blind methods are given: the true one, or a perturbed one (an estimator's errors,
        the protocol's ``kernel_error``)."""
        return self.given_kernel if self.given_kernel is not None else self.kernel


def kernel_extent(kernel: np.ndarray, threshold: float = 0.02) -> int:
    """The side of the smallest square holding every kernel entry of at least ``threshold`` times its peak."""
    rows, cols = np.nonzero(kernel >= threshold * kernel.max())
    return int(max(rows.max() - rows.min(), cols.max() - cols.min()) + 1)


def read_with_depth(path: Path, max_pixels: int | None) -> tuple[torch.Tensor, int]:
    """An image as float RGB ``(3, H, W)`` in [0, 1] (as :func:`deblur.io.read_image` reads it) and its bit depth."""
    photo = read_photo(path, max_pixels)
    return pixels_to_tensor(photo.pixels), photo.bit_depth


def _check_pair(name: str, blurred: torch.Tensor, sharp: torch.Tensor) -> None:
    if blurred.shape != sharp.shape:
        raise BenchError(
            f"{name}: blurred {tuple(blurred.shape[1:])} and sharp {tuple(sharp.shape[1:])} differ in size; "
            "the sharp image must be cropped to the blurred one (deblur synth --valid does this)"
        )


def load_test_set(path: str | Path, max_pixels: int | None = None, limit: int | None = None) -> list[BenchItem]:
    """A ``deblur synth`` folder (with its kernels) or a paired folder (GoPro, blur/sharp, input/target).

    Raises:
        BenchError: not a test set, or a pair whose images differ in size.
    """
    from deblur.data.folders import find_pairs

    root = Path(path)
    if not root.is_dir():
        raise BenchError(f"{root} is not a folder: give a deblur synth output or a folder of blur/ + sharp/ pairs")
    manifest = root / "manifest.json"
    items: list[BenchItem] = []
    if manifest.is_file():
        try:
            entries = json.loads(manifest.read_text())["items"]
        except (OSError, ValueError, KeyError) as exc:
            raise BenchError(f"{manifest} is not a deblur synth manifest ({exc}): re-run deblur synth") from exc
        for entry in entries[:limit]:
            blurred, depth = read_with_depth(root / entry["blurred"], max_pixels)
            sharp, _ = read_with_depth(root / entry["sharp"], max_pixels)
            _check_pair(str(root / entry["blurred"]), blurred, sharp)
            kernel = np.load(root / entry["kernel"], allow_pickle=False).astype(np.float64)
            items.append(BenchItem(entry["name"], blurred, sharp, entry.get("kind", "synthetic"), kernel, depth))
        return items
    try:
        pairs = find_pairs(root)
    except ImageError as exc:
        raise BenchError(str(exc)) from exc
    for degraded, target in pairs[:limit]:
        scene = degraded.parent.parent
        name = degraded.relative_to(scene).with_suffix("").as_posix().split("/", 1)[1]
        if scene != root:
            name = f"{scene.relative_to(root).as_posix()}/{name}"
        blurred, depth = read_with_depth(degraded, max_pixels)
        sharp, _ = read_with_depth(target, max_pixels)
        _check_pair(str(degraded), blurred, sharp)
        group = scene.relative_to(root).as_posix() if scene != root else "pairs"
        items.append(BenchItem(name, blurred, sharp, group, None, depth))
    return items


def nonblind_set(
    sharp: str | Path,
    kernels: str | Path,
    noise: float = 0.01,
    seed: int = 0,
    limit: int | None = None,
    max_pixels: int | None = None,
    kernel_error: float = 0.0,
    recenter: bool = False,
) -> list[BenchItem]:
    """The non-blind protocol: every sharp image blurred by every kernel of a bank (valid convolution, so the
    sharp target is cropped to the blurred image), plus Gaussian noise of ``noise`` (on [0, 1]) drawn from
    ``seed`` and the item's index, clipped to [0, 1] as a camera would (kept as floats, not rounded).

    With ``kernel_error`` > 0 the methods are given the true kernel perturbed at that strength
    (:func:`deblur.synth.kernels.perturb_kernels`, drawn from ``seed`` and the item's index): the table of an
    imperfectly estimated kernel. The blur itself always uses the true kernel. With ``recenter`` each perturbed
    kernel is then centred by its centre of mass, as ``deblur restore --kernel`` centres every kernel file, so
    that its whole-pixel shift (which only translates every method's output) is undone.

    Item names are ``<image>_<kernel>``; groups are the kernel names.
    """
    from deblur.data.pairs import key_generator
    from deblur.ops.psf import center_kernel
    from deblur.synth.bank import kernel_label, read_kernel_bank
    from deblur.synth.kernels import perturb_kernels

    if noise < 0:
        raise ConfigError(f"noise must be >= 0, got {noise}")
    if not 0 <= kernel_error <= 1:
        raise ConfigError(f"kernel_error must be between 0 and 1, got {kernel_error}")
    bank = read_kernel_bank(kernels)
    files = list_images(sharp)
    if not files:
        raise BenchError(f"no images under {sharp}")
    items = []
    for image_path in files[:limit]:
        image, depth = read_with_depth(image_path, max_pixels)
        stem = image_path.relative_to(sharp).with_suffix("").as_posix() if Path(sharp).is_dir() else image_path.stem
        for kernel_name, kernel in bank:
            size_h, size_w = kernel.shape
            if min(image.shape[-2:]) <= max(size_h, size_w):
                raise BenchError(f"{image_path} is smaller than kernel {kernel_name} ({size_h}x{size_w})")
            weight = torch.from_numpy(kernel[::-1, ::-1].copy()).float()
            blurred = F.conv2d(image[:, None], weight[None, None])[:, 0]  # true convolution, valid part
            target = crop_valid(image, size_h)  # bank kernels sit on odd square canvases
            generator = key_generator(seed, len(items))
            blurred = (blurred + noise * torch.randn(blurred.shape, generator=generator)).clamp(0, 1)
            label = kernel_label(kernel_name)
            given = None
            if kernel_error > 0:
                true = torch.from_numpy(np.ascontiguousarray(kernel, dtype=np.float32))[None]
                error_generator = key_generator(seed + 104729, len(items))
                given = perturb_kernels(true, kernel_error, error_generator)[0].double().numpy()
                if recenter:
                    given = center_kernel(torch.from_numpy(given)).numpy()
            item = BenchItem(f"{stem}_{label}", blurred, target.contiguous(), label, kernel, depth, given)
            items.append(item)
    return items
