"""Images inside the library: float32 RGB tensors ``(3, H, W)`` with values in [0, 1]. Integer pixels (uint8, uint16)
and OpenCV's BGR order exist only in :mod:`deblur.io`: :func:`read_image` and :func:`write_image` convert at the file
boundary (:func:`pixels_to_tensor`, :func:`tensor_to_array`), and :func:`to_float` / :func:`from_float` are the one
place where integer pixels are scaled to [0, 1] and rounded back.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from deblur.errors import ConfigError, ImageError
from deblur.io.files import IMAGE_EXTENSIONS, atomic_write_bytes
from deblur.io.photos import MAX_PIXELS, read_photo


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
        >>> pixels_to_tensor(np.array([[[255, 0]]], np.uint8))[:, 0, 0]  # grey + alpha
        tensor([1., 1., 1.])
    """
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"expected uint8 or uint16 pixels, got {pixels.dtype}")
    if pixels.ndim == 3 and pixels.shape[2] < 3:  # grey + alpha: the grey plane
        pixels = pixels[:, :, 0]
    # (C, H, W) views, grey repeated: the conversion's copy lays the planes out
    planes = np.broadcast_to(pixels, (3, *pixels.shape)) if pixels.ndim == 2 else pixels[:, :, :3].transpose(2, 0, 1)
    return to_float(planes)[0]


def tensor_to_array(image: torch.Tensor, bit_depth: int = 8) -> np.ndarray:
    """Float RGB tensor (3, H, W) or gray (1, H, W) in [0, 1] -> OpenCV uint8/uint16 array (BGR), rounded."""
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"expected an image tensor of shape (1 or 3, H, W), got {tuple(image.shape)}")
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
    array = from_float(image.detach().float(), np.dtype(np.uint8 if bit_depth == 8 else np.uint16)).transpose(1, 2, 0)
    return np.ascontiguousarray(array[:, :, ::-1] if array.shape[2] == 3 else array[:, :, 0])


def pixel_scale(dtype: np.dtype) -> float:
    """The value of white for pixels of ``dtype``: 255 (uint8), 65535 (uint16) or 1 (floats, already in [0, 1]).

    Raises:
        ConfigError: any other dtype.
    """
    if dtype == np.uint8:
        return 255.0
    if dtype == np.uint16:
        return 65535.0
    if np.issubdtype(dtype, np.floating):
        return 1.0
    raise ConfigError(f"unsupported image dtype {dtype}: use uint8, uint16 or float in [0, 1]")


def to_float(pixels: np.ndarray) -> tuple[torch.Tensor, float]:
    """Pixels of any shape (uint8, uint16, or float in [0, 1]) -> a float32 tensor of that shape in [0, 1], and the
    scale that was divided out (:func:`pixel_scale`). The one place where integer pixels become floats.

    Example:
        >>> to_float(np.array([0, 51, 255], np.uint8))
        (tensor([0.0000, 0.2000, 1.0000]), 255.0)
    """
    scale = pixel_scale(pixels.dtype)
    # NumPy converts to a new C-ordered array faster than torch does; the division is in place, threaded
    return torch.from_numpy(pixels.astype(np.float32, order="C")).div_(scale), scale


def from_float(values: torch.Tensor, dtype: np.dtype) -> np.ndarray:
    """A float tensor in [0, 1] -> a NumPy array of ``dtype`` and the same shape: uint8 and uint16 are scaled,
    rounded half to even and clamped to their range; floats are returned as they are. The inverse of :func:`to_float`.

    Example:
        >>> from_float(torch.tensor([-0.5, 0.2, 0.5, 2.0]), np.dtype(np.uint8))
        array([  0,  51, 128, 255], dtype=uint8)
    """
    scale = pixel_scale(dtype)
    if scale == 1.0:
        return np.ascontiguousarray(values.cpu().numpy()).astype(dtype)
    scaled = values.mul(scale).round_().clamp_(0, scale)  # in torch: threaded, in place
    if dtype == np.uint8:
        return scaled.to(torch.uint8).contiguous().cpu().numpy()
    return scaled.to(torch.int32).contiguous().cpu().numpy().astype(dtype)  # torch < 2.3 has no uint16


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
