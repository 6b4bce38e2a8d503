"""Endless, resumable batches for the deblurring trainer.

Every training crop is a pure function of ``(seed, key)``: the key numbers the crops of a run (0, 1, 2, ...), and a
generator seeded from it picks the photo, the window and the flips. So the position of a run is one integer, a
resumed run sees exactly the crops the uninterrupted run would have, and data-loader workers (which only decode and
crop) change nothing. With several processes (DDP), rank ``r`` of ``n`` takes keys ``r, r + n, r + 2n, ...``.

Blur is not added here: :class:`SynthPairs` degrades each batch of sharp crops on the training device with
``deblur.synth`` (parameters drawn from a CPU generator seeded from the batch number, then applied
deterministically), so blurring runs where the model trains, not in data-loader workers. Real (blurred, sharp) pairs
need no synthesis: :class:`CropBatches` serves their aligned crops as they are (:func:`real_pair_sources` lists them).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from deblur.config import SynthConfig
from deblur.data.folders import find_pairs, random_crop_box, random_flip, skipped_summary
from deblur.errors import DeblurWarning, ImageError
from deblur.io import image_size, list_images, read_image
from deblur.ops.conv import crop_valid
from deblur.synth.degrade import degrade, sample_params
from deblur.synth.kernels import perturb_kernels, sample_uniform

Batch = dict[str, torch.Tensor]


def key_generator(seed: int, key: int) -> torch.Generator:
    """A CPU generator for item ``key`` of a run seeded with ``seed`` (distinct streams for distinct pairs)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + key) % 2**63)


def usable_images(folders: tuple[Path, ...] | list[Path], crop: int) -> list[Path]:
    """Images under ``folders`` (recursive, sorted) at least ``crop`` pixels on both sides; others are skipped with one
    warning that counts them."""
    files: list[Path] = []
    small: list[str] = []
    for folder in folders:
        if not Path(folder).is_dir():
            raise ImageError(f"{folder} is not a folder: give a folder of sharp photos")
        for path in list_images(folder):
            height, width = image_size(path)
            if min(height, width) < crop:
                small.append(f"{path} ({height}x{width})")
            else:
                files.append(path)
    if small:
        warnings.warn(skipped_summary(small, crop), DeblurWarning, stacklevel=2)
    if not files:
        raise ImageError(f"no images of at least {crop}x{crop} pixels under {', '.join(map(str, folders))}")
    return files


def decode_source(source: Path | tuple[Path, Path], crop: int) -> tuple[torch.Tensor, ...]:
    """A training source's image(s), decoded and checked: a pair's two images have one size, at least ``crop``.

    Raises:
        ImageError: an image that cannot be decoded, a pair of two sizes, or an image smaller than the crop.
    """
    paths = source if isinstance(source, tuple) else (source,)
    images = tuple(read_image(p) for p in paths)
    if any(image.shape != images[0].shape for image in images):
        raise ImageError(f"{paths[0]} and {paths[1]} differ in size: pairs must be aligned")
    if min(images[0].shape[-2:]) < crop:
        raise ImageError(f"{paths[0]} is smaller than the {crop} px crop")
    return images


def check_sources(sources: list[Path] | list[tuple[Path, Path]], crop: int) -> None:
    """Decode every source once, before step 1: a photo whose header is valid but whose pixels are not (a truncated
    file, damaged compressed data), or a pair of two sizes, fails here rather than part-way through a run (where
    ``--resume`` would meet it again at the same step).

    Raises:
        ImageError: the first source that :func:`decode_source` refuses.
    """
    for source in sources:
        decode_source(source, crop)


class KeyedCrops(Dataset):
    """Item ``key`` is a random crop (with a random dihedral flip) of one of ``sources``, chosen by ``(seed, key)``.

    Args:
        sources: one path per image, or a tuple of aligned paths (blurred, sharp) per pair.
        crop: crop side.
        seed: run seed.
        cache: keep decoded images in memory (per worker process).

    Returns (per item):
        ``{"sharp": (3, crop, crop)}`` for single images, ``{"blurred": ..., "sharp": ...}`` for pairs.
    """

    def __init__(self, sources: list[Path] | list[tuple[Path, Path]], crop: int, seed: int, cache: bool = True) -> None:
        if not sources:
            raise ImageError("no training images")
        self.sources, self.crop, self.seed, self.cache = sources, crop, seed, cache
        self._cache: dict[int, tuple[torch.Tensor, ...]] = {}

    def __len__(self) -> int:  # keys are unbounded; the sampler provides them
        return 2**62

    def _load(self, index: int) -> tuple[torch.Tensor, ...]:
        if index in self._cache:
            return self._cache[index]
        images = decode_source(self.sources[index], self.crop)
        if self.cache:
            self._cache[index] = images
        return images

    def __getitem__(self, key: int) -> dict[str, torch.Tensor]:
        generator = key_generator(self.seed, key)
        index = int(torch.randint(len(self.sources), (1,), generator=generator))
        images = self._load(index)
        top, left = random_crop_box(images[0].shape[-2], images[0].shape[-1], self.crop, generator)
        crops = [image[:, top : top + self.crop, left : left + self.crop] for image in images]
        crops = random_flip(*crops, generator=generator)
        if len(crops) == 1:
            return {"sharp": crops[0]}
        return {"blurred": crops[0], "sharp": crops[1]}


class KeySampler(Sampler[int]):
    """Keys ``start, start + 1, ...`` (for this rank: ``key * world + rank``), forever."""

    def __init__(self, start: int, rank: int = 0, world: int = 1) -> None:
        self.start, self.rank, self.world = start, rank, world

    def __iter__(self) -> Iterator[int]:
        key = self.start
        while True:
            yield key * self.world + self.rank
            key += 1

    def __len__(self) -> int:
        return 2**62


class CropBatches:
    """Endless batches of :class:`KeyedCrops`, resumable from the number of batches served.

    Args:
        dataset: the crops.
        batch_size: crops per batch.
        device: where batches are delivered.
        workers: data-loader processes (0: load in this process).
        rank, world: this process's place among DDP processes.
    """

    def __init__(
        self,
        dataset: KeyedCrops,
        batch_size: int,
        device: torch.device | str = "cpu",
        workers: int = 0,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        self.dataset, self.batch_size, self.device = dataset, batch_size, torch.device(device)
        self.workers, self.rank, self.world = workers, rank, world
        self.served = 0
        self._iterator: Iterator[Batch] | None = None

    def _start(self) -> Iterator[Batch]:
        loader = DataLoader(
            self.dataset,
            batch_size=self.batch_size,
            sampler=KeySampler(self.served * self.batch_size, self.rank, self.world),
            num_workers=self.workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
            prefetch_factor=4 if self.workers else None,
        )
        return iter(loader)

    def __iter__(self) -> CropBatches:
        return self

    def __next__(self) -> Batch:
        if self._iterator is None:
            self._iterator = self._start()
        batch = next(self._iterator)
        self.served += 1
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def state_dict(self) -> dict[str, Any]:
        return {"served": self.served}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.served, self._iterator = int(state["served"]), None


class SynthPairs:
    """Batches ``{"blurred", "sharp", "kernel"}``: sharp crops degraded on their device with ``synth``, and the
    true kernel of each sample ``(B, k, k)`` (for kernel-aware models and kernel losses).

    The degradation of batch ``n`` is drawn from a CPU generator seeded from ``(seed, n)`` (per rank), so it is
    reproducible and survives a resume.
    """

    def __init__(self, crops: CropBatches, synth: SynthConfig, seed: int) -> None:
        self.crops, self.synth, self.seed = crops, synth, seed

    def __iter__(self) -> SynthPairs:
        return self

    def __next__(self) -> Batch:
        number = self.crops.served * self.crops.world + self.crops.rank
        sharp = next(self.crops)["sharp"]
        params = sample_params(self.synth, sharp.shape[0], key_generator(self.seed + 7919, number), sharp.device)
        blurred = degrade(sharp, params)
        if self.synth.valid:
            sharp = crop_valid(sharp, self.synth.size)
        kernel = params.kernels
        if self.synth.kernel_error[1] > 0:  # an estimator's errors: the model gets a perturbed kernel
            generator = key_generator(self.seed + 104729, number)
            strength = sample_uniform(len(kernel), self.synth.kernel_error, generator)
            strength = strength * (torch.rand(len(kernel), generator=generator) < self.synth.kernel_error_share)
            kernel = perturb_kernels(kernel, strength, generator)
        return {"blurred": blurred, "sharp": sharp, "kernel": kernel}

    def state_dict(self) -> dict[str, Any]:
        return self.crops.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.crops.load_state_dict(state)


def real_pair_sources(root: str | Path) -> list[tuple[Path, Path]]:
    """(blurred, sharp) paths of a paired folder (see :func:`deblur.data.folders.find_pairs`)."""
    return find_pairs(root)
