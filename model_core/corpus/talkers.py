"""Synthetic English talkers: a TTS voice plus its own sentence stream. Each utterance's
phone timeline (:mod:`.phones`) is kept in ``last_phones`` for the dialogue layout."""
from __future__ import annotations

import numpy as np

from ..constants import SAMPLE_RATE
from .dialogue import words_for_seconds
from .text import Sentences
from .phones import Phone
from .voices import Voice, synthesize_with_phones

MAX_TURN_S = 4.5


class TTSTalker:
    """Speaks generated sentences of 1-4 s with one voice; backchannels are cached."""

    def __init__(self, voice: Voice, text_rng: np.random.Generator) -> None:
        self.voice = voice
        self.sentences = Sentences(text_rng)
        self._bc: dict[str, tuple[np.ndarray, list[Phone]]] = {}
        self.spoken_s = 0.0
        self.last_text = ""
        self.last_phones: list[Phone] = []

    def say(self, rng: np.random.Generator) -> np.ndarray:
        words = words_for_seconds(rng)
        self.last_text = self.sentences.utterance(words)
        clip, self.last_phones = synthesize_with_phones(self.voice, self.last_text)
        while len(clip) > MAX_TURN_S * SAMPLE_RATE and words > 3:
            words = max(3, words // 2)
            self.last_text = self.sentences.utterance(words)
            clip, self.last_phones = synthesize_with_phones(self.voice, self.last_text)
        self.spoken_s += len(clip) / SAMPLE_RATE
        return clip

    def backchannel(self, rng: np.random.Generator) -> np.ndarray:
        text = self.sentences.backchannel()
        self.last_text = text
        if text not in self._bc:
            self._bc[text] = synthesize_with_phones(self.voice, text)
        clip, self.last_phones = self._bc[text]
        return clip
