"""``deblur bench`` end to end: options, one-line errors, and a second run that does not replace the first."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from deblur.cli import cli
from tests.helpers import synth_set, tiny_model


def test_smoke_cli(tmp_path: Path, photo_folder: Path) -> None:
    testset = synth_set(photo_folder, tmp_path / "set")
    model = tiny_model(tmp_path / "tiny.safetensors", tail_std=0.01)
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["bench", "--pairs", str(testset), "--out", str(tmp_path / "r"), "--model", str(model), "--no-unsupervised"]
        + ["--no-plots", "--channel", "y", "-q"],
    )
    assert result.exit_code == 0, result.output
    assert "| tiny |" in result.output and not (tmp_path / "r" / "bench_crops.png").exists()
    assert "on Y" in (tmp_path / "r" / "bench_groups.md").read_text()
    missing = runner.invoke(cli, ["bench", "--pairs", str(tmp_path / "nope"), "--out", str(tmp_path / "r2")])
    assert missing.exit_code == 1 and "not a folder" in missing.output and "Traceback" not in missing.output
    both = runner.invoke(cli, ["bench", "--out", str(tmp_path / "r3")])
    assert both.exit_code == 1 and "give a test set" in both.output
    bad = runner.invoke(cli, ["bench", "--pairs", str(testset), "--out", str(tmp_path / "r4"), "--results", "x"])
    assert bad.exit_code == 2 and "NAME=DIR" in bad.output


def test_exception_a_second_bench_run_does_not_replace_the_first_unasked(tmp_path: Path, photo_folder: Path) -> None:
    testset = synth_set(photo_folder, tmp_path / "set")
    args = ["bench", "--pairs", str(testset), "--out", str(tmp_path / "r"), "--no-plots", "-q", "--no-unsupervised"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "r").iterdir()}
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "pass --overwrite" in again.output
    assert {p.name: p.read_bytes() for p in (tmp_path / "r").iterdir()} == before
    assert CliRunner().invoke(cli, [*args, "--overwrite"]).exit_code == 0
    assert CliRunner().invoke(cli, [*args, "--name", "second"]).exit_code == 0
    assert (tmp_path / "r" / "second.md").exists() and not list((tmp_path / "r").glob(".deblur-*"))


def test_exception_a_failed_write_part_way_names_the_files_written(
    tmp_path: Path, photo_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # C15: a full disk after the summary tables left a partial set while the message said "(nothing was written)"
    import deblur.bench.output as output
    from deblur.errors import ImageError

    def full(path: Path, *args: object, **kwargs: object) -> None:
        raise ImageError(f"cannot write {path}: No space left on device (nothing was written)")

    monkeypatch.setattr(output, "atomic_write_bytes", full)  # the per-image table fails, after the summary tables
    testset = synth_set(photo_folder, tmp_path / "set")
    args = ["bench", "--pairs", str(testset), "--out", str(tmp_path / "r"), "--no-plots", "-q", "--no-unsupervised"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and "the results in" in result.output and "are incomplete: " in result.output
    assert "bench.md" in result.output and "bench_groups.md" in result.output
