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
