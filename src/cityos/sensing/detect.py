"""The detector adapter: a camera snapshot in, boxes of what OpenCV 4 sees out.

Only the detectors that ship inside the opencv-python-headless wheel are used, so nothing is
downloaded at run time:
- people  the HOG + linear SVM pedestrian detector (`HOGDescriptor.getDefaultPeopleDetector`),
          overlapping windows merged by non-maximum suppression;
- face    the Haar cascade `haarcascade_frontalface_default.xml`;
- plate   the Haar cascade `haarcascade_russian_plate_number.xml` (plate-shaped regions).

An image is checked before it is decoded: its bytes (CITYOS_SENSING_SNAPSHOT_MAX_BYTES, 5 MB), its
type by its first bytes (JPEG or PNG, whatever the upload claims) and its size read from the header
(at most 4096 × 4096 pixels), so a corrupt file or a decompression bomb is refused with a 4xx
instead of reaching the decoder. Large images are scaled to 1280 pixels wide before detection;
boxes are given in the original image's pixels.
"""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cityos.core.errors import Invalid

DETECTORS = ("people", "face", "plate")
TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
MAX_SIDE = 4096
WORK_WIDTH = 1280
_lock = threading.Lock()  # cascade classifiers are not safe to share between threads


def max_bytes() -> int:
    return int(os.environ.get("CITYOS_SENSING_SNAPSHOT_MAX_BYTES", str(5 * 1024 * 1024)))


@dataclass
class Snapshot:
    content_type: str
    width: int
    height: int
    gray: Any  # numpy uint8 array, at most WORK_WIDTH wide
    scale: float  # original pixels per working pixel
    boxes: dict[str, list[list[int]]] = field(default_factory=dict)


def sniff(data: bytes) -> str:
    """The image type from its first bytes, or Invalid."""
    if not data:
        raise Invalid("The snapshot is empty", field="file", code="empty_file")
    if len(data) > max_bytes():
        raise Invalid(
            "The snapshot is larger than {n} bytes", field="file", code="too_large", params={"n": max_bytes()}
        )
    for magic, kind in TYPES.items():
        if data.startswith(magic):
            return kind
    raise Invalid("The snapshot must be a JPEG or PNG image", field="file", code="unsupported_type")


def load(data: bytes) -> Snapshot:
    """Check and decode a snapshot (Invalid with the reason when it cannot be used)."""
    import cv2
    import numpy as np
    from PIL import Image

    kind = sniff(data)
    try:
        with Image.open(io.BytesIO(data)) as im:  # reads the header only
            width, height = im.size
    except Exception:
        raise Invalid("The snapshot is not a readable image", field="file", code="bad_image") from None
    if width > MAX_SIDE or height > MAX_SIDE:
        raise Invalid(
            "The snapshot is larger than {n} × {n} pixels",
            field="file",
            code="too_many_pixels",
            params={"n": MAX_SIDE},
        )
    gray = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if gray is None or gray.size == 0 or gray.shape[1] != width or gray.shape[0] != height:
        raise Invalid("The snapshot is not a readable image", field="file", code="bad_image")
    scale = 1.0
    if width > WORK_WIDTH:
        scale = width / WORK_WIDTH
        gray = cv2.resize(gray, (WORK_WIDTH, round(height / scale)), interpolation=cv2.INTER_AREA)
    return Snapshot(kind, width, height, gray, scale)


@lru_cache(maxsize=1)
def _hog() -> Any:
    import cv2
    import numpy as np

    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32))
    return hog


@lru_cache(maxsize=4)
def _cascade(name: str) -> Any:
    import cv2

    c = cv2.CascadeClassifier(os.path.join(cv2.data.haarcascades, name))  # type: ignore[attr-defined]
    if c.empty():  # the wheel always ships them; a broken installation must say so
        raise RuntimeError(f"OpenCV cascade {name} is missing")
    return c


def _people(gray: Any) -> list[list[int]]:
    import cv2

    with _lock:
        rects, weights = _hog().detectMultiScale(gray, winStride=(8, 8), padding=(8, 8), scale=1.05)
    if len(rects) == 0:
        return []
    boxes = [[int(v) for v in r] for r in rects]
    scores = [float(w) for w in weights.ravel()]
    keep = cv2.dnn.NMSBoxes(boxes, scores, 0.5, 0.3)
    return [boxes[i] for i in sorted(int(k) for k in keep)]


def _haar(gray: Any, name: str, neighbours: int) -> list[list[int]]:
    with _lock:
        found = _cascade(name).detectMultiScale(
            gray, scaleFactor=1.1, minNeighbors=neighbours, minSize=(24, 24)
        )
    return [[int(v) for v in r] for r in found]


def detect(snap: Snapshot, detector: str) -> list[list[int]]:
    """Boxes [x, y, w, h] in the original image's pixels (computed once per snapshot and detector)."""
    if detector not in snap.boxes:
        if detector == "people":
            found = _people(snap.gray)
        elif detector == "face":
            found = _haar(snap.gray, "haarcascade_frontalface_default.xml", 5)
        elif detector == "plate":
            found = _haar(snap.gray, "haarcascade_russian_plate_number.xml", 3)
        else:
            raise Invalid(
                "Unknown detector {d}", field="detector", code="unknown_detector", params={"d": detector}
            )
        snap.boxes[detector] = [[round(v * snap.scale) for v in b] for b in found]
    return snap.boxes[detector]
