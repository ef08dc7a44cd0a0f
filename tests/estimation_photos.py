"""Real photos for the estimation tests, from scikit-image's bundled public-domain data.

``astronaut``: Eileen Collins's NASA portrait, an adult; ``coffee``: a cup, no face. Both are
shipped inside scikit-image (nothing is downloaded), and sent losslessly as PNGs: JPEG
artefacts in the portrait's lower left make the bundled face detector see a second face.
"""

from __future__ import annotations

import base64
import io
from functools import cache

import numpy as np
from PIL import Image
from skimage import data


def _png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).convert("RGB").save(out, format="PNG")
    return out.getvalue()


@cache
def astronaut() -> bytes:
    return _png(data.astronaut())


@cache
def no_face() -> bytes:
    return _png(data.coffee())


@cache
def two_faces() -> bytes:
    """Two copies of the portrait side by side: two faces in one photo."""
    portrait = data.astronaut()
    return _png(np.concatenate([portrait, portrait], axis=1))


def astronaut_b64() -> str:
    return base64.b64encode(astronaut()).decode("ascii")


def no_face_b64() -> str:
    return base64.b64encode(no_face()).decode("ascii")


def two_faces_b64() -> str:
    return base64.b64encode(two_faces()).decode("ascii")
