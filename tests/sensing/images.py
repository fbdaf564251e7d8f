"""Snapshots for the detector tests, made the same way on every run (nothing is downloaded):
- `crowd(n)`   n dark standing figures on a light square (what the HOG people detector finds);
- `faces(n)`   n copies side by side of the portrait that ships with matplotlib (grace_hopper.jpg);
- `plate()`    a white plate with black characters on a grey background;
- `empty()`    a plain grey picture (nothing to find)."""

from __future__ import annotations

from pathlib import Path

import cv2
import matplotlib
import numpy as np


def _encode(img: np.ndarray, ext: str = ".png") -> bytes:
    ok, buf = cv2.imencode(ext, img)
    assert ok
    return buf.tobytes()


def _figure(canvas: np.ndarray, x: int, y: int, s: float = 1.2, c: int = 40) -> None:
    def k(v: float) -> int:
        return int(v * s)

    cv2.circle(canvas, (x, y), k(12), c, -1)
    cv2.rectangle(canvas, (x - k(14), y + k(14)), (x + k(14), y + k(60)), c, -1)
    cv2.line(canvas, (x - k(14), y + k(18)), (x - k(22), y + k(55)), c, k(7))
    cv2.line(canvas, (x + k(14), y + k(18)), (x + k(22), y + k(55)), c, k(7))
    cv2.line(canvas, (x - k(7), y + k(60)), (x - k(12), y + k(110)), c, k(10))
    cv2.line(canvas, (x + k(7), y + k(60)), (x + k(12), y + k(110)), c, k(10))


def crowd(n: int) -> bytes:
    canvas = np.full((240, max(640, 60 + 120 * n)), 200, np.uint8)
    for i in range(n):
        _figure(canvas, 60 + i * 120, 40)
    return _encode(canvas)


def faces(n: int) -> bytes:
    img = cv2.imread(str(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"))
    small = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2))
    return _encode(np.hstack([small] * n), ".jpg")


def plate() -> bytes:
    img = np.full((300, 600), 90, np.uint8)
    cv2.rectangle(img, (150, 120), (450, 185), 255, -1)
    cv2.rectangle(img, (150, 120), (450, 185), 0, 3)
    cv2.putText(img, "A123BC", (165, 172), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 0, 4)
    return _encode(img)


def empty(width: int = 640, height: int = 480) -> bytes:
    return _encode(np.full((height, width, 3), 128, np.uint8))
