"""The commands' shared error handling and options (deblur/cli/options.py): an unexpected error is one line
unless --debug; out-of-range options are one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from deblur.cli import cli


def test_exception_unexpected_error_is_one_line_unless_debug(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import deblur.bench

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("something broke")

    monkeypatch.setattr(deblur.bench, "benchmark", broken)
    runner = CliRunner()
    args = ["bench", "--pairs", str(tmp_path), "--out", str(tmp_path / "r")]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert "RuntimeError: something broke" in result.output and "--debug" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    debug = runner.invoke(cli, ["--debug", *args])
    assert isinstance(debug.exception, RuntimeError)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bench", "--border", "-1"], "border must be 0 or more"),
        (["bench", "--border", "100"], "leaves nothing of the smallest image"),
        (["bench", "--limit", "0"], "0 is not in the range x>=1"),
        (["bench", "--limit", "-1"], "-1 is not in the range x>=1"),
        (["bench", "--seed", str(2**63)], "is not in the range"),
        (["synth", "--limit", "-1"], "-1 is not in the range x>=1"),
        (["synth", "--seed", str(2**64)], "is not in the range"),
        (["kernels", "-n", "4096", "--zoom", "32"], "use fewer kernels"),
    ],
)
def test_exception_out_of_range_options_are_one_line_errors(
    tmp_path: Path, photo_folder: Path, args: list[str], message: str
) -> None:
    kernels = tmp_path / "k"
    kernels.mkdir()
    import numpy as np

    np.save(kernels / "box.npy", np.full((3, 3), 1 / 9, np.float32))
    where = {
        "bench": ["--sharp", str(photo_folder), "--kernels", str(kernels), "--out", str(tmp_path / "r"), "-q"],
        "synth": ["--data", str(photo_folder), "--out", str(tmp_path / "s"), "-q"],
        "kernels": ["--out", str(tmp_path / "grid.png")],
    }[args[0]]
    result = CliRunner().invoke(cli, [*args, *where, "--no-plots"] if args[0] == "bench" else [*args, *where])
    assert result.exit_code in (1, 2) and message in result.output and "Traceback" not in result.output, result.output
    assert not (tmp_path / "grid.png").exists() and not (tmp_path / "r").exists()
