"""deblur.bench.output: a whole run through the Python API is deterministic and writes every table and figure."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2

from deblur import bench
from deblur.config import BenchConfig
from tests.helpers import synth_set, tiny_model


def test_smoke_end_to_end_is_deterministic_and_writes_everything(tmp_path: Path, photo_folder: Path) -> None:
    testset = synth_set(photo_folder, tmp_path / "set")
    model = tiny_model(tmp_path / "tiny.safetensors", tail_std=0.01)
    outputs = tmp_path / "other"
    for item in json.loads((testset / "manifest.json").read_text())["items"]:
        (outputs / item["blurred"]).parent.mkdir(parents=True, exist_ok=True)
        image = cv2.imread(str(testset / item["blurred"]))
        cv2.imwrite(str(outputs / f"{item['name']}.png"), cv2.GaussianBlur(image, (3, 3), 0))
    tables = []
    for run in ("a", "b"):
        config = BenchConfig(out=tmp_path / run, pairs=testset, models=(model,), results={"other": outputs})
        rows, written = bench.benchmark(config, progress=False)
        assert {"summary", "groups", "per_image", "curve", "crops"} <= set(written)
        for suffix in (".md", ".csv", ".tex", ".json"):
            assert (tmp_path / run / f"bench{suffix}").stat().st_size > 0
        with open(written["per_image"]) as handle:
            tables.append([(r["method"], r["image"], r["psnr"], r["ssim_y"]) for r in csv.DictReader(handle)])
    assert tables[0] == tables[1]
    methods = {r[0] for r in tables[0]}
    assert methods == {
        "blurred input",
        "Wiener (balance 0.05)",
        "unsupervised Wiener",
        "Richardson-Lucy (20 it.)",
        "hyper-Laplacian (weight 0.0007)",
        "other",
        "tiny",
    }
    assert len(tables[0]) == 2 * len(methods)
    latex = (tmp_path / "a" / "bench.tex").read_text()
    assert "\\toprule" in latex and "Richardson-Lucy" in latex
    meta = json.loads((tmp_path / "a" / "bench.json").read_text())["meta"]
    assert meta["seeds"] == {"bench": 0} and "command" in meta and "versions" in meta
    assert cv2.imread(str(written["crops"])) is not None
