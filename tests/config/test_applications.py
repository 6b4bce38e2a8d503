"""deblur.config.applications: the restore settings check themselves when made."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_exception_restore_config_checks_the_kernel_bound(tmp_path: Path) -> None:
    from deblur.config import RestoreConfig
    from deblur.errors import ConfigError

    assert RestoreConfig(output=tmp_path / "x.png", kernel_size=31).kernel_size == 31
    for bound in (6, 10, 3):
        with pytest.raises(ConfigError, match="kernel size must be odd and at least 7"):
            RestoreConfig(output=tmp_path / "x.png", kernel_size=bound)


def test_exception_kernel_bound_has_an_upper_limit(tmp_path: Path) -> None:
    # C04: --kernel-size 257 and above crashed after the whole estimate, and export --blind wrote unusable models
    from deblur.config import RestoreConfig, check_kernel_bound
    from deblur.errors import ConfigError
    from deblur.nets import create_net
    from deblur.restoration.blind import BlindRestorer
    from tests.helpers import blind_model, run_cli

    check_kernel_bound(255)
    for bound in (257, 301, 1001):
        with pytest.raises(ConfigError, match="at most 255"):
            RestoreConfig(output=tmp_path / "x.png", kernel_size=bound)
        net = create_net("kernel_aware", refiner={"width": 4, "depth": 2, "blocks": 1}, estimator={})
        with pytest.raises(ConfigError, match="at most 255"):
            BlindRestorer(net, kernel_size=bound)
        net = create_net("kernel_aware", refiner={"width": 4, "depth": 2, "blocks": 1}, estimator={"max_size": bound})
        with pytest.raises(ConfigError, match="the model's kernel bound .* at most 255"):
            BlindRestorer(net)
    model = blind_model(tmp_path / "blind.safetensors")
    code, output = run_cli("export", model, "--out", tmp_path / "m.safetensors", "--blind", "--kernel-size", 1001)
    assert code == 1 and "at most 255" in output and not (tmp_path / "m.safetensors").exists()
