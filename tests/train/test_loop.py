"""The training loop: exact resume, NaN detection that keeps the last good checkpoint, safe checkpoints, logs."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import torch

from deblur.config import GANConfig, OptimConfig, load_config
from deblur.errors import ConfigError
from deblur.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from deblur.train.gan import sample_images, train_gan
from deblur.train.log import read_metrics
from deblur.train.loop import LoopConfig, TrainingDiverged, train_loop
from deblur.train.objectives import GANObjective
from deblur.train.run import export_generator, load_generator


def _config(data: Path, out: Path, model: str, steps: int, **changes: object) -> GANConfig:
    base: dict = {
        "model": model,
        "data": data,
        "out": out,
        "steps": steps,
        "batch": 16,
        "width": 8,
        "z_dim": 16,
        "holdout": 20,
        "log_every": 1,
        "sample_every": 0,
        "ckpt_every": 3,
        "device": "cpu",
    }
    base.update(changes)
    return load_config(GANConfig, overrides=base)  # flat optimiser keys (lr, ema, ...) go to config.optim


@pytest.mark.parametrize("model", ["mlp", "dcgan", "cgan", "lapgan", "began"])
def test_resume_matches_uninterrupted(tiny_mnist: Path, tmp_path: Path, model: str) -> None:
    straight = train_gan(_config(tiny_mnist, tmp_path / "straight", model, 6), progress=False)
    # the interrupted run stops at step 3 (a checkpoint), then a fresh process-like start resumes it
    train_gan(_config(tiny_mnist, tmp_path / "resumed", model, 3), progress=False)
    resumed = train_gan(_config(tiny_mnist, tmp_path / "resumed", model, 6), resume=True, progress=False)
    a, b = read_metrics(tmp_path / "straight"), read_metrics(tmp_path / "resumed")
    assert [m["step"] for m in b] == [1, 2, 3, 4, 5, 6]
    assert a == b  # the same losses, D(x) and D(G(z)) at every step, including those after the resume
    for key, value in straight.gen.state_dict().items():
        assert torch.equal(value, resumed.gen.state_dict()[key]), key
    for key, value in straight.disc.state_dict().items():
        assert torch.equal(value, resumed.disc.state_dict()[key]), key


def test_run_outputs(tiny_mnist: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    train_gan(_config(tiny_mnist, out, "dcgan", 4, sample_every=2), progress=False)
    assert {"last.pt", "config.json", "metrics.jsonl"} <= {p.name for p in out.iterdir()}
    assert (out / "samples" / "step_0000002.png").exists() and (out / "samples" / "final.png").exists()
    config = json.loads((out / "config.json").read_text())
    assert (
        config["task"] == "gan" and config["config"]["model"] == "dcgan" and config["gen"]["name"] == "dcgan_generator"
    )
    metrics = read_metrics(out)
    assert {"loss_d", "loss_g", "d_real", "d_fake"} <= set(metrics[-1])
    assert 0 <= metrics[-1]["d_real"] <= 1


def test_sample_and_export(tiny_mnist: Path, tmp_path: Path) -> None:
    train_gan(_config(tiny_mnist, tmp_path / "run", "cgan", 2), progress=False)
    gen, meta = load_generator(tmp_path / "run" / "last.pt")
    images = sample_images(gen, meta, 12, seed=1, label=3)
    assert images.shape == (12, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    assert torch.equal(images, sample_images(gen, meta, 12, seed=1, label=3))
    path = export_generator(tmp_path / "run" / "last.pt", tmp_path / "cgan.safetensors")
    exported, info = load_generator(path)
    assert info["task"] == "gan" and info["config"]["model"] == "cgan" and info["steps"] == 2
    torch.testing.assert_close(sample_images(exported, info, 12, seed=1, label=3), images)


def test_lapgan_samples_are_cropped_to_data_size(tiny_mnist: Path, tmp_path: Path) -> None:
    train_gan(_config(tiny_mnist, tmp_path / "run", "lapgan", 1), progress=False)
    gen, meta = load_generator(tmp_path / "run" / "last.pt")
    assert meta["data"]["image_size"] == 32 and meta["data"]["crop"] == 2
    assert sample_images(gen, meta, 3).shape == (3, 1, 28, 28)


def test_lapgan_levels_set_the_coarse_side(tiny_mnist: Path, tmp_path: Path) -> None:
    """lapgan_levels 1 at 32 px: a 16 px coarse GAN and one band; too many levels is a one-line config error."""
    train_gan(_config(tiny_mnist, tmp_path / "run", "lapgan", 1, lapgan_levels=1), progress=False)
    gen, meta = load_generator(tmp_path / "run" / "last.pt")
    assert gen.sides == [16, 32] and len(gen.bands) == 1 and gen.latent_dim == 16 + 32 * 32
    assert sample_images(gen, meta, 2).shape == (2, 1, 28, 28)
    with pytest.raises(ConfigError, match="coarse side under 4 px"):
        train_gan(_config(tiny_mnist, tmp_path / "deep", "lapgan", 1, lapgan_levels=4), progress=False)
    with pytest.raises(ConfigError, match="lapgan_levels"):
        _config(tiny_mnist, tmp_path / "x", "lapgan", 1, lapgan_levels=-1)


class _Poisoned(GANObjective):
    """Returns a NaN generator loss at the calls in ``bad``."""

    def __init__(self, bad: set[int]) -> None:
        super().__init__(4, seed=0)
        self.bad, self.calls = bad, 0

    def g_loss(self, gen, disc, batch):  # noqa: ANN001, ANN201
        self.calls += 1
        loss, logs = super().g_loss(gen, disc, batch)
        if self.calls in self.bad:
            loss = loss * float("nan")
            logs = {**logs, "loss_g": float("nan")}
        return loss, logs


def _tiny_gan():  # noqa: ANN202
    from deblur.data.streams import TensorBatches
    from deblur.nets import create_net

    torch.manual_seed(0)
    gen = create_net("mlp_generator", z_dim=4, hidden=(8,), image_shape=(1, 4, 4))
    disc = create_net("maxout_discriminator", image_shape=(1, 4, 4), units=4, pieces=2)
    return gen, disc, TensorBatches(torch.rand(32, 1, 4, 4), batch_size=8)


def test_values_one_nan_batch_is_skipped_and_counted(tmp_path: Path) -> None:
    gen, disc, stream = _tiny_gan()
    seen = {}

    class _Watch(_Poisoned):
        def g_loss(self, gen, disc, batch):  # noqa: ANN001, ANN201
            seen[self.calls + 1] = {k: v.detach().clone() for k, v in gen.state_dict().items()}
            return super().g_loss(gen, disc, batch)

    config = LoopConfig(steps=8, optim=OptimConfig(ema=0), ckpt_every=2, log_every=8, sample_every=0)
    train_loop(gen, disc, _Watch({5}), stream, config, tmp_path, progress=False)
    # the weights G saw at call 6 are those of call 5: the NaN step changed nothing
    assert all(torch.equal(seen[5][k], seen[6][k]) for k in seen[5])
    assert not all(torch.equal(seen[4][k], seen[5][k]) for k in seen[4])  # ordinary steps do change them
    logged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert logged[-1]["skipped_steps"] == 1 and math.isfinite(logged[-1]["loss_g"])
    state = load_checkpoint(tmp_path / "last.pt")["state"]
    assert state["step"] == 8 and all(torch.isfinite(v).all() for v in state["gen"].values())


def test_nan_stops_after_repeated_bad_steps_and_keeps_last_good_checkpoint(tmp_path: Path) -> None:
    gen, disc, stream = _tiny_gan()
    config = LoopConfig(steps=30, ckpt_every=2, log_every=1, sample_every=0, max_bad_steps=3)
    with pytest.raises(
        TrainingDiverged, match=r"3 consecutive steps \(up to step 7, 3 skipped.*last\.pt keeps the last"
    ):
        train_loop(gen, disc, _Poisoned(set(range(5, 100))), stream, config, tmp_path, progress=False)
    state = load_checkpoint(tmp_path / "last.pt")["state"]
    assert state["step"] == 6  # the checkpoint at step 6 holds the (unchanged) weights of step 4
    assert all(torch.isfinite(v).all() for v in state["gen"].values())


class _Payload:
    def __reduce__(self):  # noqa: ANN204
        return (os.system, ("touch pwned",))


def test_pickle_payload_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    torch.save({"format": "deblur-checkpoint/1", "state": _Payload()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="refusing to load"):
        load_checkpoint(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned").exists()


def test_checkpoint_round_trip_exact(tmp_path: Path) -> None:
    state = {"weights": torch.randn(3, 4), "step": 7, "rng": torch.get_rng_state(), "nested": {"lr": [1e-4, 2e-4]}}
    save_checkpoint(tmp_path / "c.pt", state)
    loaded = load_checkpoint(tmp_path / "c.pt")
    assert torch.equal(loaded["weights"], state["weights"]) and torch.equal(loaded["rng"], state["rng"])
    assert loaded["step"] == 7 and loaded["nested"] == {"lr": [1e-4, 2e-4]}


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04truncated zip"])
def test_exception_corrupt_checkpoint(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "bad.pt").write_bytes(content)
    with pytest.raises(CheckpointError, match="bad.pt"):
        load_checkpoint(tmp_path / "bad.pt")


def test_exception_foreign_checkpoint(tmp_path: Path) -> None:
    torch.save({"model": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a deblur checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


class _Constant(torch.nn.Module):
    """A generator whose every pixel is 0.25, whatever ``z``."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = torch.nn.Parameter(torch.tensor(0.25))

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return self.bias.expand(z.shape[0], 1, 4, 4) + 0 * z[:, :1, None, None]


def _mean_disc(x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
    return 2 * x.flatten(1).mean(1) - 1  # logit 1 on the real images (all ones), -0.5 on the generator's


SP = torch.nn.functional.softplus
_D, _G = {}, {}
for _kind in ("minimax", "nonsaturating"):
    _D[_kind] = float(SP(torch.tensor(-1.0)) + SP(torch.tensor(-0.5)))
_G["minimax"], _G["nonsaturating"] = -float(SP(torch.tensor(-0.5))), float(SP(torch.tensor(0.5)))
_D["lsgan"], _G["lsgan"] = 0.5 * (0.0 + 0.25), 0.5 * 1.5**2
_D["hinge"], _G["hinge"] = 0.0 + 0.5, 0.5
# WGAN-GP: |grad| = 2 / sqrt(16) = 0.5 everywhere, so the penalty is 10 * (0.5 - 1)^2
_D["wgan"], _G["wgan"] = -0.5 - 1.0 + 10 * 0.25, 0.5
_D["relativistic"], _G["relativistic"] = 2 * float(SP(torch.tensor(-1.5))), 2 * float(SP(torch.tensor(1.5)))


@pytest.mark.parametrize("kind", sorted(_D))
def test_values_each_loss_pins_its_closed_form(kind: str) -> None:
    objective = GANObjective(3, loss=kind, seed=0)
    batch = {"image": torch.ones(5, 1, 4, 4)}
    loss_d, logs = objective.d_loss(_Constant(), _mean_disc, batch)
    loss_g, _ = objective.g_loss(_Constant(), _mean_disc, batch)
    assert float(loss_d.detach()) == pytest.approx(_D[kind], abs=1e-6) and logs["loss_d"] == pytest.approx(
        _D[kind], abs=1e-6
    )
    assert float(loss_g.detach()) == pytest.approx(_G[kind], abs=1e-6)


def test_values_r1_adds_its_closed_form() -> None:
    # R1 = |grad D(x)|^2 / 2 = 16 * (2 / 16)^2 / 2 = 0.125 on every real image
    objective = GANObjective(3, r1=2.0, seed=0)
    loss_d, _ = objective.d_loss(_Constant(), _mean_disc, {"image": torch.ones(5, 1, 4, 4)})
    assert float(loss_d.detach()) == pytest.approx(_D["nonsaturating"] + 2.0 * 0.125, abs=1e-6)


def _classifying_disc(x: torch.Tensor, label: torch.Tensor | None = None, classes: bool = False):
    """``_mean_disc`` plus a class head that is sure of class 0 (logit 2 against 0 for the other three)."""
    class_logits = torch.zeros(x.shape[0], 4)
    class_logits[:, 0] = 2 * x.flatten(1).mean(1) / x.flatten(1).mean(1).detach()
    return (_mean_disc(x), class_logits) if classes else _mean_disc(x)


def test_values_auxiliary_classes_add_the_weighted_cross_entropy_of_real_and_generated_images() -> None:
    # the class head puts softmax(2, 0, 0, 0) on every image: cross-entropy -log p(0) for label 0, -log p(1) else
    p0 = float(torch.tensor([2.0, 0, 0, 0]).softmax(0)[0])
    p1 = (1 - p0) / 3
    labels = torch.tensor([0, 0, 1, 2, 3])
    ce = float(-(2 * torch.log(torch.tensor(p0)) + 3 * torch.log(torch.tensor(p1))) / 5)
    objective = GANObjective(3, conditional=True, classes=0.5, seed=0)
    batch = {"image": torch.ones(5, 1, 4, 4), "label": labels}
    loss_d, logs_d = objective.d_loss(_Constant(), _classifying_disc, batch)
    loss_g, logs_g = objective.g_loss(_Constant(), _classifying_disc, batch)
    assert float(loss_d.detach()) == pytest.approx(_D["nonsaturating"] + 0.5 * ce, abs=1e-6)
    assert float(loss_g.detach()) == pytest.approx(_G["nonsaturating"] + 0.5 * ce, abs=1e-6)
    assert logs_d["class_d"] == pytest.approx(ce, abs=1e-6) and logs_g["class_g"] == pytest.approx(ce, abs=1e-6)
    grads = []
    for weight in (0.0, 0.5):
        generator = _Constant()
        GANObjective(3, conditional=True, classes=weight, seed=0).g_loss(generator, _classifying_disc, batch)[
            0
        ].backward()
        grads.append(float(generator.bias.grad))
    assert grads[0] != pytest.approx(grads[1])  # G learns from the class head too
    with pytest.raises(ValueError, match="conditional"):
        GANObjective(3, classes=1.0)


def test_auxiliary_classes_train_cgan_and_are_checked(tiny_mnist: Path, tmp_path: Path) -> None:
    state = train_gan(_config(tiny_mnist, tmp_path / "run", "cgan", 2, aux_classes=1.0), progress=False)
    assert state.disc.classes.out_channels == 10
    assert {"class_d", "class_g"} <= set(read_metrics(tmp_path / "run")[-1])
    with pytest.raises(ConfigError, match="aux_classes is for cgan"):
        _config(tiny_mnist, tmp_path / "other", "dcgan", 2, aux_classes=1.0)


def test_values_optimiser_options_reach_the_loop(tiny_mnist: Path, tmp_path: Path) -> None:
    changes = {"optimizer": "sgd", "lr": 0.01, "momentum": 0.7, "d_steps": 3, "ema": 0.0, "loss": "hinge"}
    config = _config(tiny_mnist, tmp_path / "run", "dcgan", 2, **changes)
    assert config.optim == OptimConfig(optimizer="sgd", lr=0.01, momentum=0.7, d_steps=3, ema=0.0, lr_decay_from=1.0)
    state = train_gan(config, progress=False)
    assert isinstance(state.opt_g, torch.optim.SGD) and state.opt_d.param_groups[0]["momentum"] == 0.7
    assert state.opt_d.param_groups[0]["lr"] == 0.01 and state.ema is None
    drawn = state.stream.state_dict()  # k = 3 discriminator minibatches of 16 per generator step, 2 steps
    assert (drawn["epoch"], drawn["index"]) == (0, 2 * 3 * 16)
    assert state.objective.loss.kind == "hinge"


def test_lr_decay_schedule(tiny_mnist: Path, tmp_path: Path) -> None:
    from deblur.train.loop import lr_factor

    assert [lr_factor(s, 10, 0.6) for s in (0, 5, 6, 8, 10)] == [1.0, 1.0, 1.0, 0.5, 0.0]
    assert lr_factor(9, 10, 1.0) == 1.0
    state = train_gan(_config(tiny_mnist, tmp_path / "run", "mlp", 4, lr_decay_from=0.5), progress=False)
    # the last step ran at factor (4 - 3) / (4 - 2) = 1/2
    assert state.opt_g.param_groups[0]["lr"] == pytest.approx(2e-4 * 0.5)


def test_bf16_autocast_on_cpu(tiny_mnist: Path, tmp_path: Path) -> None:
    from deblur.train.loop import autocast

    a, b = torch.rand(4, 8), torch.rand(8, 4)
    with autocast(torch.device("cpu"), "bf16"):
        assert (a @ b).dtype == torch.bfloat16
    with autocast(torch.device("cpu"), "fp32"):
        assert (a @ b).dtype == torch.float32
    fp32 = train_gan(_config(tiny_mnist, tmp_path / "fp32", "dcgan", 2, precision="fp32"), progress=False)
    bf16 = train_gan(_config(tiny_mnist, tmp_path / "bf16", "dcgan", 2, precision="bf16"), progress=False)
    losses = [m["loss_d"] for m in read_metrics(tmp_path / "bf16")]
    assert all(math.isfinite(v) for v in losses)
    assert losses != [m["loss_d"] for m in read_metrics(tmp_path / "fp32")]  # bf16 arithmetic really ran
    for weights in (fp32.gen.state_dict(), bf16.gen.state_dict()):
        assert all(v.dtype in (torch.float32, torch.int64) for v in weights.values())  # weights stay fp32
