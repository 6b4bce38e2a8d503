"""deblur.restoration.pipeline: ``restore`` on arrays and tensors gives back what it was given, with a model or a
kernel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deblur import restore
from deblur.nets import create_net
from deblur.weights import save_model


@pytest.mark.parametrize(
    "array",
    [
        np.random.default_rng(0).integers(0, 256, (37, 50, 3), dtype=np.uint8),
        np.random.default_rng(0).integers(0, 65536, (20, 30, 3), dtype=np.uint16),
        np.random.default_rng(0).integers(0, 256, (20, 30), dtype=np.uint8),
        np.random.default_rng(0).random((20, 30, 4)).astype(np.float32),
    ],
    ids=["rgb8", "rgb16", "grey", "rgba-float"],
)
def test_shape_api_returns_same_kind(array: np.ndarray, net: torch.nn.Module) -> None:
    out = restore(array, net, tile=16, overlap=4)
    assert isinstance(out, np.ndarray) and out.shape == array.shape and out.dtype == array.dtype
    if array.ndim == 3 and array.shape[2] == 4:
        assert np.array_equal(out[..., 3], array[..., 3])  # alpha passes through


def test_shape_api_tensors(net: torch.nn.Module) -> None:
    single, batch = torch.rand(3, 21, 33), torch.rand(2, 1, 16, 16)
    assert restore(single, net).shape == single.shape
    assert restore(batch, net).shape == batch.shape
    with pytest.raises(TypeError):
        restore([1, 2, 3], net)


def test_values_identity_model_keeps_pixels(tmp_path: Path) -> None:
    identity = create_net("unet", width=4, depth=2)
    path = save_model(tmp_path / "id.safetensors", identity, {"task": "deblur"})
    array = np.random.default_rng(0).integers(0, 256, (40, 64, 3), dtype=np.uint8)
    assert np.array_equal(restore(array, path, device="cpu"), array)


def test_values_restore_api_takes_a_kernel() -> None:
    from deblur.nets import create_net as make
    from deblur.ops.conv import blur

    g = torch.Generator().manual_seed(3)
    sharp = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 52, 52, generator=g), 5, 1)
    kernel = torch.zeros(7, 7)
    kernel[3, :] = 1 / 7
    blurred = blur(sharp, kernel[None]).clamp(0, 1)
    deconvolved = restore(blurred[0], kernel=kernel.numpy(), device="cpu")  # no model: deconvolution
    assert deconvolved.shape == blurred[0].shape
    assert float(((deconvolved - sharp[0]) ** 2).mean()) < float(((blurred[0] - sharp[0]) ** 2).mean())
    aware = make("kernel_aware", refiner={"width": 4, "depth": 2, "blocks": 1}).eval()
    from deblur.ops.deconv import hl_deconv

    expected = hl_deconv(blurred, kernel[None], 7e-4).clamp(0, 1)[0]  # an untrained refiner adds nothing
    torch.testing.assert_close(restore(blurred[0], aware, kernel=kernel, tile=None), expected)
    with pytest.raises(Exception, match="kernel-aware: pass the blur kernel"):
        restore(blurred[0], aware)
    with pytest.raises(Exception, match="takes no kernel"):
        restore(blurred[0], make("unet", width=4, depth=2, blocks=1), kernel=kernel)


@pytest.fixture(scope="module")
def tiny_net():
    import torch

    from deblur.nets import create_net

    torch.manual_seed(0)
    net = create_net("unet", width=4, depth=2, blocks=1)
    torch.nn.init.normal_(net.tail.weight, std=0.05)
    return net.eval()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    channels=st.sampled_from([0, 1, 3, 4]),
    dtype=st.sampled_from(["uint8", "uint16", "float32"]),
    seed=st.integers(0, 2**16),
)
def test_property_restore_keeps_shape_dtype_and_range(tiny_net, height, width, channels, dtype, seed) -> None:
    import numpy as np

    from deblur import restore

    rng = np.random.default_rng(seed)
    shape = (height, width) if channels == 0 else (height, width, channels)
    if dtype == "float32":
        array = rng.random(shape, dtype=np.float32)
    else:
        array = rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)
    out = restore(array, tiny_net, tile=16, overlap=4)
    assert out.shape == array.shape and out.dtype == array.dtype
    assert np.all(np.isfinite(out.astype(np.float64)))
    if dtype == "float32":
        assert out.min() >= 0 and out.max() <= 1
    if channels == 4:
        assert np.array_equal(out[..., 3], array[..., 3])  # alpha passes through
