"""Restoration: deblur arrays, tensors and image files with a model, a known kernel, or blind.

- :mod:`~deblur.restoration.pipeline`: :func:`restore` for arrays and tensors, and :func:`prepare_restorer`, which
  chooses what restores (a model as it is, a model given a kernel, deconvolution alone, or blind restoration);
- :mod:`~deblur.restoration.blind`: the one home of blind restoration (estimate, trust, strength);
- :mod:`~deblur.restoration.models`: model files loaded for inference, kernel files;
- :mod:`~deblur.restoration.tiling`: images of any size in blended tiles;
- :mod:`~deblur.restoration.files`: :func:`restore_files`, what ``deblur restore`` runs.
"""

from __future__ import annotations

from deblur.restoration.blind import MIN_CONFIDENCE, BlindEstimate, BlindRestorer, blind_settings
from deblur.restoration.files import RestoreReport, collect_inputs, output_path, restore_files, save_kernel
from deblur.restoration.models import (
    DEFAULT_MODEL_NAME,
    KernelDeconvolution,
    WithKernel,
    default_model_path,
    load_kernel,
    load_restorer,
)
from deblur.restoration.pipeline import NonFiniteOutput, prepare_restorer, restore
from deblur.restoration.tiling import DEFAULT_OVERLAP, DEFAULT_TILE, auto_tile, module_device, restore_tensor

__all__ = [
    "DEFAULT_MODEL_NAME",
    "DEFAULT_OVERLAP",
    "DEFAULT_TILE",
    "MIN_CONFIDENCE",
    "BlindEstimate",
    "BlindRestorer",
    "KernelDeconvolution",
    "NonFiniteOutput",
    "RestoreReport",
    "WithKernel",
    "auto_tile",
    "blind_settings",
    "collect_inputs",
    "default_model_path",
    "load_kernel",
    "load_restorer",
    "module_device",
    "output_path",
    "prepare_restorer",
    "restore",
    "restore_files",
    "restore_tensor",
    "save_kernel",
]
