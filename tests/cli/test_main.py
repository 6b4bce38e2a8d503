"""The ``deblur`` command group: its version and help."""

from __future__ import annotations

import deblur
from tests.helpers import run_cli


def test_version_and_help() -> None:
    code, output = run_cli("--version")
    assert code == 0 and deblur.__version__ in output
    code, output = run_cli("--help")
    assert code == 0 and "synth" in output and "kernels" in output
    code, output = run_cli("synth", "--help")
    assert code == 0 and "--valid" in output and "bank:PATH" in output
