# SPDX-License-Identifier: GPL-3.0-or-later
"""The English spoken lines of Fish Fillets NG (Debian ``fillets-ng-data``, GPL-2+) with
their known text from the game's Lua dialogue scripts.

``fillets-ng-data`` holds the game's "international" sounds: ``sound/<level>/en/<id>.ogg``.
The text of a line is in ``script/<level>/dialogs_en.lua`` as
``dialogId("<id>", "<font>", "<text>")``. Measured on 1.0.1-1.1: 192 files, of which only
~30 have text; the rest are sound effects and wordless voices (empty text). Of those 30,
most are not English either: the parrot speaks German, the elk Russian (the English script
keeps them verbatim), and a few are "CLICK" or "MUAHHH". The English fish dialogue was
never recorded for the Debian packs (only Czech and Dutch voices exist:
:mod:`.fillets`). So a line is kept only when Whisper hears the script's words in it
(:func:`heard_as_written`), which leaves a handful of short English interjections.
"""
from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass

from .align import words_of
from .fillets import SOUND_ROOT

SCRIPT_ROOT = "/usr/share/games/fillets-ng/script"
COPYRIGHT = "/usr/share/doc/fillets-ng-data/copyright"
LICENCE = "GPL-2.0-or-later (Fish Fillets NG data, Debian fillets-ng-data)"
_DIALOG = re.compile(r'dialogId\(\s*"([^"]+)"\s*,\s*"[^"]*"\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)')


@dataclass(frozen=True)
class ScriptLine:
    id: str          # the dialogue id, e.g. "disk-x-au1"
    level: str       # the level folder, e.g. "floppy"
    path: str        # the .ogg file
    text: str        # the English script's text


def installed(sound_root: str = SOUND_ROOT, script_root: str = SCRIPT_ROOT) -> bool:
    return bool(glob.glob(os.path.join(sound_root, "*", "en", "*.ogg"))) and os.path.isdir(script_root)


def english_script(level_dir: str) -> dict[str, str]:
    """{dialogue id: English text} of one level's dialogs_en.lua (empty when absent)."""
    path = os.path.join(level_dir, "dialogs_en.lua")
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8", errors="replace") as f:
        return {m.group(1): m.group(2).replace('\\"', '"') for m in _DIALOG.finditer(f.read())}


def english_lines(sound_root: str = SOUND_ROOT, script_root: str = SCRIPT_ROOT) -> list[ScriptLine]:
    """Every ``en`` sound whose English script gives it a text, sorted by level and id
    (a line used by several levels counts once)."""
    lines, seen = [], set()
    for ogg in sorted(glob.glob(os.path.join(sound_root, "*", "en", "*.ogg"))):
        level = ogg.split(os.sep)[-3]
        line_id = os.path.splitext(os.path.basename(ogg))[0]
        text = english_script(os.path.join(script_root, level)).get(line_id, "").strip()
        if text and line_id not in seen:
            seen.add(line_id)
            lines.append(ScriptLine(line_id, level, ogg, text))
    return lines


def heard_as_written(text: str, heard: str, min_share: float = 0.5) -> bool:
    """True when at least ``min_share`` of the script's words are among the words Whisper
    heard: the line is English and says what the script says."""
    written, got = words_of(text), set(words_of(heard))
    return bool(written) and sum(w in got for w in written) >= min_share * len(written)
