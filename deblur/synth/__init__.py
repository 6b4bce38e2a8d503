"""Blur synthesis: kernels (``kernels``, ``bank``), degradations (``degrade``) and whole folders (``folder``).

The public names of each submodule are its ``__all__``; the convolution itself (``blur``, ``Blur``, ``crop_valid``)
lives in :mod:`deblur.ops.conv` and is re-exported here.
"""

from __future__ import annotations

from deblur.ops.conv import Blur, blur, crop_valid
from deblur.synth import bank as _bank
from deblur.synth import degrade as _degrade
from deblur.synth import kernels as _kernels
from deblur.synth.bank import *  # noqa: F403
from deblur.synth.degrade import *  # noqa: F403
from deblur.synth.kernels import *  # noqa: F403

__all__ = ["Blur", "blur", "crop_valid", *_bank.__all__, *_degrade.__all__, *_kernels.__all__]
