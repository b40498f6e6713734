# SPDX-License-Identifier: GPL-3.0-or-later
"""espeak-ng's English phoneme mnemonics -> ARPAbet, and vowel stress from its transcription.

The mnemonics are those the English voices (all accents in ``voices.ESPEAK_LANGS``) emit as
phoneme events; the inventory was collected by speaking the corpus grammar and the standard
lexical sets in every accent. A mnemonic for a vowel followed by an r-colouring or a schwa
offglide that ARPAbet writes as two phones (``e@`` square -> eh r, ``@L`` bottle -> ah l)
maps to two labels; the segment is split in equal halves. ``;`` (palatalisation) and ``'``
style marks modify the previous phone and carry no time of their own.
"""
from __future__ import annotations

import difflib

from .phones import SILENCE, VOWELS

MAP: dict[str, tuple[str, ...]] = {
    # vowels
    "0": ("aa",), "A:": ("aa",), "A": ("aa",), "aa": ("aa",), "a": ("ae",), "a#": ("ah",),
    "a:": ("aa",), "@": ("ah",), "@2": ("ah",), "@5": ("ah",), "V": ("ah",), "3": ("er",),
    "3:": ("er",), "VR": ("er",), "@r": ("er",), "E": ("eh",), "e": ("eh",), "e:": ("ey",),
    "eI": ("ey",), "I": ("ih",), "I#": ("ih",), "I2": ("ih",), "i": ("iy",), "i:": ("iy",),
    "O:": ("ao",), "O": ("ao",), "O2": ("ao",), "o": ("ow",), "o:": ("ow",), "oU": ("ow",),
    "OI": ("oy",), "U": ("uh",), "u": ("uw",), "u:": ("uw",), "aI": ("ay",), "aI2": ("ay",),
    "aU": ("aw",),
    # vowel + r / schwa offglide (two ARPAbet phones)
    "@L": ("ah", "l"), "aI@": ("ay", "er"), "aI3": ("ay", "er"), "aU@": ("aw", "er"),
    "i@": ("iy", "r"), "i@3": ("iy", "r"), "e@": ("eh", "r"), "U@": ("uh", "r"),
    "O@": ("ao", "r"), "o@": ("ao", "r"), "A@": ("aa", "r"), "IR": ("ih", "r"),
    # consonants
    "p": ("p",), "b": ("b",), "t": ("t",), "d": ("d",), "k": ("k",), "g": ("g",),
    "t#": ("t",), "t2": ("t",), "t[": ("t",), "d#": ("d",), "?": ("t",), "x": ("k",),
    "f": ("f",), "v": ("v",), "T": ("th",), "D": ("dh",), "s": ("s",), "z": ("z",),
    "S": ("sh",), "Z": ("zh",), "tS": ("ch",), "dZ": ("jh",), "h": ("hh",), "C": ("hh",),
    "m": ("m",), "n": ("n",), "n-": ("n",), "N": ("ng",), "l": ("l",), "l/": ("l",),
    "l/2": ("l",), "r": ("r",), "r-": ("r",), "*": ("r",), "w": ("w",), "w#": ("w",),
    "W": ("w",), "j": ("y",),
    # pauses
    "_": (SILENCE,), "_:": (SILENCE,), "_!": (SILENCE,), "_|": (SILENCE,), "_^_": (SILENCE,),
}
MODIFIERS = (";", "#", "'", ",", "%", "=", ":")     # no time of their own
STRESS_MARKS = {"'": 1, ",": 2, "%": 0, "=": 1}


def to_arpabet(mnemonic: str) -> tuple[str, ...]:
    """ARPAbet labels of one espeak mnemonic; () for a modifier. Unknown mnemonics fall back
    to the entry without trailing digits and marks, then to a pause."""
    if mnemonic in MODIFIERS or not mnemonic:
        return ()
    if mnemonic in MAP:
        return MAP[mnemonic]
    base = mnemonic.rstrip("0123456789#;/")
    if base in MAP:
        return MAP[base]
    if mnemonic.startswith("_"):
        return (SILENCE,)
    return (SILENCE,)


def _tokens(transcription: str) -> list[tuple[str, int | None]]:
    """(mnemonic, stress mark before it) in espeak's transcription, longest match first."""
    keys = sorted(MAP, key=len, reverse=True)
    out, pending, i = [], None, 0
    while i < len(transcription):
        c = transcription[i]
        if c in STRESS_MARKS:
            pending, i = STRESS_MARKS[c], i + 1
            continue
        match = next((k for k in keys if transcription.startswith(k, i)), None)
        if match is None:
            i += 1
            continue
        out.append((match, pending))
        pending = None
        i += len(match)
    return out


def vowel_stress(event_mnemonics: list[str], transcription: str) -> list[int | None]:
    """Stress of each event (None for consonants and pauses): the vowels of the phoneme
    events matched in order against the stress-marked vowels of espeak's transcription
    of the same text; unmatched vowels stay None."""
    def is_vowel(m: str) -> bool:
        labels = to_arpabet(m)
        return bool(labels) and labels[0] in VOWELS

    marked = [(m, s) for m, s in _tokens(transcription) if is_vowel(m)]
    ev_idx = [i for i, m in enumerate(event_mnemonics) if is_vowel(m)]
    stress: list[int | None] = [None] * len(event_mnemonics)
    matcher = difflib.SequenceMatcher(a=[event_mnemonics[i] for i in ev_idx],
                                      b=[m for m, _ in marked], autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            s = marked[block.b + k][1]
            stress[ev_idx[block.a + k]] = 0 if s is None else s
    return stress
