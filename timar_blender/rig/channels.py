# SPDX-License-Identifier: GPL-3.0-or-later
"""The channel vocabulary a rig preset may name as a source, and the dial each belongs to.

A head's values per 25 fps frame are one vector of CHANNEL_DIM = 123 numbers: its 56 FLAME
values (``exp1..exp50``, ``jaw_x..jaw_z``, ``neck_x..neck_z``) followed by its face frame
(model_core.face.channels): the 52 ARKit weights, named as Apple spells them (``jawOpen``,
``mouthSmileLeft``; also ``arkit:jawOpen``), then the 15 visemes, named ``viseme:PP``
(``viseme:sil`` .. ``viseme:ou``; Ready Player Me's spellings ``viseme:I``, ``viseme:O``,
``viseme:U`` are accepted for ``ih``, ``oh``, ``ou``). Names are case-insensitive.

Every channel belongs to one of the five dials an animator turns per head (``DIALS``):
jaw, lips, expression (brows, nose, squints, FLAME's expression space), head (neck
rotation) and eyes (gaze and eyelids). Pure numpy, no bpy."""
from __future__ import annotations

import numpy as np

from ..core import constants, face_channels as face

FLAME_DIM = constants.MOTION_DIM                       # 56
ARKIT_START = FLAME_DIM                                # 56
VISEME_START = FLAME_DIM + face.ARKIT_DIM              # 108
FACE_DIM = face.FACE_DIM                               # 67
CHANNEL_DIM = FLAME_DIM + FACE_DIM                     # 123
ARKIT = slice(ARKIT_START, VISEME_START)
VISEMES = slice(VISEME_START, CHANNEL_DIM)

DIALS = ("jaw", "lips", "expression", "head", "eyes")
_AXES = "xyz"
_VISEME_SPELLINGS = {"i": "ih", "o": "oh", "u": "ou"}   # Ready Player Me's viseme_I/O/U


def flame_names() -> list[str]:
    return ([f"exp{i}" for i in range(1, constants.EXP_DIM + 1)]
            + [f"jaw_{a}" for a in _AXES] + [f"neck_{a}" for a in _AXES])


CHANNEL_NAMES = tuple(flame_names() + list(face.ARKIT_NAMES)
                      + [f"viseme:{v}" for v in face.VISEME_NAMES])
_INDEX = {n.lower(): i for i, n in enumerate(CHANNEL_NAMES)}


def channel_index(name: str) -> int:
    """Index into the 123-vector of a channel name (FLAME, ARKit or ``viseme:X``)."""
    key = str(name).strip().lower()
    if key.startswith("arkit:"):
        key = key[len("arkit:"):]
    if key.startswith(("viseme:", "viseme_")):
        v = key[len("viseme:"):]
        key = "viseme:" + _VISEME_SPELLINGS.get(v, v)
    if key in _INDEX:
        return _INDEX[key]
    raise ValueError(f"unknown channel '{name}' (use exp1..exp{constants.EXP_DIM}, "
                     "jaw_x..jaw_z, neck_x..neck_z, an ARKit name such as jawOpen, or "
                     "viseme:sil..viseme:ou)")


def _dial_of(name: str) -> str:
    n = name.lower()
    if n.startswith("jaw"):          # FLAME jaw_x.. and ARKit jawOpen/jawLeft/..
        return "jaw"
    if n.startswith("neck_"):
        return "head"
    if n.startswith(("mouth", "cheek", "tongue", "viseme:")):
        return "lips"
    if n.startswith(("eyeblink", "eyelook")):
        return "eyes"
    return "expression"              # exp1..exp50, brows, nose, eye squint/wide


DIAL_OF_CHANNEL = tuple(_dial_of(n) for n in CHANNEL_NAMES)
MOUTH_CHANNELS = frozenset(i for i, d in enumerate(DIAL_OF_CHANNEL) if d in ("jaw", "lips"))


def combine(motion: np.ndarray, face_frame: np.ndarray | None) -> np.ndarray:
    """(T, 56) FLAME motion and (T, 67) face frames -> (T, 123); without face frames (a
    model without a mouth head, a FLAME file) the face is what FLAME implies."""
    motion = np.asarray(motion, dtype=np.float32)
    if face_frame is None:
        face_frame = face.face_from_flame(motion)
    face_frame = np.asarray(face_frame, dtype=np.float32)
    if face_frame.shape != (len(motion), face.FACE_DIM):
        raise ValueError(f"face frames must be ({len(motion)}, {face.FACE_DIM}), "
                         f"got {face_frame.shape}")
    return np.concatenate([motion, face_frame], axis=1)


def dial_gains(dials) -> np.ndarray:
    """(123,) gain per channel from a Dials (or anything with the five attributes)."""
    return np.array([float(getattr(dials, d)) for d in DIAL_OF_CHANNEL], dtype=np.float32)
