"""``deblur export`` (deblur/cli/train.py): ``--blind`` adds the kernel estimator and the strength that restore uses."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from deblur.synth.kernels import line_kernels
from tests.conftest import blur_with_noise, photo_crop
from tests.helpers import blind_model


def test_cli_export_blind_adds_the_estimator(tmp_path: Path) -> None:
    from deblur.cli import cli
    from deblur.nets import create_net
    from deblur.weights import read_metadata, save_model

    plain = save_model(
        tmp_path / "plain.safetensors", create_net("kernel_aware", refiner={"width": 4, "depth": 2}), {"task": "deblur"}
    )
    out = tmp_path / "blind.safetensors"
    result = CliRunner().invoke(cli, ["export", str(plain), "--out", str(out), "--blind", "--kernel-size", "31"])
    assert result.exit_code == 0, result.output
    assert read_metadata(out)["net"]["estimator"] == {"max_size": 31}
    unet = save_model(tmp_path / "unet.safetensors", create_net("unet", width=4, depth=2), {"task": "deblur"})
    result = CliRunner().invoke(cli, ["export", str(unet), "--out", str(tmp_path / "x.safetensors"), "--blind"])
    assert result.exit_code != 0 and "takes no kernel" in result.output
    for bound in ("8", "5"):  # even, or below the estimator's coarsest level: one line naming the option
        result = CliRunner().invoke(
            cli, ["export", str(plain), "--out", str(tmp_path / "y.safetensors"), "--blind", "--kernel-size", bound]
        )
        assert result.exit_code == 1 and "--kernel-size must be odd and at least 7" in result.output
        assert not (tmp_path / "y.safetensors").exists()


def test_values_export_blind_stores_the_strength_that_restore_uses(tmp_path: Path) -> None:
    from deblur import restore
    from deblur.cli import cli
    from deblur.weights import read_metadata

    full = blind_model(tmp_path / "full.safetensors")
    out = tmp_path / "gentle.safetensors"
    args = ["export", str(full), "--out", str(out), "--blind", "--kernel-size", "15", "--strength", "0.25"]
    result = CliRunner().invoke(cli, [*args, "--min-confidence", "0.5"])
    assert result.exit_code == 0, result.output
    assert read_metadata(out)["blind"] == {"strength": 0.25, "min_confidence": 0.5}
    blurred = blur_with_noise(photo_crop(), line_kernels(torch.tensor([9.0]), torch.tensor([30.0]), 15))[0]
    restored = restore(blurred, full, device="cpu")
    estimates: list = []
    gentle = restore(blurred, out, device="cpu", estimates=estimates)  # the file's strength, not 1
    assert estimates[0].applied == 0.25
    torch.testing.assert_close(gentle, blurred + 0.25 * (restored - blurred), atol=2e-3, rtol=0)
    torch.testing.assert_close(restore(blurred, out, device="cpu", strength=1.0), restored, atol=1e-5, rtol=0)
    result = CliRunner().invoke(cli, ["export", str(full), "--out", str(tmp_path / "z.safetensors"), "--strength", "1"])
    assert result.exit_code != 0 and "--strength is for blind restoration" in result.output
    assert not (tmp_path / "z.safetensors").exists()


def test_cli_train_skipped_small_photos_are_one_warning_line(photo_folder: Path, tmp_path: Path) -> None:
    # C26: two raw Python warning lines (file:line: UserWarning ... and a source line) per skipped photo
    from deblur.cli import cli
    from deblur.io import write_image

    for i in range(6):
        write_image(photo_folder / f"tiny{i}.png", torch.rand(3, 8, 8))
    args = ["train", "--data", str(photo_folder), "--out", str(tmp_path / "run"), "--steps", "1", "--batch", "2"]
    options = ["--crop", "32", "--width", "4", "--disc-width", "4", "--val-holdout", "0", "--device", "cpu", "-q"]
    result = CliRunner().invoke(cli, [*args, *options])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Warning: skipped 6 photos: ") and "and 3 more" in lines[0]


def test_exception_export_on_a_full_disk_keeps_the_previous_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # issue 52, a behaviour that holds: a full disk during export loses nothing and leaves no temporary
    import errno
    import os

    import deblur.io.files
    from deblur.cli import cli
    from deblur.weights import load_model
    from tests.helpers import tiny_model

    source = tiny_model(tmp_path / "tiny.safetensors")
    out = tmp_path / "out" / "model.safetensors"
    out.parent.mkdir()
    assert CliRunner().invoke(cli, ["export", str(source), "--out", str(out)]).exit_code == 0
    before = out.read_bytes()
    real_fdopen = os.fdopen

    def full_disk(fd: int, *args: object, **kwargs: object):  # noqa: ANN202
        handle = real_fdopen(fd, *args, **kwargs)

        def write(data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        handle.write = write
        return handle

    monkeypatch.setattr(deblur.io.files.os, "fdopen", full_disk)
    result = CliRunner().invoke(cli, ["export", str(source), "--out", str(out), "--overwrite"])
    assert result.exit_code == 1 and "No space left on device" in result.output and "Traceback" not in result.output
    assert out.read_bytes() == before and load_model(out)[0] is not None  # the previous model is intact
    assert sorted(p.name for p in out.parent.iterdir()) == ["model.safetensors"]  # no temporary left


def test_values_export_killed_at_any_moment_leaves_no_partial_model(tmp_path: Path) -> None:
    # issue 52, a behaviour that holds: SIGKILL during export leaves the model whole or absent, never partial
    import os
    import signal
    import subprocess
    import sys
    import time

    from deblur.weights import load_model
    from tests.helpers import tiny_model

    source = tiny_model(tmp_path / "tiny.safetensors")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for attempt, delay in enumerate((0.4, 1.2, 2.4)):
        out = tmp_path / f"m{attempt}.safetensors"
        command = [sys.executable, "-m", "deblur", "export", str(source), "--out", str(out)]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        if out.exists():  # written whole by an atomic rename, or not at all
            net, info = load_model(out)
            assert info["task"] == "deblur"
