"""benchmarks/began_photos.py: the structure figures that tell textured samples from flat colour."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from benchmarks import began_photos
from benchmarks.began_photos import real_patches, structure, write_structure


def test_flat_colour_has_no_structure() -> None:
    flat = torch.ones(4, 3, 32, 32) * torch.tensor([0.2, 0.5, 0.8]).view(1, 3, 1, 1)
    found = structure(flat)
    assert found["gradient"] == pytest.approx(0.0, abs=1e-6)
    assert found["edge_share"] == 0.0 and found["contrast"] == pytest.approx(0.0, abs=1e-6)
    assert found["mean"] == pytest.approx(0.299 * 0.2 + 0.587 * 0.5 + 0.114 * 0.8, abs=1e-3)


def test_edges_raise_the_figures() -> None:
    stripes = torch.zeros(2, 3, 32, 32)
    stripes[..., ::8, :] = 1.0  # a horizontal line every 8 rows
    smooth = torch.linspace(0, 1, 32).view(1, 1, 1, 32).expand(2, 3, 32, 32)  # a gentle ramp: no edges
    sharp, soft = structure(stripes), structure(smooth)
    assert sharp["edge_share"] > 0.1 and soft["edge_share"] == 0.0
    assert sharp["gradient"] > soft["gradient"] > 0.0
    assert sharp["contrast"] > 0.3


def test_real_patches_and_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from deblur.io import write_image

    (tmp_path / "photos").mkdir()
    for i in range(2):
        write_image(tmp_path / "photos" / f"p{i}.png", torch.rand(3, 40, 48))
    real = real_patches(tmp_path / "photos", 16, 5, seed=0)
    assert real.shape == (5, 3, 16, 16)
    assert torch.equal(real, real_patches(tmp_path / "photos", 16, 5, seed=0))
    written = {}
    monkeypatch.setattr(began_photos, "write_results", lambda name, rows, *a, **k: written.update({name: rows}))
    rows = write_structure(real, real * 0 + 0.5, "test")
    assert [r["images"] for r in rows] == ["real patches (5)", "BEGAN samples (5)", "samples / real"]
    assert rows[2]["gradient"] == pytest.approx(0.0, abs=1e-6) and rows[0]["gradient"] > 0.1
    assert written["began_photos_structure"] is rows


def test_train_or_reuse_continues_reuses_and_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmarks' shared runner: a finished run is reused, a shorter one at a constant learning rate continued
    (its time added), and a run with other settings, or a shorter one whose decay depended on its length, refused."""
    import json

    from benchmarks import parzen_fashion_mnist as bench
    from deblur.config import GANConfig, config_to_dict, load_config
    from deblur.train.checkpoint import save_checkpoint

    def config(**over: object) -> GANConfig:
        return load_config(GANConfig, overrides={"model": "began", "data": tmp_path, "out": tmp_path / "run", **over})

    def saved_run(cfg: GANConfig, step: int, seconds: float | None) -> None:
        cfg.out.mkdir(exist_ok=True)
        save_checkpoint(cfg.out / "last.pt", {"state": {"step": step}, "meta": {"config": config_to_dict(cfg)}})
        if seconds is not None:
            (cfg.out / "train_seconds.json").write_text(json.dumps({"train_seconds": seconds}))

    trained = []
    monkeypatch.setattr(bench, "train_gan", lambda cfg, resume: trained.append((cfg.steps, resume)))
    saved_run(config(steps=100), 100, 60.0)
    assert bench.train_or_reuse(config(steps=100)) == {"trained_now": False, "train_seconds": 60.0}
    monkeypatch.chdir(tmp_path.parent)  # the same data folder, spelled relatively
    relative = config(steps=100, data=Path(tmp_path.name), out=tmp_path / "run")
    assert bench.train_or_reuse(relative)["trained_now"] is False
    assert trained == []
    timing = bench.train_or_reuse(config(steps=300))  # constant learning rate: continued
    assert trained == [(300, True)] and timing["trained_now"] and timing["train_seconds"] >= 60.0
    with pytest.raises(SystemExit, match="other settings"):
        bench.train_or_reuse(config(steps=300, gamma=0.7))
    saved_run(config(steps=100, lr_decay_from=0.5), 100, 60.0)
    with pytest.raises(SystemExit, match="other settings"):  # its decay was fitted to 100 steps
        bench.train_or_reuse(config(steps=300, lr_decay_from=0.5))
    assert trained == [(300, True)]
