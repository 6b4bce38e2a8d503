"""deblur.config.loading: config objects to and from dicts and TOML/JSON files, with one-line messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deblur.config import SynthConfig, config_from_dict, config_to_dict, load_config_file
from deblur.errors import ConfigError


def test_roundtrip_dict() -> None:
    config = SynthConfig(kernels=("motion", "bank:kernels/"), size=21, noise=(0.0, 0.05), jpeg_prob=0.3)
    data = json.loads(json.dumps(config_to_dict(config)))
    assert config_from_dict(SynthConfig, data) == config


def test_exception_unknown_key() -> None:
    with pytest.raises(ConfigError, match="unknown SynthConfig key.*sigma"):
        config_from_dict(SynthConfig, {"sigma": 1})


def test_load_toml_section(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text('[synth]\nkernels = ["defocus"]\nsize = 15\nnoise = [0.0, 0.03]\n')
    config = config_from_dict(SynthConfig, load_config_file(path, section="synth"))
    assert config.kernels == ("defocus",) and config.size == 15 and config.noise == (0.0, 0.03)


def test_exception_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config_file(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("size = = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config_file(tmp_path / "bad.toml")
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="table of settings"):
        load_config_file(tmp_path / "bad.json")
