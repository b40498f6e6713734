"""The channel spaces a generated head carries beside its 56 FLAME values.

Per head per frame (25 fps) the generator may emit a *face frame* of FACE_DIM = 67 values:
ARKit-52 weights in [0, 1] (Apple's order) followed by the 15 Meta/Oculus viseme
probabilities (they sum to 1). A model without a mouth head emits none; then
``face_from_flame`` derives the little that FLAME motion implies (jawOpen from the jaw,
silence otherwise), so every consumer can rely on one layout.
"""
from __future__ import annotations

import numpy as np

from .. import constants

ARKIT_NAMES = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight",
    "eyeLookOutRight", "eyeLookUpRight", "eyeSquintRight", "eyeWideRight", "jawForward",
    "jawLeft", "jawRight", "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft",
    "mouthRight", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPressLeft",
    "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft",
    "noseSneerRight", "tongueOut",
)
ARKIT_DIM = len(ARKIT_NAMES)                       # 52
ARKIT_INDEX = {name: i for i, name in enumerate(ARKIT_NAMES)}

# Meta/Oculus visemes (also Ready Player Me's ``viseme_*`` keys, which spell the last three
# I, O, U) and the phones each stands for (ARPAbet, lower case).
VISEME_NAMES = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR",
                "aa", "E", "ih", "oh", "ou")
VISEME_DIM = len(VISEME_NAMES)                     # 15
VISEME_INDEX = {name: i for i, name in enumerate(VISEME_NAMES)}

FACE_DIM = ARKIT_DIM + VISEME_DIM                  # 67
ARKIT = slice(0, ARKIT_DIM)
VISEMES = slice(ARKIT_DIM, FACE_DIM)

# The ARKit channels of the mouth, jaw, cheeks and tongue (what lip sync drives).
MOUTH_CHANNELS = tuple(n for n in ARKIT_NAMES
                       if n.startswith(("jaw", "mouth", "cheek", "tongue")))

# FLAME's jaw rotation about x (rad) for ARKit jawOpen 0 and 1: closed at FLAME's neutral 0
# (a listener's jaw at 0.085 rad reads as visibly parted), fully open at 0.35. The real
# DualTalk face (speaker 2, a video fit) sits at 0.04-0.07 between words, talks around 0.16
# and reaches 0.28 (95th percentile); the teacher's stressed "aa" (jawOpen 0.6) is 0.21.
JAW_CLOSED_RAD = 0.0
JAW_OPEN_RANGE_RAD = 0.35


def jaw_rad_from_open(jaw_open):
    """ARKit jawOpen (0..1) -> FLAME jaw rotation about x (rad)."""
    return JAW_CLOSED_RAD + JAW_OPEN_RANGE_RAD * np.asarray(jaw_open, dtype=np.float32)


def open_from_jaw_rad(jaw_x):
    """FLAME jaw rotation about x (rad) -> ARKit jawOpen in [0, 1]."""
    return np.clip((np.asarray(jaw_x, dtype=np.float32) - JAW_CLOSED_RAD) / JAW_OPEN_RANGE_RAD,
                   0.0, 1.0)


def face_from_flame(motion: np.ndarray) -> np.ndarray:
    """(T, 56) FLAME motion -> (T, 67) face frames that say only what FLAME implies:
    jawOpen from the jaw's opening, every other ARKit channel 0, viseme ``sil`` 1 where the
    jaw is closed. For models without a mouth head and for FLAME files given as motion."""
    motion = np.asarray(motion, dtype=np.float32)
    face = np.zeros((len(motion), FACE_DIM), dtype=np.float32)
    jaw_open = open_from_jaw_rad(motion[:, constants.JAW.start])
    face[:, ARKIT_INDEX["jawOpen"]] = jaw_open
    face[:, VISEMES.start + VISEME_INDEX["sil"]] = 1.0 - jaw_open
    face[:, VISEMES.start + VISEME_INDEX["aa"]] = jaw_open
    return face
