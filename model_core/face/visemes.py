"""ARPAbet phones -> Meta/Oculus visemes (the 15 of ``channels.VISEME_NAMES``).

A plain table: phone labels are CMU ARPAbet in lower case without the stress digit; ``sil``
stands for every pause. Phones not in the table (noise, fillers) count as ``sil``.
"""
from __future__ import annotations

PHONE_TO_VISEME: dict[str, str] = {
    "sil": "sil",
    "p": "PP", "b": "PP", "m": "PP",
    "f": "FF", "v": "FF",
    "th": "TH", "dh": "TH",
    "t": "DD", "d": "DD",
    "k": "kk", "g": "kk", "ng": "kk",
    # hh is not in Meta's list: its mouth is the next vowel's; kk (lips neutral, jaw a little
    # open) is the nearest of the 15.
    "hh": "kk",
    "ch": "CH", "jh": "CH", "sh": "CH", "zh": "CH",
    "s": "SS", "z": "SS",
    "n": "nn", "l": "nn",
    "r": "RR", "er": "RR",
    "aa": "aa", "ae": "aa", "ah": "aa", "ay": "aa", "aw": "aa",
    "eh": "E", "ey": "E",
    "ih": "ih", "iy": "ih", "y": "ih",
    "ao": "oh", "ow": "oh", "oy": "oh",
    "uh": "ou", "uw": "ou", "w": "ou",
}
