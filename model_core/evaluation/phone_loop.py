"""Phone labels for any speech from pocketsphinx's phone loop (no transcript needed).

pocketsphinx 5.1.1 (PyPI) bundles the en-us acoustic model and a phone language model; its
``allphone`` search decodes a free phone sequence, as Rhubarb uses it. Settings from
../shared/spec/LIPSYNC.md: beams 1e-20 (wide), language weight 0.8. Measured there: 63-75% of
25 fps viseme frames right on clean TTS; real speech is harder. Offline; RTF ~0.05.
"""
from __future__ import annotations

import os

import numpy as np
from pocketsphinx import Decoder, get_model_path

from ..speech.audio import load_audio
from ..constants import SAMPLE_RATE
from .phone_frames import PhoneSpan, normalise_label

PHONE_LOOP_SETTINGS = {"beam": 1e-20, "pbeam": 1e-20, "lw": 0.8}
_FRAME_S = 0.01                 # pocketsphinx's frames are 10 ms


def _decoder() -> Decoder:
    model = get_model_path()
    return Decoder(hmm=os.path.join(model, "en-us", "en-us"),
                   allphone=os.path.join(model, "en-us", "en-us-phone.lm.bin"),
                   lm=None, samprate=SAMPLE_RATE, loglevel="FATAL", **PHONE_LOOP_SETTINGS)


def phone_loop(audio, sample_rate: int | None = None) -> list[PhoneSpan]:
    """Speech (a path, or samples at ``sample_rate``, default 16 kHz) -> phones from the
    phone loop, labels normalised (``SIL`` and noise -> ``sil``)."""
    samples = load_audio(audio, sample_rate, name="phone-loop audio", allow_silent=True)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
    decoder = _decoder()
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()
    return [PhoneSpan(normalise_label(seg.word), seg.start_frame * _FRAME_S,
                      (seg.end_frame + 1) * _FRAME_S)
            for seg in decoder.seg()]
