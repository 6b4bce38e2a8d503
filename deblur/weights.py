"""Model files: safetensors weights plus JSON metadata that says how to rebuild the network.

A model file holds a network's ``state_dict`` and one metadata entry, ``deblur``: JSON with one schema for every
task (:data:`METADATA_KEYS`): the format version, the package version (``deblur_version``), the ``task`` (``gan`` or
``deblur``), the network spec (``net``: ``{"name": ..., fields}``, see ``deblur.nets``), the training ``config``,
the ``data`` it saw, its ``metrics``, ``steps`` and the run ``checkpoint`` it came from, plus whatever the writer
adds. Files written before this schema (GAN files with ``gan`` and ``step``, deblurring files with ``train`` and
``synth``) are read into it by :func:`upgrade_metadata`. Loading rebuilds the network from the spec, checks every
tensor name and shape against it, then loads strictly. safetensors files contain no code, so loading one cannot run any.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from deblur.errors import DeblurError
from deblur.io import atomic_write_bytes
from deblur.nets import net_from_spec, net_spec
from deblur.version import __version__

MODEL_FORMAT = "deblur-model/1"
METADATA_KEYS = ("format", "deblur_version", "task", "net", "config", "data", "metrics", "steps", "checkpoint")
"""The keys every model file written by this version has (``disc``, the discriminator's spec, may follow)."""


class ModelFileError(DeblurError):
    """A model file that cannot be loaded."""


def save_model(
    path: str | Path, net: nn.Module, metadata: dict[str, Any] | None = None, overwrite: bool = True
) -> Path:
    """Write ``net`` (built with ``create_net``) and ``metadata`` to a ``.safetensors`` file, atomically."""
    from safetensors.torch import save

    info = {"format": MODEL_FORMAT, "deblur_version": __version__, "net": net_spec(net), **(metadata or {})}
    tensors = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
    return atomic_write_bytes(path, save(tensors, metadata={"deblur": json.dumps(info)}), overwrite=overwrite)


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``deblur`` metadata of a model file, without loading its tensors."""
    from safetensors import safe_open

    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder: give a model file (.safetensors; deblur export writes one)")
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = (handle.metadata() or {}).get("deblur")
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise ModelFileError(f"{path} is not a readable safetensors file: {exc}") from exc
    if raw is None:
        raise ModelFileError(f"{path} has no deblur metadata: it was not written by deblur")
    try:
        info = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(f"{path} has corrupt deblur metadata: {exc}") from exc
    if not isinstance(info, dict):
        raise ModelFileError(f"{path} has corrupt deblur metadata: a table was expected")
    if info.get("format") != MODEL_FORMAT:
        raise ModelFileError(f"{path} has format {info.get('format')!r}; this deblur reads {MODEL_FORMAT}")
    return upgrade_metadata(info)


def upgrade_metadata(info: dict[str, Any]) -> dict[str, Any]:
    """Metadata of a model file or run checkpoint in today's schema: ``gan``/``train`` become ``config`` (with the
    ``task`` they imply), ``step`` becomes ``steps``, and the copy of ``config.synth`` that deblurring files kept at
    the top level goes. Metadata already in the schema comes back unchanged.

    Example:
        >>> upgrade_metadata({"gan": {"model": "mlp"}, "step": 3})
        {'config': {'model': 'mlp'}, 'task': 'gan', 'steps': 3}
    """
    info = dict(info)
    for old, task in (("gan", "gan"), ("train", "deblur")):
        if old in info and "config" not in info:
            info["config"] = info.pop(old)
            info.setdefault("task", task)
    if isinstance(info.get("config"), dict) and info.get("synth") == info["config"].get("synth"):
        info.pop("synth", None)
    if "step" in info and "steps" not in info:
        info["steps"] = info.pop("step")
    return info


def load_model(path: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the network of a model file and load its weights (names and shapes checked first).

    Returns:
        ``(net in eval mode on device, metadata)``.

    Raises:
        ModelFileError: missing or unreadable file, unknown network, or tensors that do not fit it.
    """
    from safetensors import safe_open
    from safetensors.torch import load_file

    info = read_metadata(path)
    spec = info.get("net")
    try:
        with torch.device("meta"):  # the architecture's shapes, without allocating a single weight
            skeleton = net_from_spec(spec)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"{path} describes a network this deblur cannot build: {exc}") from exc
    expected = {name: tuple(t.shape) for name, t in skeleton.state_dict().items()}
    try:
        with safe_open(str(path), framework="pt") as handle:
            shapes = {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}  # noqa: SIM118
    except Exception as exc:
        raise ModelFileError(f"{path} has unreadable tensors: {exc}") from exc
    missing, unexpected = sorted(set(expected) - set(shapes)), sorted(set(shapes) - set(expected))
    if missing or unexpected:
        raise ModelFileError(f"{path} does not match its network: missing {missing[:3]}, unexpected {unexpected[:3]}")
    wrong = [k for k in expected if expected[k] != shapes[k]]
    if wrong:
        raise ModelFileError(
            f"{path}: tensor {wrong[0]} has shape {shapes[wrong[0]]}, the network expects {expected[wrong[0]]}"
        )
    net = net_from_spec(spec)  # now that the file's tensors are known to fit it
    try:
        tensors = load_file(str(path))
    except Exception as exc:
        raise ModelFileError(f"{path} has unreadable tensors: {exc}") from exc
    net.load_state_dict(tensors, strict=True)
    return net.to(device).eval(), info
