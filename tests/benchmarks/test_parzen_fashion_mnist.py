"""benchmarks/parzen_fashion_mnist.py: it re-scores only the shipped files its settings trained, keeps earlier rows and
names the kept step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deblur.train.run import load_generator


def test_benchmark_settings_match_the_shipped_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """`parzen_fashion_mnist --shipped` re-scores a file only when it was trained with the script's settings."""
    from benchmarks import parzen_fashion_mnist as bench

    for name in bench.MODELS:
        path = bench.shipped_model(name)
        assert path.name == f"gan_fashion_mnist_{name}.safetensors"
        assert load_generator(path)[1]["config"]["model"] == bench.MODELS[name]["model"]
    monkeypatch.setitem(bench.MODELS, "mlp", {**bench.MODELS["mlp"], "steps": 7})
    with pytest.raises(SystemExit, match="not the 7 of"):
        bench.shipped_model("mlp")


def test_values_previous_rows_are_kept_however_the_data_path_is_spelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A results file written with an absolute data path keeps its rows for a run given the same folder relatively."""
    from benchmarks import parzen_fashion_mnist as bench

    data = tmp_path / "fashion-mnist"
    data.mkdir()
    saved = tmp_path / "results.json"
    saved.write_text(json.dumps({"meta": {"data": str(data)}, "mlp": {"mean": 334.2}, "other": {}}))
    monkeypatch.chdir(tmp_path)
    assert bench.load_previous(saved, Path("fashion-mnist")) == {"mlp": {"mean": 334.2}}
    assert bench.load_previous(saved, Path("elsewhere")) == {}


def test_steps_cell_names_an_earlier_kept_step() -> None:
    """A row of a run whose best.pt (held-out Parzen, eval_every) is an earlier step says so in the steps column."""
    from benchmarks import parzen_fashion_mnist as bench

    assert bench.steps_cell({"steps": 8000}) == "8000"
    assert bench.steps_cell({"steps": 8000, "run_steps": 8000}) == "8000"
    assert bench.steps_cell({"steps": 4500, "run_steps": 8000}) == "4500 of 8000"
