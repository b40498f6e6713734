# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-voice onset offsets of the engines' phone boundaries, measured against forced
alignment (:mod:`.calibrate`) and stored in ``phone_offsets.json`` beside this file.

An offset is the median of (aligned boundary - engine boundary) over a voice's phone
boundaries, in seconds of the engine's own (unwarped) time; a positive offset means the
engine marks phones early, and its timeline is shifted later by that much. Voices not in
the table use their engine's median, then 0. Rebuild the table with
``python -m model_core phones --calibrate`` (see that command).
"""
from __future__ import annotations

import json
import os
from functools import lru_cache

TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "phone_offsets.json")


@lru_cache(maxsize=4)
def load(path: str = TABLE) -> dict:
    """The table ({} when it has not been measured yet)."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def offset(identity: str, path: str = TABLE) -> float:
    """Seconds to add to the engine's boundaries of voice ``identity`` ('engine:name');
    espeak-ng variants ('en-us+f2') fall back to their accent, then to the engine."""
    table = load(path)
    voices = table.get("voices", {})
    if identity in voices:
        return float(voices[identity]["offset_s"])
    engine, _, name = identity.partition(":")
    accent = f"{engine}:{name.split('+')[0]}"
    if accent in voices:
        return float(voices[accent]["offset_s"])
    return float(table.get("engines", {}).get(engine, {}).get("offset_s", 0.0))
