"""The ``deblur`` command group: its version and help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import deblur
from tests.helpers import run_cli


def test_version_and_help() -> None:
    code, output = run_cli("--version")
    assert code == 0 and deblur.__version__ in output
    code, output = run_cli("--help")
    assert code == 0 and "synth" in output and "kernels" in output
    code, output = run_cli("synth", "--help")
    assert code == 0 and "--valid" in output and "bank:PATH" in output


def test_exception_sigterm_ends_every_command_cleanly(tmp_path: Path) -> None:
    # C16: SIGTERM was handled by restore and train only: `kernels` (and synth, bench, export) died at once, leaving
    # its hidden temporary file. Here the signal arrives while the picture is being written.
    script = (
        "import os, signal, sys\n"
        "real = os.fsync\n"
        "def fsync(fd):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    real(fd)\n"
        "os.fsync = fsync\n"
        "from deblur.cli import main\n"
        f"sys.argv = ['deblur', 'kernels', '-n', '2', '--size', '7', '--out', {str(tmp_path / 'k.png')!r}]\n"
        "main()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(deblur.__file__).parent.parent)}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 143, result.stderr
    assert list(tmp_path.iterdir()) == []  # neither the picture nor its temporary


def test_exception_a_closed_stdout_ends_quietly_with_141(tmp_path: Path) -> None:
    # C19: `deblur ... | true`: the work was done, then the summary line raised an internal error (exit 1)
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {**os.environ, "PYTHONPATH": str(Path(deblur.__file__).parent.parent)}
    out = tmp_path / "k.png"
    command = [sys.executable, "-m", "deblur", "kernels", "-n", "2", "--size", "7", "--out", str(out)]
    try:
        result = subprocess.run(command, env=env, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert result.returncode == 141 and result.stderr == ""
    assert out.exists()  # the work itself was done
