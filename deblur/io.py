"""Reading and writing images and files, safely.

Inside the library an image is a float32 RGB tensor ``(3, H, W)`` with values in [0, 1]; uint8/uint16 and
OpenCV's BGR order exist only here. Untrusted files are validated before decoding (size from the header, a pixel
limit), and every write goes to a temporary file in the target folder that is renamed into place, so a crash or a
full disk never leaves a half-written file and an existing file is only replaced when asked.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from deblur.errors import ImageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")
MAX_PIXELS = 100_000_000
"""Default limit on width x height of an input image (decompression-bomb guard)."""


def list_images(root: str | Path, recursive: bool = True) -> list[Path]:
    """Image files under ``root`` (or ``root`` itself if it is a file), sorted, hidden files skipped.

    Raises:
        ImageError: ``root`` does not exist.
    """
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise ImageError(f"{root} does not exist: give a folder of images or an image file")
    pattern = "**/*" if recursive else "*"
    return sorted(
        p
        for p in root.glob(pattern)
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not any(s.startswith(".") for s in p.parts[-1:])
    )


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


def read_image(path: str | Path, max_pixels: int | None = MAX_PIXELS) -> torch.Tensor:
    """Read an image file as float32 RGB ``(3, H, W)`` in [0, 1], with the checks of :func:`read_photo`.

    The format must be one of :data:`PHOTO_FORMATS`, the pixel count within ``max_pixels`` and the image still
    (not animated), all checked from the header before any pixel is decoded. EXIF orientation is applied; 8- and
    16-bit files are scaled by 255 and 65535; grey is repeated to three channels and alpha dropped (see
    :func:`pixels_to_tensor`).

    Args:
        path: the image file.
        max_pixels: refuse images with more pixels than this (``None``: no limit).

    Raises:
        ImageError: missing, unreadable, corrupt, unsupported, animated or oversized file.
    """
    return pixels_to_tensor(read_photo(path, max_pixels).pixels)


def pixels_to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """A photo's pixels ``(H, W[, C])``, RGB(A) or grey, uint8 or uint16 -> float32 RGB tensor ``(3, H, W)`` in [0, 1].

    Grey is repeated to three channels and alpha is dropped (not composited).

    Example:
        >>> pixels_to_tensor(np.full((2, 3), 255, np.uint8)).shape
        torch.Size([3, 2, 3])
        >>> pixels_to_tensor(np.array([[[0, 65535, 0, 7]]], np.uint16))[:, 0, 0]
        tensor([0., 1., 0.])
    """
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"expected uint8 or uint16 pixels, got {pixels.dtype}")
    scaled = pixels.astype(np.float32) / (255.0 if pixels.dtype == np.uint8 else 65535.0)
    if scaled.ndim == 2:
        scaled = np.repeat(scaled[:, :, None], 3, axis=2)
    return torch.from_numpy(np.ascontiguousarray(scaled[:, :, :3].transpose(2, 0, 1)))


def tensor_to_array(image: torch.Tensor, bit_depth: int = 8) -> np.ndarray:
    """Float RGB tensor (3, H, W) or gray (1, H, W) in [0, 1] -> OpenCV uint8/uint16 array (BGR), rounded."""
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"expected an image tensor of shape (1 or 3, H, W), got {tuple(image.shape)}")
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
    scale, dtype = (255.0, np.uint8) if bit_depth == 8 else (65535.0, np.uint16)
    array = (image.detach().float().clamp(0, 1) * scale).round().cpu().numpy().astype(dtype).transpose(1, 2, 0)
    return np.ascontiguousarray(array[:, :, ::-1] if array.shape[2] == 3 else array[:, :, 0])


def atomic_write_bytes(path: str | Path, data: bytes, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename.

    The file gets the mode a new file gets under the process's umask, or the mode of the file it replaces. The
    temporary name is short (``.deblur-XXXXXXXX.tmp``), so any name the file system allows can be written.

    Raises:
        ImageError: the file exists and ``overwrite`` is false, or the write failed (the target is untouched).
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise ImageError(f"{path} already exists: pass --overwrite to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".deblur-", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # POSIX: mkstemp's 0600 would otherwise stay
            os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_new(Path(tmp), path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, FileExistsError):
            raise ImageError(f"{path} already exists: pass --overwrite to replace it") from exc
        if isinstance(exc, OSError):
            raise ImageError(f"cannot write {path}: {exc.strerror or exc} (nothing was written)") from exc
        raise
    return path


def _mode_for(path: Path) -> int:
    """The permission bits for a file written at ``path``: those of the file there, else ``0o666`` less the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _link_new(tmp: Path, path: Path) -> None:
    """Give the finished ``tmp`` the name ``path`` only if nothing has it yet, atomically (a hard link fails on an
    existing name, so two processes never replace each other's file); plain rename where links are unsupported."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:
        if path.exists():
            raise FileExistsError(path) from None
        os.replace(tmp, path)
        return
    tmp.unlink()


def encode_npy(array: np.ndarray) -> bytes:
    """The bytes of a ``.npy`` file holding ``array`` (no pickled objects)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def atomic_write_json(path: str | Path, data: Any, overwrite: bool = True) -> Path:
    """Write ``data`` as indented JSON (keys in insertion order, trailing newline), atomically."""
    return atomic_write_bytes(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"), overwrite=overwrite)


def encode_image(image: torch.Tensor, suffix: str, bit_depth: int = 8, quality: int = 95) -> bytes:
    """Encode a float image tensor (1 or 3, H, W) to the bytes of a file with extension ``suffix``."""
    suffix = suffix.lower()
    if suffix not in IMAGE_EXTENSIONS:
        raise ImageError(f"cannot write {suffix or 'extension-less'} files: use one of {', '.join(IMAGE_EXTENSIONS)}")
    if bit_depth == 16 and suffix not in (".png", ".tif", ".tiff"):
        raise ImageError(f"16-bit output needs .png or .tif, not {suffix}")
    params: list[int] = []
    if suffix in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    elif suffix == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, int(quality)]
    elif suffix == ".png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, 6]
    ok, buffer = cv2.imencode(suffix, tensor_to_array(image, bit_depth), params)
    if not ok:
        raise ImageError(f"OpenCV could not encode a {suffix} image")
    return buffer.tobytes()


def write_image(
    path: str | Path, image: torch.Tensor, bit_depth: int = 8, quality: int = 95, overwrite: bool = False
) -> Path:
    """Write a float image tensor (1 or 3, H, W) in [0, 1] atomically; the format follows the extension.

    Args:
        path: output file; its folder is created.
        image: values are clamped to [0, 1] and rounded.
        bit_depth: 8 or 16 (PNG and TIFF only).
        quality: JPEG/WebP quality.
        overwrite: replace an existing file.

    Raises:
        ImageError: unsupported extension, existing file without ``overwrite``, or a failed write.
    """
    path = Path(path)
    return atomic_write_bytes(path, encode_image(image, path.suffix, bit_depth, quality), overwrite=overwrite)


def relative_stems(paths: Iterable[Path], root: Path) -> list[str]:
    """Names for outputs that mirror inputs: the path relative to ``root`` without its extension, unique: inputs
    that share a stem (``x.png`` and ``x.jpg``; ``X.png`` and ``x.png``, one file on case-insensitive systems)
    keep their extension in the name (``x_png``, ``x_jpg``), so that no output is written over another.

    Example:
        >>> relative_stems([Path("d/x.png"), Path("d/x.jpg"), Path("d/y.png")], Path("d/x.png"))
        ['x_png', 'x_jpg', 'y']
    """
    root = root if root.is_dir() else root.parent
    paths = list(paths)
    stems = [p.relative_to(root).with_suffix("").as_posix() for p in paths]
    counts: dict[str, int] = {}
    for stem in stems:
        counts[stem.casefold()] = counts.get(stem.casefold(), 0) + 1
    names = [
        f"{stem}_{p.suffix.lstrip('.').lower()}" if counts[stem.casefold()] > 1 else stem
        for stem, p in zip(stems, paths, strict=True)
    ]
    if len({n.casefold() for n in names}) != len(names):  # the same stem and extension, differing in case only
        names = [f"{name}_{i}" for i, name in enumerate(names)]
    return names


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
