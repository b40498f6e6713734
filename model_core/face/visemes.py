"""Phones -> Meta/Oculus visemes -> ARKit mouth shapes: the project's own tables.

``PHONE_TO_VISEME`` maps ARPAbet phones (lower case, no stress digit; "sil" for pauses) to
the 15 visemes. ``VISEME_SHAPES`` gives each viseme's target ARKit weights (mouth, jaw,
cheeks, tongue), designed here from the articulation each viseme stands for: bilabials seal
the lips with the jaw slightly open (``mouthClose`` equal to ``jawOpen``, lips pressed),
labiodentals tuck the lower lip under the upper teeth, rounded vowels pucker and funnel,
spread vowels stretch and smile, open vowels drop the jaw. ``DOMINANCE`` says how strongly
and how far each viseme holds each group of channels against its neighbours
(coarticulation, see ``model_core.corpus.lip_teacher``).
"""
from __future__ import annotations

import numpy as np

from .channels import ARKIT_DIM, ARKIT_INDEX, VISEME_INDEX, VISEME_NAMES

PHONE_TO_VISEME = {
    "sil": "sil",
    "p": "PP", "b": "PP", "m": "PP",
    "f": "FF", "v": "FF",
    "th": "TH", "dh": "TH",
    "t": "DD", "d": "DD", "dx": "DD",
    "k": "kk", "g": "kk", "ng": "kk", "hh": "kk",
    "ch": "CH", "jh": "CH", "sh": "CH", "zh": "CH",
    "s": "SS", "z": "SS",
    "n": "nn", "l": "nn", "el": "nn", "en": "nn",
    "r": "RR", "er": "RR", "axr": "RR",
    "aa": "aa", "ae": "aa", "ah": "aa", "ay": "aa", "aw": "aa", "ax": "aa",
    "eh": "E", "ey": "E",
    "ih": "ih", "iy": "ih", "y": "ih", "ix": "ih",
    "ao": "oh", "ow": "oh", "oy": "oh",
    "uh": "ou", "uw": "ou", "w": "ou",
}

BILABIALS = frozenset({"p", "b", "m"})
LABIODENTALS = frozenset({"f", "v"})
VOWELS = frozenset({"aa", "ae", "ah", "ay", "aw", "ax", "eh", "ey", "ih", "iy", "ix", "ao",
                    "ow", "oy", "uh", "uw", "er", "axr"})
OPEN_VOWELS = frozenset({"aa", "ae", "ah", "ao", "aw", "ay"})
ROUNDED = frozenset({"ow", "oy", "ao", "uh", "uw", "w"})
SPREAD = frozenset({"iy", "ih", "ey", "eh", "y"})


def viseme_of(phone: str) -> str:
    """The viseme of an ARPAbet phone (stress digits ignored); unknown phones -> "sil"."""
    return PHONE_TO_VISEME.get(phone.lower().rstrip("012"), "sil")


def _shape(**weights: float) -> np.ndarray:
    v = np.zeros(ARKIT_DIM, dtype=np.float32)
    for name, w in weights.items():
        for side in (("Left", "Right") if name.endswith("_LR") else ("",)):
            v[ARKIT_INDEX[name.removesuffix("_LR") + side]] = w
    return v


# Target ARKit weights per viseme (``_LR`` sets the Left and Right channels alike).
VISEME_SHAPES = np.stack([{
    "sil": _shape(),
    "PP": _shape(jawOpen=0.10, mouthClose=0.10, mouthPress_LR=0.45, mouthRollLower=0.15,
                 mouthRollUpper=0.10),
    "FF": _shape(jawOpen=0.08, mouthClose=0.02, mouthRollLower=0.55, mouthUpperUp_LR=0.25,
                 mouthShrugUpper=0.15),
    "TH": _shape(jawOpen=0.14, tongueOut=0.35, mouthLowerDown_LR=0.10, mouthUpperUp_LR=0.08),
    "DD": _shape(jawOpen=0.16, mouthStretch_LR=0.10, mouthLowerDown_LR=0.12,
                 mouthUpperUp_LR=0.05),
    "kk": _shape(jawOpen=0.22, mouthStretch_LR=0.10, mouthLowerDown_LR=0.10),
    "CH": _shape(jawOpen=0.12, mouthFunnel=0.45, mouthPucker=0.25, mouthUpperUp_LR=0.22,
                 mouthLowerDown_LR=0.22),
    "SS": _shape(jawOpen=0.06, mouthStretch_LR=0.30, mouthSmile_LR=0.12, mouthUpperUp_LR=0.12,
                 mouthLowerDown_LR=0.12),
    "nn": _shape(jawOpen=0.15, mouthLowerDown_LR=0.10, mouthStretch_LR=0.05),
    "RR": _shape(jawOpen=0.16, mouthFunnel=0.28, mouthPucker=0.22, mouthUpperUp_LR=0.10),
    "aa": _shape(jawOpen=0.60, mouthLowerDown_LR=0.30, mouthUpperUp_LR=0.12,
                 mouthStretch_LR=0.08),
    "E": _shape(jawOpen=0.38, mouthStretch_LR=0.30, mouthSmile_LR=0.15,
                mouthLowerDown_LR=0.22, mouthUpperUp_LR=0.10),
    "ih": _shape(jawOpen=0.16, mouthStretch_LR=0.45, mouthSmile_LR=0.28,
                 mouthUpperUp_LR=0.10, mouthLowerDown_LR=0.08),
    "oh": _shape(jawOpen=0.42, mouthFunnel=0.60, mouthPucker=0.32, mouthLowerDown_LR=0.10),
    "ou": _shape(jawOpen=0.15, mouthPucker=0.80, mouthFunnel=0.35),
}[name] for name in VISEME_NAMES])                      # (15, 52)

# Channel groups that coarticulate differently.
LIP_ROUNDING = tuple(ARKIT_INDEX[n] for n in ("mouthPucker", "mouthFunnel"))
LIP_CLOSURE = tuple(ARKIT_INDEX[n] for n in ("mouthClose", "mouthPressLeft", "mouthPressRight",
                                             "mouthRollLower", "mouthRollUpper"))
JAW_OPEN = ARKIT_INDEX["jawOpen"]
TONGUE = (ARKIT_INDEX["tongueOut"],)
GROUPS = ("jaw", "rounding", "closure", "lips", "tongue")


def channel_groups() -> np.ndarray:
    """(52,) group index of each ARKit channel (into ``GROUPS``)."""
    g = np.full(ARKIT_DIM, GROUPS.index("lips"), dtype=np.int64)
    g[JAW_OPEN] = GROUPS.index("jaw")
    g[list(LIP_ROUNDING)] = GROUPS.index("rounding")
    g[list(LIP_CLOSURE)] = GROUPS.index("closure")
    g[list(TONGUE)] = GROUPS.index("tongue")
    return g


# Dominance of each viseme over each group: (strength, reach in seconds). Strength weighs a
# segment's target against its neighbours'; reach is the distance at which it has fallen
# to 1/e outside the segment (a Gaussian fall-off). Rounded vowels reach far (rounding shows 150-200 ms ahead,
# across consonants); tongue consonants (DD, kk, nn, TH, SS) hold the lips weakly, leaving
# them to their neighbours; bilabials and labiodentals hold the closure hard but briefly.
_DEFAULT = {"jaw": (1.0, 0.04), "rounding": (1.0, 0.05), "closure": (1.0, 0.03),
            "lips": (1.0, 0.05), "tongue": (1.0, 0.03)}
_DOMINANCE = {
    "sil": {"jaw": (1.0, 0.06), "rounding": (1.0, 0.06), "closure": (0.5, 0.05),
            "lips": (1.0, 0.06), "tongue": (1.0, 0.04)},
    "PP": {"jaw": (3.0, 0.03), "rounding": (0.3, 0.04), "closure": (8.0, 0.02),
           "lips": (3.0, 0.03)},
    "FF": {"jaw": (2.0, 0.03), "rounding": (0.4, 0.04), "closure": (5.0, 0.02),
           "lips": (4.0, 0.03)},
    "TH": {"jaw": (1.0, 0.03), "rounding": (0.15, 0.03), "closure": (0.3, 0.02),
           "lips": (0.3, 0.03), "tongue": (4.0, 0.03)},
    "DD": {"jaw": (0.8, 0.03), "rounding": (0.1, 0.03), "closure": (0.3, 0.02),
           "lips": (0.2, 0.03)},
    "kk": {"jaw": (0.8, 0.03), "rounding": (0.1, 0.03), "closure": (0.3, 0.02),
           "lips": (0.2, 0.03)},
    "CH": {"jaw": (1.0, 0.03), "rounding": (2.0, 0.06), "closure": (0.5, 0.02),
           "lips": (2.0, 0.04)},
    "SS": {"jaw": (1.5, 0.03), "rounding": (0.2, 0.03), "closure": (0.4, 0.02),
           "lips": (0.8, 0.03)},
    "nn": {"jaw": (0.8, 0.03), "rounding": (0.1, 0.03), "closure": (0.3, 0.02),
           "lips": (0.2, 0.03)},
    "RR": {"jaw": (0.8, 0.03), "rounding": (1.2, 0.06), "closure": (0.3, 0.02),
           "lips": (0.6, 0.04)},
    "aa": {"jaw": (1.5, 0.05), "rounding": (0.6, 0.05), "closure": (0.6, 0.03),
           "lips": (1.0, 0.05)},
    "E": {"jaw": (1.2, 0.05), "rounding": (0.6, 0.05), "closure": (0.6, 0.03),
          "lips": (1.0, 0.05)},
    "ih": {"jaw": (1.0, 0.05), "rounding": (0.6, 0.05), "closure": (0.6, 0.03),
           "lips": (1.2, 0.05)},
    "oh": {"jaw": (1.2, 0.05), "rounding": (2.5, 0.12), "closure": (0.6, 0.03),
           "lips": (1.0, 0.06)},
    "ou": {"jaw": (1.0, 0.05), "rounding": (3.0, 0.15), "closure": (0.6, 0.03),
           "lips": (1.0, 0.06)},
}


def dominance_table() -> tuple[np.ndarray, np.ndarray]:
    """(strength, reach): each (15 visemes, 5 groups)."""
    strength = np.zeros((len(VISEME_NAMES), len(GROUPS)), dtype=np.float64)
    reach = np.zeros_like(strength)
    for v, name in enumerate(VISEME_NAMES):
        for g, group in enumerate(GROUPS):
            strength[v, g], reach[v, g] = _DOMINANCE[name].get(group, _DEFAULT[group])
    return strength, reach


def viseme_id(phone: str) -> int:
    return VISEME_INDEX[viseme_of(phone)]


SEAL_PRESS = 0.4                   # at least this much mouthPress on sealed lips
SEAL_MAX_JAW = 1.5 * float(VISEME_SHAPES[VISEME_INDEX["PP"], JAW_OPEN])


def seal_lips(arkit: np.ndarray, frames) -> None:
    """Seal the lips in place on ``frames`` of (T, 52) ARKit weights: the jaw no more open
    than a bilabial's, ``mouthClose`` equal to ``jawOpen`` (ARKit's closed lips over an
    open jaw), the lips pressed. The teacher seals every frame that touches a p/b/m; the
    mouth model every frame whose most likely viseme is PP."""
    frames = np.asarray(frames)
    if frames.size == 0:
        return
    jaw = np.minimum(arkit[frames, JAW_OPEN], SEAL_MAX_JAW)
    arkit[frames, JAW_OPEN] = jaw
    arkit[frames, ARKIT_INDEX["mouthClose"]] = jaw
    for name in ("mouthPressLeft", "mouthPressRight"):
        c = ARKIT_INDEX[name]
        arkit[frames, c] = np.maximum(arkit[frames, c], SEAL_PRESS)


PARTED_MIN = 0.08     # jawOpen - mouthClose on speech that is not p/b/m: teeth near, lips apart


def part_lips(arkit: np.ndarray, frames) -> None:
    """Part the lips in place on ``frames`` of (T, 52) ARKit weights: ``jawOpen`` at least
    ``PARTED_MIN`` above ``mouthClose``. The teacher parts every frame whose centre is in a
    phone other than p/b/m or silence; the mouth model every frame whose most likely viseme
    is neither PP nor sil, so only p/b/m close the lips while talking."""
    frames = np.asarray(frames)
    if frames.size == 0:
        return
    close = arkit[frames, ARKIT_INDEX["mouthClose"]]
    arkit[frames, JAW_OPEN] = np.maximum(arkit[frames, JAW_OPEN], close + PARTED_MIN)


def sealed(arkit: np.ndarray, tolerance: float = 0.05) -> np.ndarray:
    """(T,) bool: the lips meet (``jawOpen - mouthClose <= tolerance``)."""
    return arkit[:, JAW_OPEN] - arkit[:, ARKIT_INDEX["mouthClose"]] <= tolerance
