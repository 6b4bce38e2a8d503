"""deblur: remove blur from photographs with adversarial networks.

The public Python API: ``restore`` (deblur an array or tensor), configs, blur synthesis (kernels and
degradations), datasets and image I/O. The command
line (``deblur --help``) is a thin layer over these functions.
"""

from __future__ import annotations

__version__ = "0.1.0"

from deblur.config import SynthConfig, config_from_dict, config_to_dict
from deblur.errors import DeblurError
from deblur.io import read_image, write_image
from deblur.restoration import load_restorer, restore

__all__ = [
    "DeblurError",
    "SynthConfig",
    "__version__",
    "config_from_dict",
    "config_to_dict",
    "load_restorer",
    "restore",
    "read_image",
    "write_image",
]
