"""``deblur gan`` end to end on a tiny MNIST-format folder, and its one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from deblur.cli import cli
from deblur.data.mnist import load_mnist_family
from deblur.io import read_image, write_image
from deblur.parzen import parzen_evaluate
from deblur.train.checkpoint import load_checkpoint
from deblur.train.gan import EVAL_SAMPLES, sample_images
from deblur.train.run import load_generator
from tests.helpers import run_cli, tiny_model


def _train_args(data: Path, out: Path, model: str, steps: int = 2) -> list[str]:
    return ["gan", "train", "--model", model, "--data", str(data), "--out", str(out), "--steps", str(steps)] + [
        *("--batch", "8", "--width", "8", "--holdout", "20", "--device", "cpu", "-q")
    ]


def _train(data: Path, out: Path, model: str, *extra: str) -> None:
    code, output = run_cli(*_train_args(data, out, model), *extra)
    assert code == 0, output


def test_train_sample_parzen_export(tiny_mnist: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _train(tiny_mnist, out, "cgan")
    code, output = run_cli(
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
    code, output = run_cli(
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
    code, output = run_cli("gan", "export", "--ckpt", out / "last.pt", "--out", tmp_path / "m.safetensors")
    assert code == 0 and (tmp_path / "m.safetensors").exists()
    code, output = run_cli(
        "gan", "sample", "--ckpt", tmp_path / "m.safetensors", "-n", "4", "--out", tmp_path / "h.png", "--device", "cpu"
    )
    assert code == 0, output


def test_parzen_real_reference(tiny_mnist: Path) -> None:
    code, output = run_cli(
        "gan", "parzen", "--real", "--data", tiny_mnist, "-n", "60", "--holdout", "20", "--device", "cpu"
    )
    assert code == 0 and "60 real images" in output


def test_parzen_held_out_never_reads_the_test_split(tiny_mnist: Path) -> None:
    code, output = run_cli(
        "gan", "parzen", "--real", "--data", tiny_mnist, "-n", "60", "--holdout", "20", "--held-out", "--device", "cpu"
    )
    assert code == 0 and "60 real images, 10 held-out images" in output
    held_out = load_mnist_family(tiny_mnist, "val", 20).images
    train = load_mnist_family(tiny_mnist, "train", 20).images[:60]
    expected = parzen_evaluate(train, held_out[:10], held_out[10:])
    assert f"{expected.mean:.1f} +- {expected.stderr:.1f} nats" in output


def test_exception_label_needs_conditional(tiny_mnist: Path, tmp_path: Path) -> None:
    _train(tiny_mnist, tmp_path / "run", "dcgan")
    code, output = run_cli(
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
    code, output = run_cli("gan", "train", "--model", "vae", "--data", tiny_mnist)
    assert code == 2 and "vae" in output
    code, output = run_cli("gan", "train", "--model", "cgan", "--data", tmp_path, "--out", tmp_path / "o", "-q")
    assert code == 1 and "labelled data" in output
    (tmp_path / "broken.pt").write_bytes(b"garbage")
    code, output = run_cli("gan", "sample", "--ckpt", tmp_path / "broken.pt", "--out", tmp_path / "g.png")
    assert code == 1 and "not a readable checkpoint" in output and "Traceback" not in output
    code, output = run_cli("gan", "parzen", "--data", tiny_mnist)
    assert code == 1 and "--real" in output


def test_resume_flag(tiny_mnist: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _train(tiny_mnist, out, "mlp")
    code, output = run_cli(*_train_args(tiny_mnist, out, "mlp", steps=4), "--resume")
    assert code == 0 and "for 4 steps" in output


def test_eval_every_keeps_the_best_held_out_parzen(tiny_mnist: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, output = run_cli(*_train_args(tiny_mnist, out, "began", steps=4), "--eval-every", "2")
    assert code == 0, output
    logged = {
        row["step"]: row["parzen_val"]
        for row in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())
        if "parzen_val" in row
    }
    assert sorted(logged) == [2, 4]
    # the value at the last step is the Parzen protocol on the held-out split's halves, with the EMA generator
    gen, meta = load_generator(out / "last.pt", "cpu", which="last", task="gan")
    held_out = load_mnist_family(tiny_mnist, "val", 20).images
    expected = parzen_evaluate(sample_images(gen, meta, EVAL_SAMPLES, 0), held_out[:10], held_out[10:]).mean
    assert logged[4] == pytest.approx(expected, rel=1e-6)
    best_step = max(logged, key=logged.get)
    assert load_checkpoint(out / "best.pt")["state"]["step"] == best_step


@pytest.mark.parametrize("flag", ["--began-skip", "--began-batch-std"])
def test_began_options_reach_the_networks(tiny_mnist: Path, tmp_path: Path, flag: str) -> None:
    out = tmp_path / "run"
    _train(tiny_mnist, out, "began", flag)
    key = flag.removeprefix("--").replace("-", "_")
    assert json.loads((out / "config.json").read_text())["config"][key] is True
    gen, _ = load_generator(out / "last.pt", "cpu", which="last", task="gan")
    assert gen.decoder.skip is (flag == "--began-skip")
    disc = load_checkpoint(out / "last.pt")["state"]["disc"]
    # the code layer reads width * scales channels of 8x8, plus one plane with the batch standard deviation
    code_in = next(v.shape[1] for k, v in disc.items() if k.startswith("encoder.") and v.ndim == 2)
    assert (code_in // 64) % 8 == (flag == "--began-batch-std")


@pytest.mark.parametrize("model", ["began", "dcgan"])
def test_disc_width_sets_the_discriminator_alone(tiny_mnist: Path, tmp_path: Path, model: str) -> None:
    out = tmp_path / "run"
    _train(tiny_mnist, out, model, "--width", "8", "--disc-width", "12")
    checkpoint = load_checkpoint(out / "last.pt")
    assert (checkpoint["meta"]["gen"]["width"], checkpoint["meta"]["disc"]["width"]) == (8, 12)
    first = next(
        v for v in checkpoint["state"]["disc"].values() if v.ndim == 4
    )  # the first convolution's weight (out, in, kh, kw)
    assert first.shape[0] == 12


def test_exception_eval_every_needs_mnist_format(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    write_image(folder / "a.png", torch.rand(3, 40, 40))
    code, output = run_cli(*_train_args(folder, tmp_path / "o", "began"), "--eval-every", "2", "--image-size", "16")
    assert code == 1 and "MNIST-format" in output and "Traceback" not in output
    code, output = run_cli(*_train_args(folder, tmp_path / "o", "began"), "--eval-every", "-1")
    assert code != 0 and "eval_every" in output


def test_ema_start_flag_reaches_the_run(tiny_mnist: Path, tmp_path: Path) -> None:
    """``--ema-start N`` sets the run's average: with N = steps the EMA generator in the checkpoint equals the live
    one, and the saved config records it."""
    out = tmp_path / "run"
    _train(tiny_mnist, out, "dcgan", "--ema", "0.99", "--ema-start", "2")
    state = load_checkpoint(out / "last.pt")["state"]
    assert state["ema"]["updates"] == 2
    for name, live in state["gen"].items():
        assert torch.equal(state["ema"]["model"][name], live), name
    assert json.loads((out / "config.json").read_text())["config"]["optim"]["ema_start"] == 2


def test_exception_gan_sample_on_a_deblurring_model_is_one_line(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny.safetensors")
    result = CliRunner().invoke(cli, ["gan", "sample", "--ckpt", str(model), "--out", str(tmp_path / "g.png")])
    assert result.exit_code == 1 and "holds a deblurring model, not a GAN one" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "g.png").exists()
