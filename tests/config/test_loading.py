"""deblur.config.loading: config objects to and from dicts and TOML/JSON files, with one-line messages; a bad file
given to ``deblur train --config`` names the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from deblur.cli import cli
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


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('[train]\nsteps = "many"\n', "steps must be an integer"),
        ("[train]\nstepz = 5\n", "unknown TrainConfig key(s) stepz"),
        ('[synth]\nnoise = [0.1, "x"]\n', "noise must be a number"),
        ("[synth]\nsize = -3\n", "size must be an odd integer"),
        ("[train]\ncrop = 64.5\n", "crop must be an integer"),
        ("[train\nsteps = 5\n", "not valid TOML"),
        ("[train]\nlr = 1e-3\noptim = {lr = 2e-3}\n", "lr and optim.lr are the same setting"),
        ("[train]\ngen = {width = 8, name = 3}\n", "gen must be a network spec"),
        ("[train]\noptim = 3\n", "optim must be a table of settings"),
        ('[train]\noptim = {lr = "fast"}\n', "lr must be a number"),
        ("[train]\nloss = {colour = 1}\n", "unknown LossConfig key(s) colour"),
        ("train = 3\n", "[train] in config file"),
        ("[train]\nlr = nan\n", "learning rates must be positive"),
        ("[train]\noptim = {lr = inf}\n", "learning rates must be"),
    ],
)
def test_exception_bad_config_file_names_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    result = CliRunner().invoke(cli, ["train", "--config", str(config), "--data", str(tmp_path), "--out", "x"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert field in result.output and "bad.toml" in result.output


def test_values_a_toml_file_with_a_utf8_bom_loads(tmp_path: Path) -> None:
    # C30: a file saved with a byte-order mark (Windows editors) was "not valid TOML ... (at line 1, column 1)"
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf[synth]\nsize = 15\n")
    assert load_config_file(path, section="synth") == {"size": 15}
    (tmp_path / "bom.json").write_bytes(b'\xef\xbb\xbf{"synth": {"size": 15}}')
    assert load_config_file(tmp_path / "bom.json", section="synth") == {"size": 15}
