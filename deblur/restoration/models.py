"""What restores: model files loaded for inference, known kernels, and the modules that apply them.

:func:`load_restorer` reads a deblurring model file once and checks that it maps images to images;
:func:`load_kernel` reads a kernel file; :class:`WithKernel` fixes a kernel-aware network's kernel and
:class:`KernelDeconvolution` deconvolves with a known kernel and no network, so that tiling treats each as any
``module(blurred) -> restored``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from torch import nn

from deblur.device import resolve_device
from deblur.errors import ConfigError, KernelBankError
from deblur.io import read_kernel_file
from deblur.ops.deconv import hl_deconv
from deblur.ops.psf import center_kernel
from deblur.restoration.tiling import module_device
from deblur.weights import ModelFileError, load_model

DEFAULT_MODEL_NAME = "deblur_default.safetensors"


def default_model_path() -> Path:
    """The shipped default model: ``$DEBLUR_MODEL`` if set, else ``models/deblur_default.safetensors`` in the
    package (wheel) or beside it in a source checkout."""
    if os.environ.get("DEBLUR_MODEL"):
        return Path(os.environ["DEBLUR_MODEL"])
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "models" / DEFAULT_MODEL_NAME, package.parent / "models" / DEFAULT_MODEL_NAME):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no default model ({DEFAULT_MODEL_NAME}) is installed: pass --model PATH (train one with `deblur train` and "
        "`deblur export`) or set DEBLUR_MODEL"
    )


_LOADED: dict[tuple[str, int, int, str], tuple[nn.Module, dict]] = {}
"""The last model file loaded, by (path, size, modification time, device): restoring photo after photo reads it once."""


def load_restorer(model: str | Path | None = None, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Load a deblurring model file (the default model when ``model`` is None) for inference on ``device``; a file
    already loaded (and unchanged since) is not read again."""
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


_CRITICS: dict[tuple[str, int, int, str], nn.Module] = {}
"""Critics loaded, by (path, size, modification time, device)."""


def load_critic(info: dict, model: str | Path | None, device: str | torch.device = "cpu") -> nn.Module | None:
    """The critic a blind model file names (its metadata's ``blind.critic``: a file beside the model), loaded for
    inference; None for a model that names none."""
    name = (info.get("blind") or {}).get("critic")
    if not name:
        return None
    model_path = default_model_path() if model is None else Path(model)
    path = model_path.parent / name
    if not path.is_file():
        raise ModelFileError(
            f"{model_path} needs its critic {name} beside it, and {path} is missing: copy it there with the model"
        )
    device = resolve_device(device)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, str(device))
    if key not in _CRITICS:
        net, meta = load_model(path, device)
        if meta.get("task") != "critic":
            raise ModelFileError(f"{path} is not a critic (it holds a {meta['net'].get('name')})")
        _CRITICS.clear()
        _CRITICS[key] = net.eval().requires_grad_(False)
    return _CRITICS[key]


def _check_restores(net: nn.Module, path: Path, info: dict) -> None:
    """A model file may hold any network with task "deblur" in its metadata: check on a tiny input that this one
    maps an image to an image of the same size (a discriminator, say, does not)."""
    side = 16 * int(getattr(net, "multiple", 1))
    probe = torch.zeros(1, 3, side, side, device=module_device(net))
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
        if weight is not None and not (math.isfinite(weight) and weight > 0):
            raise ConfigError(f"kernel_weight must be a positive number, got {weight}")
        self.register_buffer("kernel", kernel.float()[None])
        self.weight = weight

    def forward(self, blurred: torch.Tensor) -> torch.Tensor:
        return hl_deconv(blurred, self.kernel, weight=self.weight)
