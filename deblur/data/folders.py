"""Image-folder datasets returning dicts of tensors.

:class:`SharpFolder` serves random crops of sharp photos; blur is synthesised afterwards, per batch, on the
training device (``deblur.synth``), not in data-loader workers. :class:`PairedFolder` serves aligned crops of real
(blurred, sharp) pairs in the GoPro layout (``*/blur/*`` with ``*/sharp/*``) or ``input/`` with ``target/``.

Random crops and flips use torch's global generator: ``DataLoader`` seeds it in each worker from the loader's
``generator``, and in the main process (``num_workers=0``) ``torch.manual_seed`` does, so a seeded run repeats.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch.utils.data import Dataset

from deblur.errors import DeblurWarning, ImageError
from deblur.io import image_size, list_images, read_image

PAIR_LAYOUTS = (("blur", "sharp"), ("blur_gamma", "sharp"), ("input", "target"), ("blurred", "sharp"))
"""Folder-name pairs recognised as (degraded, ground truth), tried in this order."""


def random_crop_box(height: int, width: int, crop: int, generator: torch.Generator | None = None) -> tuple[int, int]:
    """Top-left corner of a uniformly random ``crop x crop`` window (``generator``, or torch's global one)."""
    top = int(torch.randint(0, height - crop + 1, (1,), generator=generator))
    left = int(torch.randint(0, width - crop + 1, (1,), generator=generator))
    return top, left


def random_flip(*images: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
    """The same random dihedral transform (flips and transpose) applied to every image ``(C, H, W)``."""
    flips = torch.randint(0, 2, (3,), generator=generator).tolist()
    out = []
    for image in images:
        if flips[0]:
            image = image.flip(-1)
        if flips[1]:
            image = image.flip(-2)
        if flips[2]:
            image = image.transpose(-2, -1)
        out.append(image.contiguous())
    return tuple(out)


def skipped_summary(small: list[str], crop: int, shown: int = 3) -> str:
    """One line on the photos skipped as smaller than the crop: how many, and the first ``shown`` of them."""
    more = f" and {len(small) - shown} more" if len(small) > shown else ""
    verb = "is" if len(small) == 1 else "are"
    noun = "photo" if len(small) == 1 else "photos"
    return f"skipped {len(small)} {noun}: {', '.join(small[:shown])}{more} {verb} smaller than the {crop} px crop"


class SharpFolder(Dataset):
    """Random square crops of the sharp photos under a folder (recursive).

    Images smaller than the crop are skipped with one warning that counts them. With ``cache=True`` decoded images
    stay in memory (useful for small folders, when decoding would dominate a step).

    Args:
        root: folder of JPEG/PNG/TIFF/WebP/BMP images.
        crop: side of the square crops; ``None`` returns whole images (batch size 1 then).
        flip: random flips and transposition.
        cache: keep decoded images in memory.

    Returns (per item):
        ``{"sharp": (3, crop, crop) float32 in [0, 1], "index": int}``.
    """

    def __init__(self, root: str | Path, crop: int | None = 256, flip: bool = True, cache: bool = False) -> None:
        self.root = Path(root)
        self.crop, self.flip, self.cache = crop, flip, cache
        files = list_images(self.root)
        if crop is not None:
            kept, small = [], []
            for path in files:
                height, width = image_size(path)
                if min(height, width) < crop:
                    small.append(f"{path} ({height}x{width})")
                else:
                    kept.append(path)
            if small:
                warnings.warn(skipped_summary(small, crop), DeblurWarning, stacklevel=2)
            files = kept
        if not files:
            raise ImageError(f"no usable images under {self.root}" + (f" (at least {crop}x{crop})" if crop else ""))
        self.files = files
        self._cache: dict[int, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.files)

    def _load(self, index: int) -> torch.Tensor:
        if index in self._cache:
            return self._cache[index]
        image = read_image(self.files[index])
        if self.cache:
            self._cache[index] = image
        return image

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        image = self._load(index)
        if self.crop is not None:
            top, left = random_crop_box(image.shape[-2], image.shape[-1], self.crop)
            image = image[:, top : top + self.crop, left : left + self.crop]
        if self.flip:
            (image,) = random_flip(image)
        return {"sharp": image.contiguous(), "index": index}


def find_pairs(root: str | Path) -> list[tuple[Path, Path]]:
    """(degraded, sharp) file pairs under ``root``, matched by relative name within each layout folder.

    Recognises ``root/<scene>/blur/x.png`` + ``root/<scene>/sharp/x.png`` (GoPro), ``root/blur`` + ``root/sharp``
    and ``root/input`` + ``root/target``.

    Raises:
        ImageError: no layout found, or a degraded image without its sharp counterpart.
    """
    root = Path(root)
    if not root.is_dir():
        raise ImageError(f"{root} does not exist: give a folder in GoPro (blur/, sharp/) or input/ + target/ layout")
    pairs: list[tuple[Path, Path]] = []
    for degraded_name, sharp_name in PAIR_LAYOUTS:
        for degraded_dir in sorted({root / degraded_name, *root.glob(f"*/{degraded_name}")}):
            sharp_dir = degraded_dir.parent / sharp_name
            if not (degraded_dir.is_dir() and sharp_dir.is_dir()):
                continue
            for degraded in list_images(degraded_dir):
                relative = degraded.relative_to(degraded_dir)
                matches = [p for p in sharp_dir.glob(relative.with_suffix(".*").as_posix()) if p.is_file()]
                if not matches:
                    raise ImageError(f"{degraded} has no sharp counterpart {sharp_dir / relative.name}")
                sharp = sorted(matches)[0]
                (h, w), (sh, sw) = image_size(degraded), image_size(sharp)  # headers only
                if (h, w) != (sh, sw):
                    raise ImageError(
                        f"{degraded} ({h}x{w}) and {sharp} ({sh}x{sw}) differ in size: pairs must have the same size"
                    )
                pairs.append((degraded, sharp))
        if pairs:
            break
    if not pairs:
        raise ImageError(
            f"no image pairs under {root}: expected */blur/ + */sharp/ (GoPro), blur/ + sharp/ or input/ + target/"
        )
    return pairs


class PairedFolder(Dataset):
    """Aligned random crops of real (blurred, sharp) pairs.

    Args:
        root: a folder in one of the layouts of :func:`find_pairs`.
        crop: side of the square crops; ``None`` returns whole images.
        flip: the same random flips for both images.

    Returns (per item):
        ``{"blurred": (3, h, w), "sharp": (3, h, w), "index": int}``.
    """

    def __init__(self, root: str | Path, crop: int | None = 256, flip: bool = True) -> None:
        self.root = Path(root)
        self.crop, self.flip = crop, flip
        self.pairs = find_pairs(self.root)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        blurred_path, sharp_path = self.pairs[index]
        blurred, sharp = read_image(blurred_path), read_image(sharp_path)
        if blurred.shape != sharp.shape:
            raise ImageError(
                f"{blurred_path} is {blurred.shape[-2]}x{blurred.shape[-1]} but {sharp_path} is "
                f"{sharp.shape[-2]}x{sharp.shape[-1]}: pairs must have the same size"
            )
        if self.crop is not None:
            if min(blurred.shape[-2:]) < self.crop:
                raise ImageError(f"{blurred_path} is smaller than the {self.crop} px crop")
            top, left = random_crop_box(blurred.shape[-2], blurred.shape[-1], self.crop)
            blurred = blurred[:, top : top + self.crop, left : left + self.crop]
            sharp = sharp[:, top : top + self.crop, left : left + self.crop]
        if self.flip:
            blurred, sharp = random_flip(blurred, sharp)
        return {"blurred": blurred.contiguous(), "sharp": sharp.contiguous(), "index": index}
