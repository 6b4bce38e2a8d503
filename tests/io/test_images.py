"""Images as float tensors in [0, 1]: round trips, bit depths, channel order, clear errors for bad files, and the
one conversion between integer pixels and floats."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from deblur.errors import ConfigError, ImageError
from deblur.io.images import from_float, pixel_scale, pixels_to_tensor, read_image, to_float, write_image
from deblur.io.photos import read_photo


def test_roundtrip_8bit(tmp_path: Path) -> None:
    image = torch.rand(3, 20, 30)
    write_image(tmp_path / "a.png", image)
    back = read_image(tmp_path / "a.png")
    assert back.shape == (3, 20, 30) and back.dtype == torch.float32
    torch.testing.assert_close(back, (image * 255).round() / 255, atol=1e-6, rtol=0)


def test_roundtrip_16bit(tmp_path: Path) -> None:
    image = torch.rand(3, 8, 9)
    write_image(tmp_path / "a.tif", image, bit_depth=16)
    assert cv2.imread(str(tmp_path / "a.tif"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    torch.testing.assert_close(read_image(tmp_path / "a.tif"), image, atol=1 / 65535, rtol=0)


def test_rgb_order(tmp_path: Path) -> None:
    bgr = np.zeros((4, 4, 3), np.uint8)
    bgr[..., 2] = 255  # red in OpenCV's order
    cv2.imwrite(str(tmp_path / "red.png"), bgr)
    image = read_image(tmp_path / "red.png")
    assert image[0].min() == 1.0 and image[1:].max() == 0.0


def test_gray_and_alpha_become_rgb(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "gray.png"), np.full((5, 6), 128, np.uint8))
    cv2.imwrite(str(tmp_path / "rgba.png"), np.full((5, 6, 4), 200, np.uint8))
    assert read_image(tmp_path / "gray.png").shape == (3, 5, 6)
    assert read_image(tmp_path / "rgba.png").shape == (3, 5, 6)
    from PIL import Image

    grey_alpha = np.stack([np.full((5, 6), 128, np.uint8), np.full((5, 6), 9, np.uint8)], axis=-1)
    Image.fromarray(grey_alpha, "LA").save(tmp_path / "grey_alpha.png")
    torch.testing.assert_close(read_image(tmp_path / "grey_alpha.png"), read_image(tmp_path / "gray.png"))


@pytest.mark.parametrize("suffix", [".jpg", ".webp", ".bmp", ".tiff"])
def test_formats(tmp_path: Path, suffix: str) -> None:
    image = torch.rand(3, 16, 16)
    write_image(tmp_path / f"a{suffix}", image)
    assert read_image(tmp_path / f"a{suffix}").shape == (3, 16, 16)


def test_exception_missing(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="does not exist"):
        read_image(tmp_path / "missing.png")


def test_exception_corrupt(tmp_path: Path) -> None:
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(ImageError, match="bad.png"):
        read_image(tmp_path / "bad.png")
    (tmp_path / "text.jpg").write_text("not an image")
    with pytest.raises(ImageError, match="text.jpg"):
        read_image(tmp_path / "text.jpg")


def test_exception_pixel_limit(tmp_path: Path) -> None:
    write_image(tmp_path / "big.png", torch.zeros(3, 100, 100))
    with pytest.raises(ImageError, match="over the limit"):
        read_image(tmp_path / "big.png", max_pixels=5000)


def test_no_overwrite_and_atomic(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    write_image(target, torch.zeros(3, 4, 4))
    before = target.read_bytes()
    with pytest.raises(ImageError, match="already exists"):
        write_image(target, torch.ones(3, 4, 4))
    assert target.read_bytes() == before
    write_image(target, torch.ones(3, 4, 4), overwrite=True)
    assert target.read_bytes() != before
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary files left


def test_exception_unsupported_extension(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="cannot write .gif"):
        write_image(tmp_path / "a.gif", torch.zeros(3, 4, 4))


def test_exception_read_image_has_the_checks_of_read_photo(tmp_path: Path) -> None:
    # training, synth and bench inputs are refused exactly where restore's are: format allowlist, animation
    from PIL import Image

    frames = [Image.fromarray(np.full((8, 8, 3), v, np.uint8)) for v in (0, 255)]
    frames[0].save(tmp_path / "anim.png", save_all=True, append_images=frames[1:])
    frames[0].save(tmp_path / "still.gif")
    with pytest.raises(ImageError, match="animated"):
        read_image(tmp_path / "anim.png")
    with pytest.raises(ImageError, match="GIF file"):
        read_image(tmp_path / "still.gif")


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_values_exif_orientation_applied_once(tmp_path: Path, suffix: str) -> None:
    from PIL import Image

    pixels = np.zeros((10, 20, 3), np.uint8)
    pixels[:, :5] = 255  # a white band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed turned 90 degrees clockwise: the band is at the top, the image 20 x 10
    Image.fromarray(pixels).save(
        tmp_path / f"rotated{suffix}", exif=exif, **({"quality": 100} if suffix in (".jpg", ".webp") else {})
    )
    image = read_image(tmp_path / f"rotated{suffix}")
    assert image.shape == (3, 20, 10)
    assert image[:, :4].min() > 0.9 and image[:, 6:].max() < 0.1
    assert torch.equal(image, torch.from_numpy(read_photo(tmp_path / f"rotated{suffix}").pixels).permute(2, 0, 1) / 255)


def test_values_pixels_to_tensor() -> None:
    grey = np.array([[0, 255]], np.uint8)
    torch.testing.assert_close(pixels_to_tensor(grey), torch.tensor([[[0.0, 1.0]]]).expand(3, 1, 2))
    rgba = np.array([[[65535, 0, 32768, 0]]], np.uint16)
    torch.testing.assert_close(pixels_to_tensor(rgba)[:, 0, 0], torch.tensor([1.0, 0.0, 32768 / 65535]))
    with pytest.raises(ValueError, match="uint8 or uint16"):
        pixels_to_tensor(np.zeros((2, 2), np.float32))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_values_to_float_and_back_is_exact_for_every_level(dtype: type) -> None:
    levels = np.arange(np.iinfo(dtype).max + 1, dtype=dtype)
    values, scale = to_float(levels)
    assert values.dtype == torch.float32 and scale == pixel_scale(np.dtype(dtype)) == np.iinfo(dtype).max
    np.testing.assert_array_equal(values.numpy(), levels.astype(np.float32) / np.float32(scale))
    back = from_float(values, np.dtype(dtype))
    assert back.dtype == dtype and np.array_equal(back, levels)


def test_values_from_float_rounds_half_to_even_and_clamps() -> None:
    values = torch.tensor([-1.0, -0.0, 0.5 / 255, 1.5 / 255, 254.5 / 255, 1.0 + 1e-6, float("inf")])
    np.testing.assert_array_equal(from_float(values, np.dtype(np.uint8)), [0, 0, 0, 2, 254, 255, 255])
    np.testing.assert_array_equal(from_float(torch.tensor([0.5 / 65535, 2.0]), np.dtype(np.uint16)), [0, 65535])
    floats = from_float(torch.tensor([-0.25, 1.5]), np.dtype(np.float64))  # floats are not clamped
    assert floats.dtype == np.float64 and floats.tolist() == [-0.25, 1.5]


def test_values_to_float_copies_read_only_and_strided_pixels() -> None:
    pixels = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    pixels.setflags(write=False)
    values, _ = to_float(pixels.transpose(2, 0, 1))  # (C, H, W) planes of (H, W, C) pixels
    assert values.is_contiguous() and values.shape == (4, 2, 3)
    torch.testing.assert_close(values * 255, torch.from_numpy(pixels.transpose(2, 0, 1).astype(np.float32)))
    floats = np.full((2, 2), 0.25, np.float32)
    values, scale = to_float(floats)
    values += 1  # a copy: the caller's array is untouched
    assert scale == 1.0 and floats.max() == 0.25


def test_exception_to_float_other_dtypes() -> None:
    with pytest.raises(ConfigError, match="unsupported image dtype int32"):
        to_float(np.zeros((2, 2), np.int32))
    with pytest.raises(ConfigError, match="unsupported image dtype bool"):
        from_float(torch.zeros(2), np.dtype(bool))
