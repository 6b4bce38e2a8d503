"""deblur.restoration.models: model files that cannot restore are refused; a model file is read once, and again only
when it changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deblur.nets import create_net
from deblur.restoration import load_restorer
from deblur.weights import save_model
from tests.helpers import tiny_model


def test_exception_not_a_deblurring_model(tmp_path: Path) -> None:
    path = save_model(tmp_path / "gan.safetensors", create_net("classifier", width=4), {"task": "gan"})
    with pytest.raises(Exception, match="not a deblurring model"):
        load_restorer(path)


def test_values_restore_loads_a_model_file_once_and_picks_tiles_from_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import deblur.restoration
    import deblur.weights
    from deblur.restoration import restore

    model = tiny_model(tmp_path / "tiny.safetensors")
    loads = []
    real = deblur.restoration.models.load_model
    monkeypatch.setattr(deblur.restoration.models, "load_model", lambda *a, **k: loads.append(a) or real(*a, **k))
    image = np.zeros((40, 48, 3), np.uint8)
    for _ in range(3):
        assert restore(image, model).shape == image.shape
    assert len(loads) == 1  # read once, then reused
    model.write_bytes(model.read_bytes())  # the file changes: read again
    restore(image, model)
    assert len(loads) == 2
    tiles = []
    monkeypatch.setattr(deblur.restoration.pipeline, "restore_tensor", lambda net, x, tile, *a: tiles.append(tile) or x)
    restore(image, model)
    assert tiles == [deblur.restoration.auto_tile()]
