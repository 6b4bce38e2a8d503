"""Typed configuration objects shared by the Python API and the command line.

``jobs`` holds the dataclasses (one per job, validated in ``__post_init__``); ``loading`` turns dicts, TOML/JSON
files and command-line flags into them and back. Configs are saved beside every output they produce.
"""

from deblur.config.jobs import (
    CONV_METHODS,
    DEFAULT_TRAIN_SYNTH,
    GAN_MODELS,
    KERNEL_KINDS,
    OPTIM_KEYS,
    GANConfig,
    LossConfig,
    OptimConfig,
    Range,
    RestoreConfig,
    SynthConfig,
    TrainConfig,
)
from deblur.config.loading import (
    config_from_dict,
    config_to_dict,
    load_config,
    load_config_file,
    load_train_config,
    merge_settings,
    nest_flat_keys,
)

__all__ = [
    "CONV_METHODS",
    "DEFAULT_TRAIN_SYNTH",
    "GAN_MODELS",
    "KERNEL_KINDS",
    "OPTIM_KEYS",
    "GANConfig",
    "LossConfig",
    "OptimConfig",
    "Range",
    "RestoreConfig",
    "SynthConfig",
    "TrainConfig",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "load_config_file",
    "load_train_config",
    "merge_settings",
    "nest_flat_keys",
]
