"""The bundled sample dialogue: about 25 s of two English speakers taking turns."""
from __future__ import annotations

import os

import numpy as np
import soundfile as sf

from ..constants import SAMPLE_RATE
from .dialogue import LayoutConfig, layout
from .talkers import TTSTalker
from .voices import Voice

SAMPLE_SEED = 10
SAMPLE_SECONDS = 25.0
VOICES = (Voice("flite", "slt", rate=1.0, warp=1.0),
          Voice("espeak-ng", "en-us+m3", rate=155, pitch=40, warp=1.0))


def write_sample(folder: str | os.PathLike, seed: int = SAMPLE_SEED) -> list[str]:
    """Write ``sample_speaker1.wav`` and ``sample_speaker2.wav`` plus README.md."""
    folder = os.fspath(folder)
    os.makedirs(folder, exist_ok=True)
    ss = np.random.SeedSequence([seed, 4])
    s_layout, s1, s2 = ss.spawn(3)
    talkers = (TTSTalker(VOICES[0], np.random.default_rng(s1)),
               TTSTalker(VOICES[1], np.random.default_rng(s2)))
    lay = layout(talkers, SAMPLE_SECONDS, np.random.default_rng(s_layout), LayoutConfig())
    paths = []
    for i in range(2):
        path = os.path.join(folder, f"sample_speaker{i + 1}.wav")
        sf.write(path, lay.tracks[i], SAMPLE_RATE, subtype="PCM_16")
        paths.append(path)
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write(
            "# Sample dialogue\n\n"
            f"A {SAMPLE_SECONDS:.0f} s synthetic English conversation, one speaker per track\n"
            "(16 kHz mono, 16-bit): `sample_speaker1.wav` is flite's `slt` voice,\n"
            "`sample_speaker2.wav` espeak-ng `en-us+m3` (rate 155, pitch 40). The sentences come\n"
            "from the corpus grammar (`model_core/corpus/text.py`); turn-taking, backchannels,\n"
            f"overlap ({lay.overlap:.0%} of speech) and background noise from\n"
            "`model_core/corpus/dialogue.py`.\n\n"
            "Made with `python -m model_core corpus --sample assets/sample` "
            f"(seed {seed}). Licence: GPL-3.0-or-later, like the project.\n\n"
            "## Transcript\n\n| start s | end s | speaker | |\n|---|---|---|---|\n"
            + "".join(f"| {s['start']:.2f} | {s['end']:.2f} | {s['speaker']} | "
                      f"{'(backchannel) ' if s['kind'] == 'backchannel' else ''}{s.get('text', '')} |\n"
                      for s in sorted(lay.segments, key=lambda s: s["start"])))
    return paths
