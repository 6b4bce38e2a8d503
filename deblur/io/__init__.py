"""Reading and writing images and files, safely: the only place where pixels are integers and files are bytes. ``files``
lists images and writes atomically, ``images`` converts between files and the library's float RGB tensors in [0, 1],
``photos`` reads and writes photos as stored (bit depth, alpha, EXIF, ICC), ``kernels`` reads blur kernel files. Their
public names are re-exported here, so ``from deblur.io import read_image`` is the usual import.
"""

from __future__ import annotations

from deblur.io.files import (
    IMAGE_EXTENSIONS,
    atomic_write_bytes,
    atomic_write_json,
    encode_npy,
    list_images,
    relative_stems,
)
from deblur.io.images import (
    encode_image,
    from_float,
    pixel_scale,
    pixels_to_tensor,
    read_image,
    tensor_to_array,
    to_float,
    write_image,
)
from deblur.io.kernels import (
    KERNEL_FILE_EXTENSIONS,
    MAX_KERNEL_SIDE,
    MAX_KERNELS_PER_FILE,
    list_kernel_files,
    read_kernel_file,
    validate_kernel,
)
from deblur.io.photos import (
    MAX_PIXELS,
    OPENCV_MAX_SIDE,
    PHOTO_FORMATS,
    Photo,
    encode_photo,
    image_size,
    read_photo,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "KERNEL_FILE_EXTENSIONS",
    "MAX_KERNELS_PER_FILE",
    "MAX_KERNEL_SIDE",
    "MAX_PIXELS",
    "OPENCV_MAX_SIDE",
    "PHOTO_FORMATS",
    "Photo",
    "atomic_write_bytes",
    "atomic_write_json",
    "encode_image",
    "encode_npy",
    "encode_photo",
    "from_float",
    "image_size",
    "list_images",
    "list_kernel_files",
    "pixel_scale",
    "pixels_to_tensor",
    "read_image",
    "read_kernel_file",
    "read_photo",
    "relative_stems",
    "tensor_to_array",
    "to_float",
    "validate_kernel",
    "write_image",
]
