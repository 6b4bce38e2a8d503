"""Photos as stored: pixels at their bit depth (uint8 or uint16), grey or colour, with alpha, EXIF and ICC.
:func:`read_photo` is the one reader of image files: untrusted files are checked from their header (format allowlist,
pixel limit, still image) before any pixel is decoded, and EXIF orientation is applied once. :func:`encode_photo` writes
a photo back with its metadata, adding the EXIF and ICC bytes to the 16-bit PNG and TIFF files OpenCV writes without
them.
"""

from __future__ import annotations

import contextlib
import io
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from deblur.errors import ImageError

MAX_PIXELS = 100_000_000
"""Default limit on width x height of an input image (decompression-bomb guard)."""


def image_size(path: str | Path) -> tuple[int, int]:
    """``(height, width)`` read from the file header without decoding the pixels."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = None  # our own limit applies, in read_photo
    try:
        with Image.open(path) as im:
            width, height = im.size
    except FileNotFoundError as exc:
        raise ImageError(f"{path} does not exist") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageError(f"{path} is not a readable image ({exc.__class__.__name__}): check the file") from exc
    return height, width


PHOTO_FORMATS = {
    "JPEG": (".jpg", ".jpeg"),
    "PNG": (".png",),
    "TIFF": (".tif", ".tiff"),
    "WEBP": (".webp",),
    "BMP": (".bmp",),
}
"""Formats ``read_photo`` decodes (an allowlist: no exotic decoders), by Pillow's name, with their extensions."""

_ORIENT = {  # EXIF orientation -> numpy operations that display the image upright
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1, :],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
    7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
    8: lambda a: np.swapaxes(a, 0, 1)[::-1, :],
}


@dataclass
class Photo:
    """A photo as stored: pixels ``(H, W[, C])`` (uint8 or uint16, RGB(A) or grey, upright) and what to keep."""

    pixels: np.ndarray
    format: str
    exif: bytes | None = None
    icc_profile: bytes | None = None

    @property
    def bit_depth(self) -> int:
        """Bits per channel: 8 or 16."""
        return 16 if self.pixels.dtype == np.uint16 else 8


@contextlib.contextmanager
def _open_quietly(path: Path) -> Iterator[Any]:
    """``PIL.Image.open`` with Pillow's warnings about damaged metadata silenced: read_photo drops such metadata."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(path) as im:
            yield im


def read_photo(path: str | Path, max_pixels: int | None = MAX_PIXELS) -> Photo:
    """Read a photo as stored, keeping its bit depth, channels (grey, alpha), EXIF and ICC profile: the one reader
    of image files (restoration uses it directly, :func:`read_image` for training, synthesis and benchmarks).

    The header is checked first: the format must be in :data:`PHOTO_FORMATS`, the pixel count within
    ``max_pixels`` and the image still (a multi-page TIFF gives its first page), before any pixel is decoded.
    EXIF orientation is applied once (and reset to 1 in the kept EXIF).

    Raises:
        ImageError: missing, unreadable, corrupt, unsupported, animated or oversized file.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path} does not exist or is not a file")
    Image.MAX_IMAGE_PIXELS = None  # our own limit applies below
    try:
        with _open_quietly(path) as im:
            kind, (width, height) = im.format, im.size
            # the format and the size come from the header alone; check them before anything reads pixel data
            # (Pillow's PNG getexif() decodes the image to reach chunks after it)
            if kind not in PHOTO_FORMATS:
                raise ImageError(f"{path} is a {kind} file: deblur reads {', '.join(PHOTO_FORMATS)} only")
            if max_pixels is not None and width * height > max_pixels:
                raise ImageError(
                    f"{path} has {width}x{height} = {width * height / 1e6:.0f} MP, over the limit of "
                    f"{max_pixels / 1e6:.0f} MP: downscale it or raise --max-pixels"
                )
            frames = getattr(im, "n_frames", 1)
            if frames > 1 and kind != "TIFF":
                raise ImageError(f"{path} is animated ({frames} frames): deblur restores still images")
            orientation, exif = _metadata(im)
            icc = im.info.get("icc_profile")
            mode = im.mode
            # Pillow decodes 8-bit TIFFs in every layout (planar, CMYK, associated alpha, grey + alpha), which
            # OpenCV's libtiff path gets wrong; 16-bit images go through OpenCV, which keeps their depth
            bits = im.tag_v2.get(258, 8) if kind == "TIFF" else 8
            eight_bit = mode in _PILLOW_TIFF_MODES and max(np.atleast_1d(bits)) <= 8
            # OpenCV refuses sides over 2^20 px (valid files, e.g. panoramas' strips): Pillow decodes those
            pillow = eight_bit and (kind == "TIFF" or max(width, height) > OPENCV_MAX_SIDE)
            array = _pillow_pixels(im) if pillow else None
            # Pillow 10+ turns TIFFs upright as it loads them (and drops the tag); older versions do not
            upright = kind == "TIFF" and (not pillow or 0x0112 not in im.tag_v2)
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, TypeError, struct.error) as exc:
        samples = _tiff_samples_per_pixel(path)
        if samples is not None and samples not in (1, 2, 3, 4):  # a valid TIFF of a kind deblur does not restore
            raise ImageError(
                f"{path} is a TIFF with {samples} channels per pixel: deblur reads grey, grey + alpha, RGB and RGBA"
            ) from exc
        raise ImageError(f"{path} is not a readable image ({exc.__class__.__name__}): check the file") from exc
    if array is None:
        if kind == "TIFF" and mode not in ("I;16", "I;16B", "I;16L", "RGB", "RGBA"):
            raise ImageError(f"{path} is a {mode} TIFF: deblur reads 8-bit TIFFs and 16-bit grey or RGB(A) ones")
        array = _opencv_pixels(path, (height, width))
        if mode in ("LA", "La", "PA") and array.ndim == 3 and array.shape[2] == 4:
            array = array[:, :, [0, 3]]  # grey + alpha, which OpenCV expands to four channels
    if orientation in _ORIENT and not upright:
        # OpenCV's TIFF decoder (libtiff) returns TIFFs upright already, whatever the flags; other formats as stored
        array = _ORIENT[orientation](array)
    return Photo(np.ascontiguousarray(array), kind, exif, icc)


def _tiff_samples_per_pixel(path: Path) -> int | None:
    """SamplesPerPixel (tag 277) of a TIFF's first image, read from its header; None if it is not a readable TIFF."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
            order = {b"II": "<", b"MM": ">"}.get(head[:2])
            if order is None or struct.unpack(order + "H", head[2:4])[0] != 42:
                return None
            handle.seek(struct.unpack(order + "I", head[4:8])[0])
            (count,) = struct.unpack(order + "H", handle.read(2))
            for _ in range(min(count, 1000)):
                tag, kind, _, value = struct.unpack(order + "HHI4s", handle.read(12))
                if tag == 277:
                    return struct.unpack(order + ("H" if kind == 3 else "I"), value[: 2 if kind == 3 else 4])[0]
    except (OSError, struct.error):
        return None
    return 1  # the default when the tag is absent


OPENCV_MAX_SIDE = 1 << 20
"""OpenCV's decoders refuse images wider or taller than this (``CV_IO_MAX_IMAGE_WIDTH``)."""

_PILLOW_TIFF_MODES = {"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr"}

_EXIF_KEPT = (0x010E, 0x010F, 0x0110, 0x011A, 0x011B, 0x0128, 0x0131, 0x0132, 0x013B, 0x8298)
"""The main-IFD tags kept in outputs: description, make, model, resolution, software, date, artist, copyright.
(A TIFF's main IFD also holds its layout, StripOffsets, BitsPerSample and the like, which must not be copied.)"""


def _metadata(im: Any) -> tuple[int, bytes | None]:
    """The EXIF orientation and the metadata worth keeping, as EXIF bytes with orientation 1 (the pixels are
    made upright): the descriptive tags of the main IFD and the Exif and GPS IFDs, read while the file is open.
    Malformed metadata is dropped: the pixels matter more."""
    from PIL import Image

    try:
        exif = im.getexif()
        orientation = int(exif.get(0x0112, 1) or 1)
    except Exception:  # a malformed EXIF block: no orientation, no metadata
        return 1, None
    try:
        clean = Image.Exif()
        for tag in _EXIF_KEPT:
            if tag in exif:
                clean[tag] = exif[tag]
        for pointer in (0x8769, 0x8825):  # the Exif IFD (dates, exposure) and the GPS IFD
            if pointer in exif:
                entries = {k: v for k, v in exif.get_ifd(pointer).items() if k != 0xA005}  # no interop IFD
                if entries:
                    clean.get_ifd(pointer).update(entries)
                    clean[pointer] = 0  # written as a sub-IFD
        if orientation in _ORIENT or 0x0112 in exif:
            clean[0x0112] = 1
        data = clean.tobytes() if len(clean) else None
    except Exception:
        return orientation, None
    return orientation, data


def _pillow_pixels(im: Any) -> np.ndarray:
    """8-bit pixels of an open Pillow image as stored: grey, grey + alpha, RGB or RGBA (straight alpha)."""
    mode = im.mode
    target = {"1": "L", "La": "LA", "PA": "RGBA", "RGBa": "RGBA", "RGBX": "RGB", "CMYK": "RGB", "YCbCr": "RGB"}
    if mode == "P":
        target["P"] = "RGBA" if "transparency" in im.info else "RGB"
    converted = im.convert(target[mode]) if mode in target else im
    return np.asarray(converted).copy()


def _opencv_pixels(path: Path, shape: tuple[int, int]) -> np.ndarray:
    data = np.fromfile(path, dtype=np.uint8)
    try:
        array = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    except cv2.error as exc:
        raise ImageError(f"{path} cannot be decoded ({str(exc).strip().splitlines()[-1]}): check the file") from exc
    if array is None or array.shape[:2] != shape:
        raise ImageError(f"{path} is not a readable image (corrupt or truncated)")
    if array.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"{path} has {array.dtype} pixels: deblur reads 8- and 16-bit images")
    if array.ndim == 3 and array.shape[2] == 3:
        array = array[:, :, ::-1]
    elif array.ndim == 3 and array.shape[2] == 4:
        array = array[:, :, [2, 1, 0, 3]]
    elif array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    elif array.ndim == 3:
        raise ImageError(f"{path} has {array.shape[2]} channels: deblur reads grey, RGB and RGBA images")
    return array


def encode_photo(photo: Photo, suffix: str, quality: int = 95) -> bytes:
    """Encode ``photo`` as the format of ``suffix``, with its EXIF and ICC profile where the format allows.

    8-bit images go through Pillow (which writes the metadata); 16-bit ones through OpenCV as 16-bit PNG (with the
    ICC profile and EXIF added as PNG chunks) or TIFF (with them added as tags); a 16-bit image saved as JPEG, WebP or
    BMP is reduced to 8 bits. EXIF that a format cannot hold is left out rather than failing the file.
    """
    from PIL import Image

    suffix = suffix.lower()
    kinds = {ext: name for name, exts in PHOTO_FORMATS.items() for ext in exts}
    if suffix not in kinds:
        raise ImageError(f"cannot write {suffix!r} files: use one of {', '.join(sorted(kinds))}")
    kind, pixels = kinds[suffix], photo.pixels
    if pixels.ndim == 3 and pixels.shape[2] == 2 and (kind == "WEBP" or pixels.dtype == np.uint16):
        pixels = pixels[:, :, [0, 0, 0, 1]]  # grey + alpha as RGBA where the encoder has no grey + alpha
    if pixels.dtype == np.uint16 and kind in ("PNG", "TIFF"):
        bgr = pixels if pixels.ndim == 2 else pixels[:, :, [2, 1, 0, 3][: pixels.shape[2]]]
        ok, buffer = cv2.imencode(suffix, np.ascontiguousarray(bgr))
        if not ok:
            raise ImageError(f"OpenCV could not encode a 16-bit {suffix} image")
        if kind == "PNG":
            return _png_with_metadata(buffer.tobytes(), photo)
        return _tiff_with_metadata(buffer.tobytes(), photo) if photo.icc_profile or photo.exif else buffer.tobytes()
    if pixels.dtype == np.uint16:
        pixels = (pixels.astype(np.float32) / 257.0).round().astype(np.uint8)
    if kind in ("JPEG", "BMP") and pixels.ndim == 3 and pixels.shape[2] in (2, 4):
        pixels = pixels[:, :, : pixels.shape[2] - 1] if pixels.shape[2] == 4 else pixels[:, :, 0]  # no alpha there
    image = Image.fromarray(np.ascontiguousarray(pixels))
    options: dict[str, Any] = {}
    if kind in ("JPEG", "WEBP"):
        options["quality"] = quality
    if photo.icc_profile and kind in ("JPEG", "PNG", "TIFF", "WEBP"):
        options["icc_profile"] = photo.icc_profile
    if photo.exif and kind in ("JPEG", "PNG", "TIFF", "WEBP"):
        try:
            buffer = io.BytesIO()
            image.save(buffer, format=kind, exif=photo.exif, **options)
            return buffer.getvalue()
        except (ValueError, OSError, struct.error):  # EXIF this format cannot hold (JPEG: 64 kB at most)
            pass
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **options)
    return buffer.getvalue()


def _ifd_entries(data: bytes, offset: int, order: str) -> tuple[dict[int, bytes], int]:
    """The 12-byte entries of the TIFF IFD at ``offset`` of ``data``, by tag, and the offset of the next IFD."""
    (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    start = offset + 2
    entries = {
        struct.unpack(order + "H", data[start + 12 * i : start + 2 + 12 * i])[0]: data[
            start + 12 * i : start + 12 * (i + 1)
        ]
        for i in range(count)
    }
    (following,) = struct.unpack(order + "I", data[start + 12 * count : start + 12 * count + 4])
    return entries, following


def _tiff_exif(exif: bytes) -> bytes:
    """EXIF bytes as a TIFF structure, without the ``Exif\\0\\0`` marker Pillow puts before it (PNG's eXIf and
    TIFF tags want the structure alone)."""
    return exif[6:] if exif.startswith(b"Exif\0\0") else exif


def _tiff_with_metadata(tiff: bytes, photo: Photo) -> bytes:
    """A TIFF (as OpenCV writes 16-bit ones, without metadata) with the photo's ICC profile (tag 34675), its
    descriptive EXIF tags and its Exif and GPS IFDs added: the data and a copy of the first IFD with the new entries
    are appended, and the header is pointed at the new IFD. Metadata that cannot be re-encoded is left out."""
    from PIL import Image, TiffImagePlugin

    order = {b"II": "<", b"MM": ">"}[tiff[:2]]
    (offset,) = struct.unpack(order + "I", tiff[4:8])
    entries, following = _ifd_entries(tiff, offset, order)
    body = bytearray(tiff + b"\0" * (len(tiff) % 2))

    def append_ifd(tags: dict[int, Any]) -> tuple[int, bytes]:
        directory = TiffImagePlugin.ImageFileDirectory_v2(prefix=tiff[:2])
        for tag, value in tags.items():
            directory[tag] = value
        at = len(body)
        data = directory.tobytes(at)  # offsets inside are absolute, for this position
        body.extend(data + b"\0" * (len(data) % 2))
        return at, data

    if photo.icc_profile:
        entries[34675] = struct.pack(order + "HHII", 34675, 7, len(photo.icc_profile), len(body))
        body.extend(photo.icc_profile + b"\0" * (len(photo.icc_profile) % 2))
    if photo.exif:
        try:
            source = Image.Exif()
            source.load(_tiff_exif(photo.exif))
            main = {tag: source[tag] for tag in _EXIF_KEPT if tag in source}
            if main:
                _, data = append_ifd(main)
                entries.update(_ifd_entries(data, 0, order)[0])  # their values sit in the appended data
            for pointer in (0x8769, 0x8825):
                sub = dict(source.get_ifd(pointer)) if pointer in source else {}
                if sub:
                    at, _ = append_ifd(sub)
                    entries[pointer] = struct.pack(order + "HHII", pointer, 4, 1, at)
        except Exception:  # the profile is kept; descriptive tags are not worth failing the file
            pass
    ifd_at = len(body)
    ordered = [entries[tag] for tag in sorted(entries)]
    body.extend(struct.pack(order + "H", len(ordered)) + b"".join(ordered) + struct.pack(order + "I", following))
    return bytes(body[:4]) + struct.pack(order + "I", ifd_at) + bytes(body[8:])


def _png_with_metadata(png: bytes, photo: Photo) -> bytes:
    """A PNG (as OpenCV writes 16-bit ones, without metadata) with the photo's ICC profile (``iCCP``) and EXIF
    (``eXIf``) chunks inserted after its header chunk."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    extra = b""
    if photo.icc_profile:
        extra += chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(photo.icc_profile))
    if photo.exif:
        extra += chunk(b"eXIf", _tiff_exif(photo.exif))
    header_end = 8 + 8 + 13 + 4  # signature, then IHDR: length, type, 13 bytes, CRC
    return png[:header_end] + extra + png[header_end:]
