"""Request bodies -> RGB uint8 frames, refusing anything that is not a safe, whole image.

Accepted content types: ``image/jpeg``, ``image/png``, ``application/x-image`` (any image Pillow
decodes among :data:`IMAGE_FORMATS`), ``application/json`` (a base64 image, a list of them, or an
object with ``image`` / ``images``; it may also carry ``score_threshold`` / ``max_detections``) and
``application/x-npy`` (``(H, W, 3)`` or ``(N, H, W, 3)`` uint8, never pickles).

Every failure is a :class:`~pigskin.serve.schema.RequestError`: 415 for a content type we do not
read, 413 for too many pixels (a decompression bomb is a small file with a huge header), 400 for bytes
that are not what they claim (empty, truncated, garbage). The pixel limit is for the whole request and
is checked from each header *before* decoding, so a bomb never allocates its frame. Truncated images
are errors: Pillow's ``LOAD_TRUNCATED_IMAGES`` must stay off (its default).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from pigskin.serve.schema import Options, RequestError, parse_options

IMAGE_TYPES = ("image/jpeg", "image/jpg", "image/png", "application/x-image")
JSON_TYPES = ("application/json",)
NPY_TYPES = ("application/x-npy", "application/npy")
CONTENT_TYPES = (*IMAGE_TYPES, *JSON_TYPES, *NPY_TYPES)
IMAGE_FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "TIFF", "GIF")


@dataclass
class Decoded:
    images: list[np.ndarray]
    options: Options  # options carried in a JSON body


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def decode_image(data: bytes, max_pixels: int, where: str = "body") -> np.ndarray:
    """Encoded image bytes -> RGB uint8 ``(H, W, 3)``."""
    if not data:
        raise RequestError(400, f"{where}: empty image")
    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as im:
            w, h = im.size
            if w * h > max_pixels:
                raise RequestError(413, f"{where}: a {w}x{h} image is more pixels than this request may have "
                                        f"left ({max(0, max_pixels)}; the server's --max-pixels)")
            if w < 1 or h < 1:
                raise RequestError(400, f"{where}: image has no pixels ({w}x{h})")
            im.load()  # raises on truncated or corrupt data (LOAD_TRUNCATED_IMAGES stays off)
            rgb = im.convert("RGB")
    except RequestError:
        raise
    except Image.DecompressionBombError as exc:
        raise RequestError(413, f"{where}: {exc}") from None
    except Image.UnidentifiedImageError:
        raise RequestError(400, f"{where}: not an image this server reads ({len(data)} bytes; expected "
                                f"{', '.join(IMAGE_FORMATS)})") from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:  # Pillow's errors for bad data
        raise RequestError(400, f"{where}: corrupt or truncated image: {exc}") from None
    return np.array(rgb, dtype=np.uint8)  # writable: torch.from_numpy warns on read-only arrays


def _check_frames(arr: np.ndarray, max_pixels: int, where: str) -> list[np.ndarray]:
    if arr.dtype != np.uint8:
        raise RequestError(400, f"{where}: expected uint8 pixels, got dtype {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != 3 or 0 in arr.shape:
        raise RequestError(400, f"{where}: expected an RGB array (H, W, 3) or a batch (N, H, W, 3), "
                                f"got shape {arr.shape}")
    if arr.shape[0] * arr.shape[1] * arr.shape[2] > max_pixels:
        raise RequestError(413, f"{where}: {arr.shape[0]} frames of {arr.shape[2]}x{arr.shape[1]} exceed the "
                                f"server's --max-pixels ({max_pixels})")
    return [np.ascontiguousarray(a) for a in arr]


def decode_npy(data: bytes, max_pixels: int) -> list[np.ndarray]:
    if not data:
        raise RequestError(400, "body: empty .npy payload")
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise RequestError(400, f"body: not a readable .npy array: {exc}") from None
    if not isinstance(arr, np.ndarray):  # an .npz archive
        raise RequestError(400, "body: expected one .npy array, got an .npz archive")
    return _check_frames(arr, max_pixels, "body")


def _b64(value: Any, max_pixels: int, where: str) -> np.ndarray:
    if not isinstance(value, str):
        raise RequestError(400, f"{where}: expected a base64 string, got {type(value).__name__}")
    if value.startswith("data:") and "," in value:  # data URLs: data:image/png;base64,....
        value = value.split(",", 1)[1]
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RequestError(400, f"{where}: not valid base64: {exc}") from None
    return decode_image(data, max_pixels, where)


def decode_json(data: bytes, max_pixels: int) -> Decoded:
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(400, f"body: not valid JSON: {exc}") from None
    options = Options()
    if isinstance(obj, dict):
        options = parse_options(obj.items(), "body")
        if "image" in obj:
            items, where = [obj["image"]], "image"
        elif "images" in obj and isinstance(obj["images"], list):
            items, where = obj["images"], "images"
        else:
            raise RequestError(400, "body: expected {\"image\": <base64>} or {\"images\": [<base64>, ...]}, "
                                    f"got keys {sorted(obj)[:6]}")
        names = [where] if where == "image" else [f"images[{i}]" for i in range(len(items))]
    elif isinstance(obj, str):
        items, names = [obj], ["body"]
    elif isinstance(obj, list):
        items, names = obj, [f"body[{i}]" for i in range(len(obj))]
    else:
        raise RequestError(400, f"body: expected a base64 string, a list of them or an object, got "
                                f"{type(obj).__name__}")
    if not items:
        raise RequestError(400, "body: no images")
    images: list[np.ndarray] = []
    for value, name in zip(items, names, strict=True):  # the pixel limit is for the whole request
        images.append(_b64(value, max_pixels - sum(im.shape[0] * im.shape[1] for im in images), name))
    return Decoded(images, options)


def require_supported(content_type: str | None) -> str:
    """The media type, or 415 (checked before a body is read)."""
    kind = media_type(content_type)
    if kind not in CONTENT_TYPES:
        raise RequestError(415, f"content type {content_type or '(none)'!r} is not supported; send one of "
                                f"{', '.join(CONTENT_TYPES)}")
    return kind


def decode_body(data: bytes, content_type: str | None, max_pixels: int) -> Decoded:
    """A request body -> frames (and options carried in the body), or a RequestError."""
    kind = require_supported(content_type)
    if kind in IMAGE_TYPES:
        return Decoded([decode_image(data, max_pixels)], Options())
    if kind in JSON_TYPES:
        return decode_json(data, max_pixels)
    return Decoded(decode_npy(data, max_pixels), Options())
