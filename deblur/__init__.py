"""deblur: remove blur from photographs with adversarial networks.

The public Python API: ``restore`` (deblur an array or tensor) and ``restore_files`` (what ``deblur restore``
runs), ``load_model`` and ``create_net`` (self-describing model files and the network registry), the configs of
every job, and image I/O. Training lives in ``deblur.train`` (``deblur.train.deblurring.train``,
``deblur.train.gan.train_gan``), blur synthesis in ``deblur.synth``, the physics in ``deblur.ops``. The command line
(``deblur --help``) is a thin layer over these functions.
"""

from __future__ import annotations

from deblur.config import (
    GANConfig,
    LossConfig,
    OptimConfig,
    RestoreConfig,
    SynthConfig,
    TrainConfig,
    config_from_dict,
    config_to_dict,
    load_config,
    load_train_config,
)
from deblur.errors import DeblurError
from deblur.io import read_image, write_image
from deblur.nets import create_net
from deblur.restoration import load_restorer, restore, restore_files
from deblur.version import __version__
from deblur.weights import load_model, save_model

__all__ = [
    "DeblurError",
    "GANConfig",
    "LossConfig",
    "OptimConfig",
    "RestoreConfig",
    "SynthConfig",
    "TrainConfig",
    "__version__",
    "config_from_dict",
    "config_to_dict",
    "create_net",
    "load_config",
    "load_model",
    "load_restorer",
    "load_train_config",
    "read_image",
    "restore",
    "restore_files",
    "save_model",
    "write_image",
]
