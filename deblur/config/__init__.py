"""Typed configuration objects shared by the Python API and the command line.

``jobs`` holds the dataclasses of synthesis and training, ``applications`` those of restoration and benchmarks
(one per job, validated in ``__post_init__``); ``loading`` turns dicts, TOML/JSON files and command-line flags
into them and back. Configs are saved beside every output they produce.
"""

from deblur.config import applications, jobs, loading
from deblur.config.applications import *  # noqa: F403 - the names listed in applications.__all__
from deblur.config.jobs import *  # noqa: F403 - the names listed in jobs.__all__
from deblur.config.loading import *  # noqa: F403 - the names listed in loading.__all__

__all__ = [*jobs.__all__, *applications.__all__, *loading.__all__]
