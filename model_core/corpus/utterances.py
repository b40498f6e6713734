# SPDX-License-Identifier: GPL-3.0-or-later
"""Single-speaker utterances with their phones, for training and testing a speech -> mouth
model on many voices: ``<out>/train/u00000.wav`` + ``u00000.json`` (text, voice, licence,
phones) and the same under ``<out>/heldout/`` for voices never used in training.

Voices: every espeak-ng English accent x every installed variant, every flite voice and
every festival voice (all free; no MBROLA). Augmentation per utterance: speaking rate,
warp (pitch and formants with time), and coloured background noise at a random SNR.
Everything is drawn from the seed, utterance by utterance.
"""
from __future__ import annotations

import glob
import json
import os
from dataclasses import asdict, dataclass

import numpy as np
import soundfile as sf

from ..constants import SAMPLE_RATE
from ..errors import TimarError
from . import phones as phone_ops
from .dialogue import coloured_noise
from .licences import voice_licence
from .text import Sentences
from .voices import (ESPEAK_LANGS, ESPEAK_VARIANTS, FESTIVAL_VOICES, FLITE_VOICES, Voice,
                     synthesize_with_phones)

ESPEAK_VARIANT_DIRS = ("/usr/lib/x86_64-linux-gnu/espeak-ng-data/voices/!v",
                       "/usr/share/espeak-ng-data/voices/!v")
# Never trained on: one voice per engine family, and a whole espeak accent.
DEFAULT_HELD_OUT = ("flite:rms", "festival:ked_diphone", "espeak-ng:en-gb-x-gbclan")


@dataclass
class Augment:
    espeak_rate: tuple[float, float] = (130.0, 200.0)     # words per minute
    stretch: tuple[float, float] = (0.85, 1.2)            # flite/festival duration stretch
    warp: tuple[float, float] = (0.9, 1.1)
    noise_prob: float = 0.5
    snr_db: tuple[float, float] = (10.0, 35.0)


def espeak_variants() -> list[str]:
    """Installed espeak-ng voice variants (Debian ships about 100)."""
    for folder in ESPEAK_VARIANT_DIRS:
        names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(folder, "*")))
        if names:
            return names
    return list(ESPEAK_VARIANTS)


def all_voices() -> list[str]:
    """'engine:name' of every free voice the engines offer here."""
    out = [f"espeak-ng:{lang}+{var}" for lang in ESPEAK_LANGS for var in espeak_variants()]
    out += [f"flite:{v}" for v in FLITE_VOICES] + [f"festival:{v}" for v in FESTIVAL_VOICES]
    return out


def is_held_out(identity: str, held_out: tuple[str, ...]) -> bool:
    """A voice is held out when named, or when its espeak accent is named."""
    return identity in held_out or identity.split("+")[0] in held_out


def styled_voice(identity: str, rng: np.random.Generator, aug: Augment) -> Voice:
    engine, name = identity.split(":", 1)
    warp = round(float(rng.uniform(*aug.warp)), 3)
    if engine == "espeak-ng":
        return Voice(engine, name, rate=float(int(rng.uniform(*aug.espeak_rate))),
                     pitch=int(rng.integers(20, 80)), warp=warp)
    return Voice(engine, name, rate=round(float(rng.uniform(*aug.stretch)), 3), warp=warp)


def utterance_corpus(out_dir: str, n_utterances: int, voices: list[str] | None = None,
                     seed: int = 0, held_out: tuple[str, ...] = DEFAULT_HELD_OUT,
                     n_held_out: int | None = None, augment: Augment | None = None,
                     progress=print) -> dict:
    """Write ``n_utterances`` training utterances over the non-held-out ``voices`` (default:
    :func:`all_voices`) and ``n_held_out`` (default a tenth) over the held-out ones; return
    the manifest (also written as ``manifest.json``)."""
    aug = augment or Augment()
    pool = voices or all_voices()
    splits = {"train": [v for v in pool if not is_held_out(v, held_out)],
              "heldout": [v for v in pool if is_held_out(v, held_out)]}
    counts = {"train": n_utterances,
              "heldout": n_held_out if n_held_out is not None else max(1, n_utterances // 10)}
    if not splits["train"] or (counts["heldout"] and not splits["heldout"]):
        raise TimarError("no voice left for a split: check --voices and --held-out")
    entries = []
    for split, names in splits.items():
        folder = os.path.join(out_dir, split)
        os.makedirs(folder, exist_ok=True)
        for i in range(counts[split]):
            rng = np.random.default_rng([seed, 1 if split == "train" else 2, i])
            identity = names[int(rng.integers(len(names)))]
            voice = styled_voice(identity, rng, aug)
            text = Sentences(rng).utterance(int(rng.integers(3, 14)))
            audio, timeline = synthesize_with_phones(voice, text)
            snr = None
            if rng.random() < aug.noise_prob:
                snr = round(float(rng.uniform(*aug.snr_db)), 1)
                level = 10 * np.log10(float(np.mean(audio ** 2)) + 1e-12) - snr
                audio = np.clip(audio + coloured_noise(rng, len(audio), level), -1, 1)
            phone_ops.check_timeline(timeline, len(audio) / SAMPLE_RATE)
            base = os.path.join(folder, f"u{i:05d}")
            sf.write(base + ".wav", audio, SAMPLE_RATE, subtype="PCM_16")
            entry = {"id": f"{split}/u{i:05d}", "text": text, "voice": voice.as_dict(),
                     "identity": identity, "snr_db": snr,
                     "licence": voice_licence(voice.engine, voice.name)["licence"]}
            with open(base + ".json", "w") as f:
                f.write(phone_ops.to_json(timeline, **entry))
            entries.append({**entry, "seconds": round(len(audio) / SAMPLE_RATE, 3)})
            if len(entries) % 100 == 0:
                progress(f"[utterances] {len(entries)} written")
    manifest = {"seed": seed, "augment": asdict(aug), "held_out": list(held_out),
                "voices": {k: len(v) for k, v in splits.items()}, "utterances": entries}
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return manifest
