"""Endless, resumable streams of training batches.

A training run is step-based: it asks for the next batch as often as it needs. Each stream draws its randomness
from its own seeded generator and can save and restore its position (``state_dict``), so that a resumed run sees
exactly the batches the uninterrupted run would have seen.
"""

from __future__ import annotations

from typing import Any

import torch


class TensorBatches:
    """Shuffled minibatches from in-memory tensors, epoch after epoch.

    The permutation of epoch ``e`` comes from ``seed + e``, so the position ``(epoch, index)`` is the whole state.

    Args:
        images: ``(N, C, H, W)``.
        labels: ``(N,)`` or ``None``.
        batch_size: samples per batch (the last partial batch of an epoch is dropped).
        seed: seed of the shuffling.
        device: where batches are delivered.

    Yields:
        ``{"image": (B, C, H, W), "label": (B,)}`` (no ``"label"`` without labels).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor | None = None,
        batch_size: int = 64,
        seed: int = 0,
        device: torch.device | str = "cpu",
    ) -> None:
        if batch_size > len(images):
            raise ValueError(f"batch size {batch_size} is larger than the data set ({len(images)} samples)")
        self.images, self.labels = images, labels
        self.batch_size, self.seed, self.device = batch_size, seed, torch.device(device)
        self.epoch, self.index = 0, 0
        self._order = self._permutation(0)

    def _permutation(self, epoch: int) -> torch.Tensor:
        return torch.randperm(len(self.images), generator=torch.Generator().manual_seed(self.seed + epoch))

    def __iter__(self) -> TensorBatches:
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        if self.index + self.batch_size > len(self.images):
            self.epoch, self.index = self.epoch + 1, 0
            self._order = self._permutation(self.epoch)
        chosen = self._order[self.index : self.index + self.batch_size]
        self.index += self.batch_size
        batch = {"image": self.images[chosen].to(self.device, non_blocking=True)}
        if self.labels is not None:
            batch["label"] = self.labels[chosen].to(self.device, non_blocking=True)
        return batch

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "index": self.index, "seed": self.seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.seed, self.epoch, self.index = int(state["seed"]), int(state["epoch"]), int(state["index"])
        self._order = self._permutation(self.epoch)


class PatchBatches:
    """Random square patches (with random flips) from a list of images of any sizes.

    Args:
        images: list of ``(C, H, W)`` tensors, each at least ``patch`` pixels on both sides.
        patch: patch side.
        batch_size: patches per batch.
        seed: seed of the patch positions and flips.
        device: where batches are delivered.

    Yields:
        ``{"image": (B, C, patch, patch)}``.
    """

    def __init__(
        self,
        images: list[torch.Tensor],
        patch: int,
        batch_size: int = 64,
        seed: int = 0,
        device: torch.device | str = "cpu",
    ) -> None:
        small = [i for i, image in enumerate(images) if min(image.shape[-2:]) < patch]
        if small or not images:
            raise ValueError(f"{len(small)} of {len(images)} images are smaller than the {patch} px patches")
        self.images, self.patch, self.batch_size = images, patch, batch_size
        self.device = torch.device(device)
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self) -> PatchBatches:
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        which = torch.randint(len(self.images), (self.batch_size,), generator=self.generator).tolist()
        flips = torch.randint(0, 2, (self.batch_size, 2), generator=self.generator).tolist()
        patches = []
        for index, (flip_x, flip_y) in zip(which, flips, strict=True):
            image = self.images[index]
            top = int(torch.randint(image.shape[-2] - self.patch + 1, (1,), generator=self.generator))
            left = int(torch.randint(image.shape[-1] - self.patch + 1, (1,), generator=self.generator))
            patch = image[:, top : top + self.patch, left : left + self.patch]
            patch = patch.flip(-1) if flip_x else patch
            patches.append(patch.flip(-2) if flip_y else patch)
        return {"image": torch.stack(patches).to(self.device, non_blocking=True)}

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
