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


def test_exception_restore_refuses_a_kernel_larger_than_the_image() -> None:
    # C23: a known kernel larger than the photo gave a destroyed image without a word
    from deblur.errors import ConfigError

    kernel = np.full((11, 11), 1 / 121, np.float32)
    with pytest.raises(ConfigError, match=r"the kernel \(11x11 px\) is larger than the image \(8x30 px\)"):
        restore(np.zeros((8, 30, 3), np.uint8), kernel=kernel, device="cpu")
    assert restore(np.zeros((11, 30, 3), np.uint8), kernel=kernel, device="cpu").shape == (11, 30, 3)


def test_exception_restore_refuses_non_finite_inputs_and_kernel_weights(net: torch.nn.Module) -> None:
    # C12: NaN/Inf inputs and an infinite --kernel-weight ran, then blamed "the model" for the NaN result
    from deblur.config import RestoreConfig
    from deblur.errors import ConfigError
    from deblur.restoration import KernelDeconvolution

    for bad in (np.nan, np.inf):
        array = np.full((16, 16, 3), 0.5, np.float32)
        array[3, 4, 1] = bad
        with pytest.raises(ConfigError, match="NaN or infinite"):
            restore(array, net)
        with pytest.raises(ConfigError, match="NaN or infinite"):
            restore(torch.from_numpy(array).permute(2, 0, 1), net)
    for weight in (float("inf"), float("nan"), 0.0):
        with pytest.raises(ConfigError, match="kernel_weight must be a positive number"):
            RestoreConfig(kernel=Path("k.npy"), kernel_weight=weight)
        with pytest.raises(ConfigError, match="kernel_weight must be a positive number"):
            KernelDeconvolution(torch.ones(3, 3) / 9, weight)


def test_values_restore_of_a_tensor_returns_a_normal_tensor(net: torch.nn.Module, tmp_path: Path) -> None:
    # C08: float32 tensors came back as inference tensors: in-place ops and autograd on them raised
    from tests.helpers import blind_model

    image = torch.rand(3, 24, 24)
    for model, options in ((net, {}), (None, {"kernel": torch.ones(3, 3) / 9})):
        restored = restore(image, model, device="cpu", **options)
        assert not restored.is_inference() and not restored.requires_grad
        restored.clamp_(0, 1)
        restored.requires_grad_()
        (restored * 2).sum().backward()
    restored = restore(image, blind_model(tmp_path / "b.safetensors"), device="cpu", strength=0.5)
    assert not restored.is_inference()


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.random.default_rng(0).random((16, 16, 3)) * 255, "float images must hold values in \\[0, 1\\]"),
        (np.full((16, 16), -3.0, np.float32), "float images must hold values in \\[0, 1\\]"),
        (torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8), "tensors must be float images"),
        (torch.randint(0, 256, (3, 16, 16)), "tensors must be float images"),
        (torch.zeros(3, 16, 16, dtype=torch.bool), "tensors must be float images"),
        (np.zeros((0, 0, 3), np.uint8), "images must be arrays"),  # C25
        (np.zeros((5, 0), np.uint8), "images must be arrays"),  # C25
        (np.zeros(100, np.uint8), "images must be arrays"),  # C25
        (np.zeros((2, 4, 4, 3), np.uint8), "images must be arrays"),  # C25
        (np.array(3, np.uint8), "images must be arrays"),  # C25
        (torch.zeros(16), "tensors must be"),  # C25
        (torch.zeros(3, 0, 5), "tensors must be"),  # C25
    ],
)
def test_exception_restore_refuses_what_it_cannot_take(image, message: str, net: torch.nn.Module) -> None:
    # C10: float arrays in [0, 255] came back white, integer tensors came back as 0/1 garbage; C25: raw exceptions
    from deblur.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        restore(image, net)
    assert restore(np.full((16, 16, 3), 1.05), net).max() <= 1  # noise a little past 1 is clipped, as before
