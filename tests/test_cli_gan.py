"""``deblur gan`` end to end on a tiny MNIST-format folder."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from deblur.cli import cli
from deblur.io import read_image


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def _train_args(data: Path, out: Path, model: str, steps: int = 2) -> list[str]:
    return ["gan", "train", "--model", model, "--data", str(data), "--out", str(out), "--steps", str(steps)] + [
        *("--batch", "8", "--width", "8", "--holdout", "20", "--device", "cpu", "-q")
    ]


def _train(data: Path, out: Path, model: str, *extra: str) -> None:
    code, output = _run(*_train_args(data, out, model), *extra)
    assert code == 0, output


def test_train_sample_parzen_export(tiny_mnist: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _train(tiny_mnist, out, "cgan")
    code, output = _run(
        "gan",
        "sample",
        "--ckpt",
        out / "last.pt",
        "-n",
        "16",
        "--out",
        tmp_path / "g.png",
        "--label",
        "3",
        "--device",
        "cpu",
    )
    assert code == 0, output
    assert read_image(tmp_path / "g.png").shape == (3, 4 * 30 + 2, 4 * 30 + 2)
    code, output = _run(
        "gan",
        "parzen",
        "--ckpt",
        out / "last.pt",
        "--data",
        tiny_mnist,
        "-n",
        "50",
        "--holdout",
        "20",
        "--device",
        "cpu",
    )
    assert code == 0, output
    assert "Parzen log-likelihood" in output and "50 samples, 40 test images" in output
    code, output = _run("gan", "export", "--ckpt", out / "last.pt", "--out", tmp_path / "m.safetensors")
    assert code == 0 and (tmp_path / "m.safetensors").exists()
    code, output = _run(
        "gan", "sample", "--ckpt", tmp_path / "m.safetensors", "-n", "4", "--out", tmp_path / "h.png", "--device", "cpu"
    )
    assert code == 0, output


def test_parzen_real_reference(tiny_mnist: Path) -> None:
    code, output = _run(
        "gan", "parzen", "--real", "--data", tiny_mnist, "-n", "60", "--holdout", "20", "--device", "cpu"
    )
    assert code == 0 and "60 real images" in output


def test_exception_label_needs_conditional(tiny_mnist: Path, tmp_path: Path) -> None:
    _train(tiny_mnist, tmp_path / "run", "dcgan")
    code, output = _run(
        "gan",
        "sample",
        "--ckpt",
        tmp_path / "run" / "last.pt",
        "--out",
        tmp_path / "g.png",
        "--label",
        "2",
        "--device",
        "cpu",
    )
    assert code == 1 and "needs a class-conditional generator" in output


def test_exception_bad_inputs(tiny_mnist: Path, tmp_path: Path) -> None:
    code, output = _run("gan", "train", "--model", "vae", "--data", tiny_mnist)
    assert code == 2 and "vae" in output
    code, output = _run("gan", "train", "--model", "cgan", "--data", tmp_path, "--out", tmp_path / "o", "-q")
    assert code == 1 and "labelled data" in output
    (tmp_path / "broken.pt").write_bytes(b"garbage")
    code, output = _run("gan", "sample", "--ckpt", tmp_path / "broken.pt", "--out", tmp_path / "g.png")
    assert code == 1 and "not a readable checkpoint" in output and "Traceback" not in output
    code, output = _run("gan", "parzen", "--data", tiny_mnist)
    assert code == 1 and "--real" in output


def test_resume_flag(tiny_mnist: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _train(tiny_mnist, out, "mlp")
    code, output = _run(*_train_args(tiny_mnist, out, "mlp", steps=4), "--resume")
    assert code == 0 and "for 4 steps" in output
