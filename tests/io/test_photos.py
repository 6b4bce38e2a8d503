"""Photos as stored: header checks before decoding, EXIF orientation, and bit depth, ICC and EXIF kept on writing."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from deblur.errors import ImageError
from deblur.io.photos import Photo, encode_photo, read_photo


def png_bomb(path: Path, side: int = 100_000) -> Path:
    """A valid PNG header claiming side x side RGB pixels, with almost no data (a decompression bomb's header)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )
    return path


def test_values_bomb_refused_fast_without_allocation(tmp_path: Path) -> None:
    import time
    import tracemalloc

    bomb = png_bomb(tmp_path / "bomb.png")
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(ImageError, match="over the limit"):
        read_photo(bomb)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 0.1 and peak < 50e6


def test_values_sixteen_bit_png_keeps_icc_and_exif_and_grey_alpha_stays_grey_alpha(tmp_path: Path) -> None:
    from PIL import Image, ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "Camera"
    pixels = np.random.default_rng(0).integers(0, 65535, (12, 16, 3), dtype=np.uint16)
    (tmp_path / "deep.png").write_bytes(encode_photo(Photo(pixels, "PNG", exif.tobytes(), icc), ".png"))
    back = read_photo(tmp_path / "deep.png")
    assert back.pixels.dtype == np.uint16 and np.array_equal(back.pixels, pixels)
    assert back.icc_profile == icc and Image.Exif() is not None
    with Image.open(tmp_path / "deep.png") as im:
        assert im.getexif().get(0x010F) == "Camera"
    grey_alpha = np.stack([pixels[..., 0] // 257, np.full((12, 16), 99)], axis=-1).astype(np.uint8)
    Image.fromarray(grey_alpha, "LA").save(tmp_path / "la.png")
    photo = read_photo(tmp_path / "la.png")
    assert photo.pixels.shape == (12, 16, 2)
    (tmp_path / "la_out.png").write_bytes(encode_photo(photo, ".png"))
    with Image.open(tmp_path / "la_out.png") as im:
        assert im.mode == "LA" and np.array_equal(np.asarray(im), grey_alpha)


def test_values_sixteen_bit_tiff_keeps_its_icc_profile_and_exif(tmp_path: Path) -> None:
    from PIL import Image, ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "Camera"
    exif.get_ifd(0x8769)[0x9003] = "2024:05:06 07:08:09"
    exif[0x8769] = 0
    pixels = np.random.default_rng(1).integers(0, 65535, (12, 16, 3), dtype=np.uint16)
    (tmp_path / "deep.tif").write_bytes(encode_photo(Photo(pixels, "TIFF", exif.tobytes(), icc), ".tif"))
    back = read_photo(tmp_path / "deep.tif")
    assert back.pixels.dtype == np.uint16 and np.array_equal(back.pixels, pixels) and back.icc_profile == icc
    with Image.open(tmp_path / "deep.tif") as im:
        kept = im.getexif()
        assert kept.get(0x010F) == "Camera" and kept.get_ifd(0x8769).get(0x9003) == "2024:05:06 07:08:09"
    assert cv2.imread(str(tmp_path / "deep.tif"), cv2.IMREAD_UNCHANGED).shape == (12, 16, 3)  # still a valid TIFF


def test_values_exif_orientation_and_metadata_kept(tmp_path: Path) -> None:
    from PIL import Image

    pixels = np.zeros((10, 20, 3), np.uint8)
    pixels[:, :5] = 255
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    exif[0x010F] = "deblur-test-camera"
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif.tobytes(), quality=100)
    photo = read_photo(path)
    assert photo.pixels.shape == (20, 10, 3)  # upright
    encoded = encode_photo(photo, ".jpg")
    out = tmp_path / "out.jpg"
    out.write_bytes(encoded)
    with Image.open(out) as reopened:
        assert reopened.getexif()[0x010F] == "deblur-test-camera" and reopened.getexif().get(0x0112, 1) == 1


def test_exception_refuses_huge_and_animated(tmp_path: Path) -> None:
    from PIL import Image

    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    frames[0].save(tmp_path / "anim.webp", save_all=True, append_images=frames[1:])
    with pytest.raises(Exception, match="animated"):
        read_photo(tmp_path / "anim.webp")
    Image.new("RGB", (64, 64)).save(tmp_path / "big.png")
    with pytest.raises(Exception, match="over the limit"):
        read_photo(tmp_path / "big.png", max_pixels=1000)
