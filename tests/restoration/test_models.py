"""deblur.restoration.models: model files that cannot restore are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from deblur.nets import create_net
from deblur.restoration import load_restorer
from deblur.weights import save_model


def test_exception_not_a_deblurring_model(tmp_path: Path) -> None:
    path = save_model(tmp_path / "gan.safetensors", create_net("classifier", width=4), {"task": "gan"})
    with pytest.raises(Exception, match="not a deblurring model"):
        load_restorer(path)
