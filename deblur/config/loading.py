"""Configs to and from plain dicts, TOML/JSON files and command-line flags.

:func:`config_from_dict` builds a config from a dict, checking every key and type with one-line errors that name
the field (and the file); tables become nested configs on top of the field's default. Flat names of nested
settings (``lr`` for ``optim.lr``, ``disc_width`` for ``disc.width``: a config's ``FLAT_KEYS``) are accepted, so
the command line keeps its flags and files written before the nested tables still load. :func:`load_config` and
:func:`load_train_config` read a file and put the flags given on top.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from deblur.config.jobs import TrainConfig
from deblur.errors import ConfigError

__all__ = [
    "config_from_dict",
    "config_to_dict",
    "coerce_value",
    "load_config",
    "load_config_file",
    "load_train_config",
    "merge_settings",
    "nest_flat_keys",
]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

C = TypeVar("C")


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (tuples become lists, paths strings).

    Example:
        >>> from deblur.config import SynthConfig
        >>> config_to_dict(SynthConfig())["size"]
        31
    """

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return config_to_dict(value)
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {key: plain(v) for key, v in value.items()}
        if isinstance(value, Path):
            return str(value)
        return value

    return {f.name: plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false", Path: "a path"}


def coerce_value(annotation: Any, value: Any, name: str, default: Any = None) -> Any:
    """Convert a JSON/TOML value to its annotated type (lists to tuples, strings to paths, tables to nested configs
    on top of the field's ``default``), or raise a :class:`ConfigError` naming the setting ``name`` when the value
    has the wrong type.

    Example:
        >>> coerce_value(tuple[int, ...], [8, 8], "hidden")
        (8, 8)
    """
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return None if value is None else coerce_value(args[0], value, name)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name} must be a list, got {value!r}")
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(coerce_value(args[0], v, name) for v in value)
        if len(args) != len(value):
            raise ConfigError(f"{name} must be a list of {len(args)} values, got {value!r}")
        return tuple(coerce_value(a, v, name) for a, v in zip(args, value, strict=True))
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be a table of settings, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(annotation):
        if isinstance(value, annotation):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be a table of settings, got {value!r}")
        base = config_to_dict(default) if isinstance(default, annotation) else {}
        return config_from_dict(annotation, {**base, **value})
    if annotation is Path and isinstance(value, (str, Path)):
        return Path(value)
    if annotation is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if annotation in (int, str, bool) and not (
        isinstance(value, annotation) and (annotation is bool) == isinstance(value, bool)
    ):
        raise ConfigError(f"{name} must be {_TYPE_NAMES[annotation]}, got {value!r}")
    if annotation in (float, Path):
        raise ConfigError(f"{name} must be {_TYPE_NAMES[annotation]}, got {value!r}")
    return value


def _field_default(item: dataclasses.Field) -> Any:
    if item.default is not dataclasses.MISSING:
        return item.default
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return None


def nest_flat_keys(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Move flat keys (``lr``, ``disc_width``: ``cls.FLAT_KEYS``) into their tables (``optim.lr``, ``disc.width``).

    Example:
        >>> nest_flat_keys(TrainConfig, {"lr": 1e-3, "disc_width": 32, "steps": 5})
        {'steps': 5, 'optim': {'lr': 0.001}, 'disc': {'width': 32}}
    """
    flat = getattr(cls, "FLAT_KEYS", {})
    nested = {key: dict(value) if key in _TABLES and isinstance(value, dict) else value for key, value in data.items()}
    for key in [k for k in data if k in flat]:
        table, sub = flat[key].split(".")
        target = nested.setdefault(table, {})
        if not isinstance(target, dict):
            raise ConfigError(f"{table} must be a table of settings, got {target!r}")
        if sub in target:
            raise ConfigError(f"{key} and {table}.{sub} are the same setting: give one of them")
        target[sub] = nested.pop(key)
    return nested


_TABLES = ("gen", "disc", "loss", "optim", "synth")


def merge_settings(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` on top, table by table (one level deep, as config tables are).

    Example:
        >>> merge_settings({"steps": 1, "optim": {"lr": 1.0, "ema": 0.9}}, {"optim": {"lr": 2.0}})
        {'steps': 1, 'optim': {'lr': 2.0, 'ema': 0.9}}
    """
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def config_from_dict(cls: type[C], data: dict[str, Any], source: str | Path | None = None) -> C:
    """Build a config dataclass from a plain dict, rejecting unknown keys (with the list of known ones) and values
    of the wrong type; ``source`` (the config file) is named in every error. Flat names of nested settings
    (``cls.FLAT_KEYS``, e.g. ``lr`` for ``optim.lr``) are accepted, so files written before the nested tables load.

    Example:
        >>> from deblur.config import GANConfig, SynthConfig
        >>> config_from_dict(SynthConfig, {"size": 21, "noise": [0.0, 0.02]}).noise
        (0.0, 0.02)
        >>> config_from_dict(GANConfig, {"lr": 1e-3}).optim.lr
        0.001
    """
    try:
        if not isinstance(data, dict):
            raise ConfigError(f"{cls.__name__} settings must be a table, got {data!r}")
        data = nest_flat_keys(cls, data)
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} key(s) {', '.join(unknown)}; known: {', '.join(sorted(fields))}")
        values = {key: coerce_value(hints[key], value, key, _field_default(fields[key])) for key, value in data.items()}
        return cls(**values)
    except ConfigError as exc:
        if source is None or str(source) in str(exc):
            raise
        raise ConfigError(f"{exc} (settings from {source} and the command line)") from exc


def load_config_file(path: str | Path, section: str | None = None) -> dict[str, Any]:
    """Read a TOML or JSON config file into a dict; ``section`` picks a table such as ``[synth]`` if present."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise ConfigError(f"config file {path} is not valid {kind}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a table of settings")
    if "task" in data and isinstance(data.get("config"), dict):
        data = data["config"]  # a run's config.json (or a model file's metadata): its settings
    if section is not None and section in data:
        if not isinstance(data[section], dict):
            raise ConfigError(f"[{section}] in config file {path} must be a table of settings")
        data = data[section]
    return data


def load_config(
    cls: type[C],
    path: str | Path | None = None,
    section: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> C:
    """A config from an optional TOML/JSON file (its ``[section]`` table if present; a run's ``config.json``
    gives its ``config``) with ``overrides`` on top: the command line's flags, flat or nested, where ``None`` (or an
    empty repeated option) means "not given".

    Example:
        >>> from deblur.config import GANConfig
        >>> load_config(GANConfig, overrides={"model": "mlp", "lr": 1e-3, "steps": None}).optim.lr
        0.001
    """
    values = load_config_file(path, section) if path is not None else {}
    return _with_flags(cls, values, overrides, path)


def load_train_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """The :class:`TrainConfig` of a file (a ``[train]`` table, nested tables such as ``[train.optim]``, and a
    top-level ``[synth]`` table; or the settings at the top level; or a run's ``config.json``) with the flags given
    on top (they win).

    Example:
        >>> config = load_train_config(overrides={"data": ["photos"], "width": 8, "kernel_size": 21})
        >>> config.gen, config.synth.size
        ({'name': 'unet', 'width': 8}, 21)
    """
    values = load_config_file(path) if path is not None else {}
    table = values.get("train", {k: v for k, v in values.items() if k != "synth"})
    if not isinstance(table, dict):
        raise ConfigError(f"[train] in config file {path} must be a table of settings")
    if isinstance(values.get("synth"), dict):
        table = merge_settings(table, {"synth": values["synth"]})
    return _with_flags(TrainConfig, table, overrides, path)


def _with_flags(cls: type[C], values: dict[str, Any], overrides: dict[str, Any] | None, path: str | Path | None) -> C:
    """``cls`` from a file's ``values`` with the flags given on top, flat names nested first on both sides."""
    given = {key: value for key, value in (overrides or {}).items() if value is not None and value != ()}
    try:
        merged = merge_settings(nest_flat_keys(cls, values), nest_flat_keys(cls, given))
    except ConfigError as exc:
        raise ConfigError(f"{exc} (settings from {path or 'the command line'})") from exc
    return config_from_dict(cls, merged, path)
