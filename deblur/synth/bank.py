"""Kernel banks: blur kernels read from files, centred, and sampled. A bank is a folder of kernel files or a single file
(:mod:`deblur.io.kernels` reads and validates them: PNG, NPY, MATLAB v5 and v7.3). Every kernel is moved by whole pixels
so that its centre of mass is within half a pixel of the middle of an odd canvas (:func:`deblur.ops.psf.center_kernel`):
integer shifts keep the kernel exact, and a centred kernel does not shift the image it blurs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from deblur.errors import KernelBankError
from deblur.io.kernels import list_kernel_files, read_kernel_file
from deblur.ops.conv import check_kernel_size
from deblur.ops.psf import center_kernel


def kernel_label(name: str) -> str:
    """A short, file-name-safe label for a kernel's source name: ``.../levin_1.npy`` -> ``levin_1``,
    ``.../Levin09.mat:kernels{3}`` -> ``Levin09_kernels_3``, ``.../bank.npy[2]`` -> ``bank_2``."""
    import re

    file, _, inner = name.partition(":")
    file, _, index = file.partition("[")
    label = "_".join(part for part in (Path(file).stem, inner, index) if part)
    return re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_")


def read_kernel_bank(path: str | Path) -> list[tuple[str, np.ndarray]]:
    """Every kernel of a bank (folder or file, see :func:`deblur.io.kernels.list_kernel_files`) as ``(source name,
    kernel)`` pairs in file-name order: validated, normalised to sum 1 and centred, float64 ``(k, k)``, odd ``k``.

    Raises:
        KernelBankError: missing path, a file that is not a kernel, bad content, or an empty bank.
    """
    return [
        (name, center_kernel(torch.from_numpy(kernel)).numpy())
        for file in list_kernel_files(path)
        for name, kernel in read_kernel_file(file)
    ]


class KernelBank:
    """A fixed set of kernels, padded to one odd canvas, sampled uniformly.

    Args:
        kernels: ``(name, kernel)`` pairs as returned by :func:`read_kernel_bank`.

    Attributes:
        names: where each kernel came from.
        kernels: ``(N, K, K)`` float32, ``K`` the largest kernel's side.
    """

    def __init__(self, kernels: list[tuple[str, np.ndarray]]) -> None:
        self.names = [name for name, _ in kernels]
        side = max(k.shape[0] for _, k in kernels)
        stack = np.zeros((len(kernels), side, side), dtype=np.float32)
        for i, (_, kernel) in enumerate(kernels):
            pad = (side - kernel.shape[0]) // 2
            stack[i, pad : pad + kernel.shape[0], pad : pad + kernel.shape[0]] = kernel
        self.kernels = torch.from_numpy(stack)

    @classmethod
    def from_path(cls, path: str | Path) -> KernelBank:
        """Read and validate a bank from a folder or file (cached per path and modification time)."""
        path = Path(path).expanduser().resolve()
        if not path.exists():
            raise KernelBankError(f"kernel bank {path} does not exist: give a folder of PNG/NPY files or a .mat file")
        return _cached_bank(str(path), path.stat().st_mtime_ns)

    @property
    def side(self) -> int:
        """Side ``K`` of the largest kernel."""
        return int(self.kernels.shape[-1])

    def __len__(self) -> int:
        return int(self.kernels.shape[0])

    def fit(self, size: int) -> torch.Tensor:
        """All kernels on a ``size`` canvas, ``(N, size, size)``.

        Raises:
            KernelBankError: some kernel is larger than ``size``.
        """
        check_kernel_size(size)
        if size < self.side:
            raise KernelBankError(
                f"the kernel bank holds kernels up to {self.side} px: use a kernel size >= {self.side}"
            )
        pad = (size - self.side) // 2
        return torch.nn.functional.pad(self.kernels, (pad, pad, pad, pad))

    def indices(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(batch,)`` uniformly drawn kernel indices."""
        device = generator.device if generator is not None else None
        return torch.randint(len(self), (batch,), generator=generator, device=device)

    def sample(
        self,
        batch: int,
        size: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """``(batch, size, size)`` kernels drawn uniformly from the bank, the sampler signature of every kind."""
        return self.fit(size)[self.indices(batch, generator).cpu()].to(device)


@lru_cache(maxsize=8)
def _cached_bank(path: str, mtime_ns: int) -> KernelBank:
    return KernelBank(read_kernel_bank(path))


__all__ = ["KernelBank", "read_kernel_bank"]
