# SPDX-License-Identifier: GPL-3.0-or-later
"""The three offline speech engines, each returning its audio with the phone timeline it
synthesised (raw: no warp, no trimming, no calibration; those are in :mod:`.voices`).

- flite: ``flite -voice V -psdur`` prints ``phone:end`` for every segment.
- festival: a Scheme script synthesises the utterance and prints every item of its
  ``Segment`` relation with its end time and its syllable's stress.
- espeak-ng: phoneme events from the C library (:mod:`.espeak_lib`), mapped to ARPAbet
  (:mod:`.espeak_phonemes`).

Diphone voices (flite kal, festival kal/ked) stop the audio half a diphone into the final
pause, so a timeline may run past the audio by up to that pause; :func:`.phones.fit`
clips it. A timeline that ends well before the audio, or a speech phone past its end, is a
synthesis error and raises.
"""
from __future__ import annotations

import io
import os
import subprocess
import tempfile

import numpy as np
import soundfile as sf

from ..speech.audio import resample
from ..constants import SAMPLE_RATE
from ..errors import TimarError
from . import espeak_lib
from .espeak_phonemes import to_arpabet, vowel_stress
from .phones import SILENCE, VOWELS, Phone, arpabet_label, fit, from_ends, merge_silences

# How far the timeline's final pause may run past the audio (diphone voices), seconds.
FINAL_PAUSE_SLACK_S = 0.35


def run(cmd: list[str], text_in: str | None = None) -> bytes:
    try:
        out = subprocess.run(cmd, input=text_in.encode() if text_in is not None else None,
                             capture_output=True, check=True, timeout=60)
    except FileNotFoundError:
        raise TimarError(f"{cmd[0]} is not installed; run .ci/setup") from None
    except subprocess.CalledProcessError as exc:
        raise TimarError(f"{cmd[0]} failed: {exc.stderr.decode(errors='replace')[:200]}") from None
    return out.stdout


def read_wav(data: bytes | str) -> np.ndarray:
    src = io.BytesIO(data) if isinstance(data, bytes) else data
    audio, sr = sf.read(src, dtype="float32", always_2d=True)
    return resample(audio.mean(axis=1), sr, SAMPLE_RATE).astype(np.float32)


def finish(audio: np.ndarray, phones: list[Phone], what: str) -> tuple[np.ndarray, list[Phone]]:
    """Check the timeline against the audio length, then fit it to the audio exactly."""
    duration = len(audio) / SAMPLE_RATE
    speech = [p for p in phones if p.label != SILENCE]
    if not speech:
        raise TimarError(f"{what}: no phones came back")
    if speech[-1].end > duration + 0.02:
        raise TimarError(f"{what}: phones run to {speech[-1].end:.3f} s, the audio to {duration:.3f} s")
    if phones[-1].end > duration + FINAL_PAUSE_SLACK_S or phones[-1].end < duration - 0.3:
        raise TimarError(f"{what}: phones end at {phones[-1].end:.3f} s, the audio at {duration:.3f} s")
    return audio, fit(phones, duration)


def flite(name: str, text: str, stretch: float = 1.0) -> tuple[np.ndarray, list[Phone]]:
    with tempfile.TemporaryDirectory(prefix="timar_tts_") as tmp:
        wav = os.path.join(tmp, "out.wav")
        out = run(["flite", "-voice", name, "--setf", f"duration_stretch={stretch}",
                   "-psdur", "-t", text, "-o", wav]).decode()
        audio = read_wav(wav)
    labels, ends = [], []
    for token in out.split():
        phone, _, end = token.rpartition(":")
        labels.append(arpabet_label(phone))
        ends.append(float(end))
    return finish(audio, merge_silences(from_ends(labels, ends)), f"flite {name}")


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", " ").replace('"', "'") + '"'


def festival(name: str, text: str, stretch: float = 1.0) -> tuple[np.ndarray, list[Phone]]:
    with tempfile.TemporaryDirectory(prefix="timar_tts_") as tmp:
        wav = os.path.join(tmp, "out.wav")
        script = os.path.join(tmp, "say.scm")
        with open(script, "w") as f:
            f.write(f"(voice_{name})\n(Parameter.set 'Duration_Stretch {stretch})\n"
                    f"(set! utt (Utterance Text {_scheme_string(text)}))\n(utt.synth utt)\n"
                    f"(utt.save.wave utt {_scheme_string(wav)} 'riff)\n"
                    "(mapcar (lambda (s) (format t \"%s %f %s\\n\" (item.name s) "
                    "(item.feat s \"end\") (item.feat s \"R:SylStructure.parent.stress\"))) "
                    "(utt.relation.items utt 'Segment))\n")
        out = run(["festival", "-b", script]).decode()
        if not os.path.exists(wav):
            raise TimarError(f"festival voice {name!r} wrote no audio; is it installed? (.ci/setup)")
        audio = read_wav(wav)
    labels, ends = [], []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        label, _ = arpabet_label(parts[0])
        labels.append((label, int(float(parts[2])) if label in VOWELS else None))
        ends.append(float(parts[1]))
    return finish(audio, merge_silences(from_ends(labels, ends)), f"festival {name}")


def espeak(name: str, text: str, rate: int = 175, pitch: int = 50) -> tuple[np.ndarray, list[Phone]]:
    spoken = espeak_lib.speak(name, text, rate, pitch)
    audio = resample(spoken.audio, spoken.sample_rate, SAMPLE_RATE).astype(np.float32)
    names = [n for n, _, _ in spoken.phonemes]
    stress = vowel_stress(names, spoken.transcription)
    starts = [s / spoken.sample_rate for _, s, _ in spoken.phonemes] + [len(audio) / SAMPLE_RATE]
    phones = [Phone(SILENCE, 0.0, starts[0])] if starts[0] > 0 else []
    for i, mnemonic in enumerate(names):
        labels = to_arpabet(mnemonic)
        t0, t1 = starts[i], max(starts[i + 1], starts[i])
        if not labels:          # a modifier: its time belongs to the phone before it
            if phones:
                phones[-1] = Phone(phones[-1].label, phones[-1].start, t1, phones[-1].stress)
            continue
        step = (t1 - t0) / len(labels)
        for k, label in enumerate(labels):
            phones.append(Phone(label, t0 + k * step, t0 + (k + 1) * step,
                                stress[i] if label in VOWELS else None))
    return finish(audio, merge_silences(phones), f"espeak-ng {name}")
