# SPDX-License-Identifier: GPL-3.0-or-later
"""Real-speech utterance sets labelled by alignment, for the lip-sync benchmark.

Writes ``NAME.wav`` (16 kHz PCM) beside ``NAME.json`` (the phones, with the text, source
and licence; the format ``python -m model_core utterances`` writes and ``lipsync-eval
--utterances`` and ``train-mouth`` read) and a ``manifest.json`` recording each source's
licence and every piece left out, with the reason. Sources:

- ``dualtalk``: each speaker track of a DualTalk dialogue folder, cut at pauses into
  utterances of at most ``max_s``; the words are Whisper's.
- ``recordings``: any other folder of English speech wavs, treated the same way, with the
  licence its user states (e.g. pocketsphinx-testdata's LibriVox readings, public domain).
- ``fillets``: Fish Fillets NG's English spoken lines (:mod:`.fillets_english`); the words
  are the game script's, kept only where Whisper hears them.

Nothing here runs at generation time, and nothing it writes belongs in the repository.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from ..speech.audio import load_audio
from ..constants import SAMPLE_RATE
from ..errors import TimarError
from ..evaluation.pauses import cut_at_pauses
from ..evaluation.real_labels import LabelledPiece, label_piece
from . import fillets_english
from . import phones as phone_ops

UTTERANCE_MAX_S = 10.0
DUALTALK_LICENCE = ("Apache-2.0 (DualTalk corpus, Peng et al., CVPR 2025; derives from "
                    "RealTalk); credit \"DualTalk (Peng et al., CVPR 2025)\"")

Transcribe = Callable[[np.ndarray], str]


def _write(out: Path, name: str, audio: np.ndarray, piece: LabelledPiece, **extra) -> dict:
    """One utterance: the piece's audio and its phones, in the piece's own time."""
    duration = len(audio) / SAMPLE_RATE
    timeline = phone_ops.fit(phone_ops.shift(piece.phones, -piece.start), duration)
    phone_ops.check_timeline(timeline, duration)
    sf.write(out / f"{name}.wav", audio, SAMPLE_RATE, subtype="PCM_16")
    entry = {"id": name, "text": piece.text, **extra}
    (out / f"{name}.json").write_text(phone_ops.to_json(timeline, **entry), encoding="utf-8")
    return {**entry, "seconds": round(duration, 3),
            "phones": sum(p.label != phone_ops.SILENCE for p in timeline)}


def recording_utterances(folder: str | os.PathLike, out: Path, transcribe: Transcribe,
                         max_s: float = UTTERANCE_MAX_S, source: str = "dualtalk",
                         licence: str = DUALTALK_LICENCE, progress=print) -> tuple[list, list]:
    """Every wav of ``folder`` (a DualTalk folder: one per speaker), cut at pauses;
    (written, left out)."""
    wavs = sorted(Path(folder).glob("*.wav"))
    if not wavs:
        raise TimarError(f"--{source} {folder}: no .wav file in it; give a folder of speech "
                         "wavs (e.g. ../shared/data/dualtalk_demo)")
    written, skipped = [], []
    for wav in wavs:
        audio = load_audio(wav)
        for i, p in enumerate(cut_at_pauses(audio, max_s)):
            clip = audio[int(p.start * SAMPLE_RATE):int(p.end * SAMPLE_RATE)]
            heard = transcribe(clip)
            piece = label_piece(clip, heard, p.start, p.end)
            name = f"{source}_{wav.stem}_{i:02d}"
            info = {"source": source, "recording": wav.name, "start": p.start, "end": p.end,
                    "words_from": "whisper", "licence": licence}
            if piece.problem:
                skipped.append({"id": name, "text": heard, "problem": piece.problem, **info})
                continue
            written.append(_write(out, name, clip, piece, **info))
        progress(f"[real-utterances] {wav.name}: {len(written)} utterances so far")
    return written, skipped


def fillets_utterances(out: Path, transcribe: Transcribe, progress=print) -> tuple[list, list]:
    """Fish Fillets NG's English lines with the script's text; (written, left out)."""
    if not fillets_english.installed():
        raise TimarError("--fillets: fillets-ng-data is not installed; run "
                         "apt-get install fillets-ng-data (70 MB)")
    written, skipped = [], []
    for line in fillets_english.english_lines():
        audio = load_audio(line.path, allow_silent=True)
        info = {"source": "fillets", "file": line.path, "words_from": "script",
                "licence": fillets_english.LICENCE}
        name = f"fillets_{line.id}"
        heard = transcribe(audio[:int(30 * SAMPLE_RATE)])
        if not fillets_english.heard_as_written(line.text, heard):
            skipped.append({"id": name, "text": line.text, "heard": heard,
                            "problem": "Whisper does not hear the script's words (not English "
                                       "speech, or another text)", **info})
            continue
        piece = label_piece(audio, line.text)
        if piece.problem:
            skipped.append({"id": name, "text": line.text, "problem": piece.problem, **info})
            continue
        written.append(_write(out, name, audio, piece, heard=heard, **info))
    progress(f"[real-utterances] fillets: {len(written)} of "
             f"{len(written) + len(skipped)} scripted English lines kept")
    return written, skipped


def real_utterances(out: str | os.PathLike, transcribe: Transcribe,
                    dualtalk: str | os.PathLike | None = None, fillets: bool = False,
                    recordings: str | os.PathLike | None = None, licence: str | None = None,
                    max_s: float = UTTERANCE_MAX_S, progress=print) -> dict:
    """Write the chosen sources' utterances into ``out``; return the manifest (also written
    as ``manifest.json``). ``recordings`` needs its ``licence``."""
    if dualtalk is None and not fillets and recordings is None:
        raise TimarError("choose a source: --dualtalk DIR, --recordings DIR and/or --fillets")
    if recordings is not None and not licence:
        raise TimarError("--recordings needs --licence: say under which licence the recordings "
                         "may be used (e.g. 'public domain (LibriVox)')")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sources, utterances, left_out = {}, [], []
    for name, folder, terms in (("dualtalk", dualtalk, DUALTALK_LICENCE),
                                ("recordings", recordings, licence)):
        if folder is None:
            continue
        done, skipped = recording_utterances(folder, out, transcribe, max_s, name, terms, progress)
        sources[name] = {"folder": str(folder), "licence": terms}
        utterances += done
        left_out += skipped
    if fillets:
        done, skipped = fillets_utterances(out, transcribe, progress)
        sources["fillets"] = {"package": "fillets-ng-data", "licence": fillets_english.LICENCE,
                              "copyright": fillets_english.COPYRIGHT}
        utterances += done
        left_out += skipped
    manifest = {"labels": "Whisper base transcript (or the script's text), cut at pauses, "
                          "pocketsphinx forced alignment",
                "max_s": max_s, "sources": sources, "utterances": utterances,
                "left_out": left_out}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest
