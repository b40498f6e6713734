"""The lip-sync benchmark: generate a head for each utterance and score it with
:mod:`.lipsync`; on real speech, score against phone labels (Whisper transcript aligned by
pocketsphinx where Whisper is available, else pocketsphinx's phone loop) and the real
face's jaw.

Each utterance is spoken by speaker A while speaker B is silent (B is then a pure listener).
A model with a mouth head yields face frames (``TurnResult.face_a``); one without is read
through ``face_from_flame``, and then its lips count as sealed where the FLAME jaw is at most
``lipsync.FLAME_SEALED_JAW_RAD`` and its jaw is the FLAME opening in radians.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..speech.audio import load_audio
from ..constants import JAW, SAMPLE_RATE
from ..errors import TimarError
from ..face.channels import face_from_flame
from ..face.flame import load_motion_npz
from ..generate import DialogueGenerator
from . import lipsync
from .phone_frames import SIL, frame_labels, read_phones_json, speech_mask
from .phone_loop import phone_loop
from .real_labels import label_recording, recording_phones
from .transcribe import Transcriber, unavailable_reason

# The targets (benchmark, not timed tests): metric -> (comparison, value).
TARGETS: dict[str, tuple[str, float]] = {
    "viseme_accuracy": (">=", 0.75),
    "closure_recall": (">=", 0.9),
    "false_closures_per_min": ("<=", 10.0),
    "jaw_auc": (">=", 0.85),
    "rounding_auc": (">=", 0.8),
    "real_agreement": (">=", 0.5),
}
# How each pooled figure weighs its utterances.
_WEIGHT = {"closure_recall": "bilabials"}
# The face leads the sound by one frame (40 ms) on the shared real dialogue (best jaw AUC).
REAL_FACE_LEAD_FRAMES = 1


@dataclass
class HeadTrack:
    """One generated head: face frames, lips sealed per frame, a jaw-opening signal."""
    face: np.ndarray            # (T, 67)
    sealed: np.ndarray          # (T,) bool
    jaw: np.ndarray             # (T,) ARKit jawOpen, or FLAME radians for a FLAME-only face
    from_flame: bool


@dataclass
class LipsyncReport:
    utterances: list[dict] = field(default_factory=list)
    real: list[dict] = field(default_factory=list)
    pooled: dict[str, float] = field(default_factory=dict)
    face_source: str = ""
    real_labels: str = ""          # "alignment" or "phone-loop"


def head_track(motion: np.ndarray, face: np.ndarray | None) -> HeadTrack:
    if face is not None:
        face = np.asarray(face, dtype=np.float32)
        return HeadTrack(face, lipsync.sealed_lips(face), lipsync.jaw_open(face), False)
    jaw = np.asarray(motion)[:, JAW.start]
    return HeadTrack(face_from_flame(motion), lipsync.sealed_from_flame_jaw(jaw), jaw, True)


def generate_heads(generator: DialogueGenerator, audio: np.ndarray) -> tuple[HeadTrack, HeadTrack]:
    """Speaker A says ``audio`` (16 kHz), speaker B is silent; both heads generated. The
    face frames count only where the model has a mouth head (else they are
    ``face_from_flame``'s, and the FLAME jaw rule judges the lips)."""
    parts: dict[str, list] = {"ma": [], "mb": [], "fa": [], "fb": []}
    for turn in generator.stream(audio, np.zeros_like(audio), allow_silent=True):
        parts["ma"].append(turn.motion_a)
        parts["mb"].append(turn.motion_b)
        parts["fa"].append(turn.face_a)
        parts["fb"].append(turn.face_b)
    has_mouth = getattr(generator.model, "mouth", None) is not None

    def face(key):
        return np.concatenate(parts[key]) if has_mouth else None

    return (head_track(np.concatenate(parts["ma"]), face("fa")),
            head_track(np.concatenate(parts["mb"]), face("fb")))


def find_utterances(folder: str | os.PathLike) -> list[tuple[Path, Path]]:
    """(wav, phones json) pairs with the same stem (NAME.json, or NAME.phones.json), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TimarError(f"{folder}: no such folder of utterances (wav + phones json pairs)")
    pairs = []
    for wav in sorted(folder.glob("*.wav")):
        found = [c for c in (wav.with_suffix(".json"), wav.with_suffix(".phones.json")) if c.is_file()]
        if found:
            pairs.append((wav, found[0]))
    if not pairs:
        raise TimarError(f"{folder}: no utterance found; put NAME.wav beside NAME.json "
                         "(a JSON list of [phone, start_s, end_s])")
    return pairs


def score_utterance(generator: DialogueGenerator, wav: Path, phones_json: Path) -> dict:
    audio = load_audio(wav)
    phones = read_phones_json(phones_json)
    speaker, listener = generate_heads(generator, audio)
    row = {"utterance": wav.stem, "seconds": len(audio) / SAMPLE_RATE,
           **lipsync.score(speaker.face, phones, sealed=speaker.sealed, jaw=speaker.jaw)}
    labels = frame_labels(phones, len(speaker.face))
    own = lipsync.silent_mouth(speaker.face, labels, speaker.sealed)
    heard = lipsync.silent_mouth(listener.face, np.full(len(listener.face), SIL, dtype=object),
                                 listener.sealed)
    row.update({"own_pause_jaw_open": own["jaw_open"],
                "own_pause_sealed_fraction": own["sealed_fraction"],
                "listener_jaw_open": heard["jaw_open"],
                "listener_sealed_fraction": heard["sealed_fraction"],
                "face_from_flame": speaker.from_flame})
    return row


LABEL_SOURCES = ("auto", "alignment", "phone-loop")


@dataclass
class RealLabeller:
    """Phones for a real recording: ``source`` is "alignment" (Whisper + pocketsphinx) or
    "phone-loop"; ``note`` says why the phone loop was chosen, if it was."""
    source: str
    note: str = ""
    transcriber: Transcriber | None = None

    def __call__(self, audio: np.ndarray) -> tuple[list, dict]:
        if self.transcriber is None:
            return phone_loop(audio), {"labels": "phone-loop"}
        pieces = label_recording(audio, self.transcriber)
        labelled = sum(p.end - p.start for p in pieces if p.phones)
        total = sum(p.end - p.start for p in pieces)
        return (recording_phones(pieces, len(audio) / SAMPLE_RATE),
                {"labels": "alignment", "pieces": [p.as_dict() for p in pieces],
                 "aligned_fraction": labelled / total if total else float("nan")})

    def close(self) -> None:
        if self.transcriber is not None:
            self.transcriber.close()


def real_labeller(source: str = "auto") -> RealLabeller:
    """Aligned labels when Whisper and ctranslate2 are installed ("auto", "alignment"; the
    latter raises when they are not), else the phone loop with the reason in ``note``."""
    if source not in LABEL_SOURCES:
        raise TimarError(f"real-speech labels {source!r}: choose one of {', '.join(LABEL_SOURCES)}")
    if source == "phone-loop":
        return RealLabeller("phone-loop", "asked for")
    reason = unavailable_reason()
    if reason is None:
        return RealLabeller("alignment", transcriber=Transcriber())
    if source == "alignment":
        raise TimarError(f"cannot label real speech by alignment: {reason}")
    return RealLabeller("phone-loop", reason)


def score_real(generator: DialogueGenerator, wav: Path, labeller: RealLabeller | None = None) -> dict:
    """Real speech: our head against the labeller's phones (default: the phone loop);
    where ``wav``'s stem has a FLAME npz beside it (the real face), also our jaw against the
    real jaw, and the real face's own jaw AUC under the same labels (a check of the labels
    and the metric)."""
    audio = load_audio(wav)
    phones, about = (labeller or RealLabeller("phone-loop"))(audio)
    speaker, _ = generate_heads(generator, audio)
    labels = frame_labels(phones, len(speaker.face))
    row = {"recording": wav.stem, "seconds": len(audio) / SAMPLE_RATE, **about,
           "real_agreement": lipsync.viseme_accuracy(speaker.face, labels),
           "real_jaw_auc_phones": lipsync.jaw_auc(speaker.jaw, labels)}
    npz = wav.with_suffix(".npz")
    if npz.is_file():
        real_jaw = load_motion_npz(npz)[:, JAW.start]
        real_labels = frame_labels(phones, len(real_jaw))
        row["real_jaw_auc_vs_face"] = lipsync.jaw_auc_vs_reference(
            speaker.jaw, real_jaw, speech_mask(real_labels))
        row["real_face_jaw_auc"] = lipsync.jaw_auc(real_jaw, real_labels, REAL_FACE_LEAD_FRAMES)
        real_sealed = lipsync.sealed_from_flame_jaw(real_jaw)
        row["real_face_closure_recall"] = lipsync.closure_recall(real_sealed, phones)
        row["real_face_false_closures_per_min"] = lipsync.false_closures_per_minute(
            real_sealed, phones)
    return row


def pool(rows: list[dict], weight_default: str = "speech_frames") -> dict[str, float]:
    """Mean of each metric over rows, weighted by speech frames (closure recall: by
    bilabials); NaNs skipped; best lag as the median."""
    keys = list(dict.fromkeys(k for r in rows for k, v in r.items() if isinstance(v, float)
                              and k not in ("seconds", "speech_frames", "bilabials")))
    pooled = {}
    for k in keys:
        w_key = _WEIGHT.get(k, weight_default)
        pairs = [(r[k], r.get(w_key, 1.0)) for r in rows
                 if k in r and not math.isnan(r[k])]
        total = sum(w for _, w in pairs)
        pooled[k] = (sum(v * w for v, w in pairs) / total) if total > 0 else float("nan")
    if rows and "best_lag_frames" in rows[0]:
        pooled["best_lag_frames"] = float(np.median([r["best_lag_frames"] for r in rows]))
    return pooled


def run_benchmark(generator: DialogueGenerator, utterances: list[tuple[Path, Path]],
                  real_wavs: list[Path] = (), log=None, real_labels: str = "auto") -> LipsyncReport:
    report = LipsyncReport()
    for wav, phones_json in utterances:
        report.utterances.append(score_utterance(generator, wav, phones_json))
        if log:
            log(f"lipsync: {wav.name} done")
    if real_wavs:
        labeller = real_labeller(real_labels)
        report.real_labels = labeller.source
        if labeller.note and log:
            log(f"lipsync: real speech labelled by pocketsphinx's phone loop ({labeller.note})")
        try:
            for wav in real_wavs:
                report.real.append(score_real(generator, wav, labeller))
                if log:
                    log(f"lipsync: real {wav.name} done ({labeller.source} labels)")
        finally:
            labeller.close()
    report.pooled = pool(report.utterances)
    report.pooled.update({k: v for k, v in pool(report.real, "seconds").items()})
    flame = [r["face_from_flame"] for r in report.utterances]
    report.face_source = "face_from_flame (no mouth head)" if flame and all(flame) \
        else "the model's face frames"
    return report


def _verdict(name: str, value: float) -> str:
    if name not in TARGETS or math.isnan(value):
        return ""
    op, target = TARGETS[name]
    ok = value >= target if op == ">=" else value <= target
    return "yes" if ok else "no"


def table(report: LipsyncReport) -> str:
    """The pooled figures with the issue's targets beside them."""
    real = f" labelled by {report.real_labels}" if report.real else ""
    lines = [f"lip sync ({len(report.utterances)} utterance(s), {len(report.real)} real "
             f"recording(s){real}; face: {report.face_source})",
             f"{'metric':32s} {'value':>8s}  {'target':>8s}  met"]
    for name, value in report.pooled.items():
        op, target = TARGETS.get(name, ("", float("nan")))
        target_text = f"{op} {target:g}" if op else ""
        lines.append(f"{name:32s} {value:8.3f}  {target_text:>8s}  {_verdict(name, value)}")
    return "\n".join(lines)


def as_json(report: LipsyncReport) -> dict:
    def clean(v):
        return None if isinstance(v, float) and math.isnan(v) else v

    return {"face_source": report.face_source, "real_labels": report.real_labels,
            "targets": {k: {"op": op, "value": v} for k, (op, v) in TARGETS.items()},
            "pooled": {k: clean(v) for k, v in report.pooled.items()},
            "utterances": [{k: clean(v) for k, v in r.items()} for r in report.utterances],
            "real": [{k: clean(v) for k, v in r.items()} for r in report.real]}
