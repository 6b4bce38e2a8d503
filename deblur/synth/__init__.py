"""Blur synthesis: kernels (``kernels``, ``bank``), degradations (``degrade``) and whole folders (``folder``)."""

from __future__ import annotations

from deblur.synth.bank import KernelBank, read_kernel_bank
from deblur.synth.degrade import (
    Blur,
    DegradeParams,
    add_noise,
    blur,
    crop_valid,
    degrade,
    jpeg_compress,
    kernel_sampler,
    make_pairs,
    sample_params,
)
from deblur.synth.kernels import (
    SAMPLERS,
    center_of_mass,
    disk_kernels,
    gaussian_kernels,
    kernel_grid,
    line_kernels,
    random_anisotropic_kernels,
    random_defocus_kernels,
    random_gaussian_kernels,
    random_motion_kernels,
    random_trajectory_kernels,
    rasterize_path,
    shake_paths,
)

__all__ = [
    "SAMPLERS",
    "Blur",
    "DegradeParams",
    "KernelBank",
    "add_noise",
    "blur",
    "center_of_mass",
    "crop_valid",
    "degrade",
    "disk_kernels",
    "gaussian_kernels",
    "jpeg_compress",
    "kernel_grid",
    "kernel_sampler",
    "line_kernels",
    "make_pairs",
    "random_anisotropic_kernels",
    "random_defocus_kernels",
    "random_gaussian_kernels",
    "random_motion_kernels",
    "random_trajectory_kernels",
    "rasterize_path",
    "read_kernel_bank",
    "sample_params",
    "shake_paths",
]
