"""``deblur export`` (deblur/cli/train.py): ``--blind`` adds the kernel estimator and the strength that restore uses."""

from __future__ import annotations

from pathlib import Path

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
