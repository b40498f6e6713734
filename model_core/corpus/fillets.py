"""Recorded human voices for the out-of-distribution split: the Dutch and Czech voice
packs of the game Fish Fillets NG (Debian ``fillets-ng-data-nl``, ``fillets-ng-data-cs``).

The game is a scripted dialogue between two fish, each voiced by one actor per language.
Files are named ``<level>-<who>-<line>.ogg`` where ``who`` is ``m`` for the small fish
(Czech *malá*) and ``v`` for the big fish (*velká*); other infixes belong to other
characters (parrots, crabs, ...) and are not used. Attribution rests on this naming
convention only (the dialogue scripts in ``fillets-ng-data`` are not needed); the per-actor
pitch check in the tests confirms each letter is one voice. Lines are ordered by level and
then by name, which keeps lines of one scene together.
"""
from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass

import numpy as np

from ..speech.audio import load_audio
from ..errors import AudioError
from .voices import trim_silence

SOUND_ROOT = "/usr/share/games/fillets-ng/sound"
LANGUAGES = ("nl", "cs")
CHARACTERS = {"m": "small fish", "v": "big fish"}
BACKCHANNEL_CANDIDATES = 100       # smallest files checked for short lines
BACKCHANNEL_MAX_S = 1.3
_NAME = re.compile(r"^[a-z0-9]+-([mv])-[a-z0-9_]+\.ogg$")


def fish_lines(lang: str, root: str = SOUND_ROOT) -> dict[str, list[str]]:
    """{'m': [paths], 'v': [paths]} of one language, sorted by level then file name."""
    out: dict[str, list[str]] = {"m": [], "v": []}
    for path in sorted(glob.glob(os.path.join(root, "*", lang, "*.ogg"))):
        m = _NAME.match(os.path.basename(path))
        if m:
            out[m.group(1)].append(path)
    return out


def available(root: str = SOUND_ROOT) -> list[str]:
    """Languages whose voice pack is installed with enough lines for both fish."""
    return [lang for lang in LANGUAGES
            if all(len(v) >= 50 for v in fish_lines(lang, root).values())]


@dataclass
class FishTalker:
    """One fish of one language: speaks its lines in order (from a random start), and
    uses its short lines (<= 1.3 s) as backchannels."""

    lang: str
    who: str
    paths: list[str]
    max_s: float = 6.0
    start: int = 0

    def __post_init__(self) -> None:
        self._next = self.start
        self._cache: dict[str, np.ndarray] = {}
        self._short: list[str] | None = None

    def _load(self, path: str) -> np.ndarray:
        if path not in self._cache:
            try:
                self._cache[path] = trim_silence(load_audio(path, allow_silent=True))
            except AudioError:      # a few files in the packs are empty
                self._cache[path] = np.zeros(0, dtype=np.float32)
        return self._cache[path]

    def say(self, rng: np.random.Generator) -> np.ndarray:
        for _ in range(len(self.paths)):
            path = self.paths[self._next % len(self.paths)]
            self._next += 1
            clip = self._load(path)
            if 0.5 * 16000 <= len(clip) <= self.max_s * 16000:
                return clip
        return np.zeros(0, dtype=np.float32)

    def backchannel(self, rng: np.random.Generator) -> np.ndarray | None:
        if self._short is None:
            # Short lines by file size first (cheap), then by decoded length.
            small = [p for p in sorted(self.paths, key=os.path.getsize)
                     if os.path.getsize(p) > 2000][:BACKCHANNEL_CANDIDATES]
            self._short = [p for p in small
                           if 0.25 * 16000 <= len(self._load(p)) <= BACKCHANNEL_MAX_S * 16000]
        if not self._short:
            return None
        return self._load(self._short[int(rng.integers(len(self._short)))])
