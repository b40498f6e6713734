"""The DualTalk benchmark protocol: generate each clip's agent, score it, average, tabulate.

Per test dialogue (cut to whole seconds), each speaker whose ground-truth motion exists is
the agent once; the other speaker is its user (partner). A method predicts the agent's
motion from both speech tracks and the partner's real motion; the partner's ground truth is
the anchor of P-FD and rPCC. Where the partner's motion is unknown (a dialogue with one
motion file, like the real demo), FD, MSE and SID are still scored and P-FD/rPCC are absent;
TIMAR then generates the partner's head too (its "partner unknown" path) instead of copying
it. Metrics are computed per clip, then averaged (``metrics.py``). The methods are in
``methods.py`` (TIMAR) and ``model_core/baselines`` (the others).
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from . import metrics
from ..constants import SAMPLES_PER_FRAME, TURN_FRAMES
from ..data import find_dialogues, load_dialogue
from ..errors import TimarError
from .motion_time import format_time_table

SPEAKERS = ("speaker1", "speaker2")


@dataclass
class AgentClip:
    """One scored unit: a dialogue with one speaker as the agent, cut to whole seconds."""
    dialogue_id: str
    agent: str                          # "speaker1" | "speaker2"
    audio_agent: np.ndarray             # (F * 640,) float32, 16 kHz
    audio_user: np.ndarray              # (F * 640,)
    motion_agent: np.ndarray            # (F, 56) ground truth
    motion_user: np.ndarray | None      # (F, 56) partner ground truth, None when unknown

    @property
    def frames(self) -> int:
        return int(self.motion_agent.shape[0])


class Method(Protocol):
    """Something that predicts an agent's motion; ``context`` is TIMAR's n (None otherwise)."""
    name: str
    context: int | None

    def predict(self, clip: AgentClip) -> np.ndarray | None:
        """(F, 56) prediction, or None when the method cannot handle this clip."""


def draws_of(method: Method, draws: int) -> int:
    """How often a method is run per clip: stochastic methods (those with a ``draw`` index
    offsetting their seed) ``draws`` times, deterministic ones once."""
    return draws if hasattr(method, "draw") else 1


def whole_seconds(frames: int) -> int:
    """Largest multiple of one turn (25 frames) not above ``frames``."""
    return (int(frames) // TURN_FRAMES) * TURN_FRAMES


def agent_clips(dialogue) -> list[AgentClip]:
    """The dialogue's clips, one per speaker with ground-truth motion, cut to whole seconds.

    ``dialogue`` has ``id``, ``audio1``/``audio2`` (1-D 16 kHz) and ``motion1``/``motion2``
    ((T, 56) or None), as returned by ``model_core.data.load_dialogue``.
    """
    audios = (np.asarray(dialogue.audio1, np.float32), np.asarray(dialogue.audio2, np.float32))
    motions = (dialogue.motion1, dialogue.motion2)
    lengths = [len(a) // SAMPLES_PER_FRAME for a in audios]
    lengths += [len(m) for m in motions if m is not None]
    if getattr(dialogue, "num_frames", None):
        lengths.append(int(dialogue.num_frames))
    frames = whole_seconds(min(lengths))
    if frames == 0:
        return []
    n = frames * SAMPLES_PER_FRAME
    clips = []
    for i, name in enumerate(SPEAKERS):
        own, other = motions[i], motions[1 - i]
        if own is None:
            continue
        clips.append(AgentClip(
            dialogue_id=dialogue.id, agent=name,
            audio_agent=audios[i][:n], audio_user=audios[1 - i][:n],
            motion_agent=np.asarray(own[:frames], np.float32),
            motion_user=None if other is None else np.asarray(other[:frames], np.float32)))
    return clips


def iter_clips(split_dir: str, max_dialogues: int | None = None) -> Iterator[AgentClip]:
    """Agent clips of a split folder in the DualTalk layout, dialogue by dialogue."""
    ids = list(find_dialogues(split_dir))
    if not ids:
        raise TimarError(f"no dialogues (<id>_speaker1/2 .wav + .npz) found in {split_dir}")
    for dialogue_id in ids[:max_dialogues] if max_dialogues else ids:
        yield from agent_clips(load_dialogue(split_dir, dialogue_id))


@dataclass
class MethodResult:
    """Per-clip metrics of one method, their mean, and the clips it could not handle."""
    name: str
    context: int | None
    per_clip: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def mean(self) -> dict:
        return metrics.aggregate(self.per_clip)

    def to_dict(self) -> dict:
        mean = self.mean
        return {"context": self.context, "num_clips": len(self.per_clip),
                "skipped": list(self.skipped), "seconds": round(self.seconds, 3),
                "mean": mean, "table": metrics.scale_metrics(mean), "per_clip": self.per_clip}


def evaluate(clips: Iterator[AgentClip] | Sequence[AgentClip], methods: Sequence[Method],
             seed: int = 0, log: Callable[[str], None] | None = None,
             draws: int = 1) -> dict[str, MethodResult]:
    """Run every method on every clip and score it. Returns results keyed by method name.
    ``draws`` > 1 scores each stochastic method that many times per clip (seeds seed,
    seed + 1, ...), each draw a row of its own: one short real clip says little from one
    sample."""
    if draws < 1:
        raise ValueError("draws must be at least 1")
    if len({m.name for m in methods}) != len(methods):
        raise ValueError("method names must be unique")
    results = {m.name: MethodResult(m.name, m.context) for m in methods}
    for i, clip in enumerate(clips):
        label = f"{clip.dialogue_id}/{clip.agent}"
        for method, draw in ((m, d) for m in methods for d in range(draws_of(m, draws))):
            res = results[method.name]
            if hasattr(method, "draw"):
                method.draw = draw
            start = time.perf_counter()
            pred = method.predict(clip)
            res.seconds += time.perf_counter() - start
            if pred is None:
                res.skipped.append(label)
                continue
            pred = np.asarray(pred, dtype=np.float64)
            if pred.shape[0] < clip.frames:
                raise TimarError(f"{method.name} returned {pred.shape[0]} frames for {label}, "
                                 f"expected {clip.frames}")
            values = metrics.clip_metrics(pred[:clip.frames], clip.motion_agent,
                                          clip.motion_user, seed=seed)
            res.per_clip.append({"dialogue": clip.dialogue_id, "agent": clip.agent,
                                 "frames": clip.frames, "draw": draw,
                                 "partner_known": clip.motion_user is not None, **values})
        if log:
            log(f"[{i + 1}] {label}: {clip.frames / 25:.0f} s scored")
    return results


def tables(results: dict[str, MethodResult], title: str = "") -> str:
    """The paper's table per context length (TIMAR) and, with baselines, per method."""
    by_context = {r.context: r.mean for r in results.values() if r.context is not None}
    others = {name: r.mean for name, r in results.items() if r.context is None}
    parts = []
    if by_context:
        parts.append(metrics.format_table(dict(sorted(by_context.items())),
                                          f"{title}TIMAR by context length n".strip()))
    if others:
        rows = {}
        if by_context:
            best = max(by_context)
            rows[f"TIMAR n={best}"] = by_context[best]
        rows.update(others)
        parts.append(metrics.format_table(rows, f"{title}methods".strip()))
    over_time = {name: r.mean for name, r in results.items()}
    parts.append(format_time_table(over_time, f"{title}motion over time".strip()))
    return "\n\n".join(parts)


def report(results: dict[str, MethodResult], data: str, protocol: dict) -> dict:
    """JSON-ready summary: protocol, and per method its mean, scaled table and per-clip values."""
    return {"data": data, "protocol": protocol,
            "methods": {name: r.to_dict() for name, r in results.items()}}


def stderr_log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
