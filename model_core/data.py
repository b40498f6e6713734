"""Reading dialogues in the DualTalk layout and cutting them into training segments.

A split folder (``train/``, ``test/``, ``ood/``) holds, per dialogue ``<id>``,
``<id>_speaker1.wav``, ``<id>_speaker2.wav`` and (where released) ``<id>_speaker1.npz``,
``<id>_speaker2.npz``. :func:`load_dialogue` returns one dialogue with audio and motion
aligned to whole 25 fps frames; :class:`DualTalkDataset` serves fixed-length segments in
which each speaker in turn is the agent.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from .constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from .errors import TimarError
from .face import flame
from .speech.audio import load_audio

_WAV = re.compile(r"^(.+)_speaker1\.wav$")


def find_dialogues(split_dir: str | os.PathLike) -> list[str]:
    """Sorted ids of the dialogues in ``split_dir`` that have both speakers' wav files."""
    split_dir = os.fspath(split_dir)
    if not os.path.isdir(split_dir):
        return []
    names = set(os.listdir(split_dir))
    ids = [m.group(1) for n in names if (m := _WAV.match(n))]
    return sorted(i for i in ids if f"{i}_speaker2.wav" in names)


@dataclass
class Dialogue:
    """One dialogue, audio and motion aligned: audio has ``num_frames * 640`` samples."""

    id: str
    audio1: np.ndarray                 # (num_frames*640,) float32, 16 kHz
    audio2: np.ndarray
    motion1: np.ndarray | None         # (num_frames, 56) float32 (exp ++ jaw ++ neck) or None
    motion2: np.ndarray | None
    num_frames: int

    @property
    def seconds(self) -> float:
        return self.num_frames / FPS


def _fit(audio: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad to ``n`` samples."""
    if len(audio) >= n:
        return np.ascontiguousarray(audio[:n], dtype=np.float32)
    return np.pad(audio, (0, n - len(audio))).astype(np.float32)


def _fit_motion(motion: np.ndarray | None, n: int) -> np.ndarray | None:
    """Trim, or repeat the last frame, to ``n`` frames."""
    if motion is None or len(motion) == n:
        return motion
    if len(motion) > n:
        return np.ascontiguousarray(motion[:n])
    return np.concatenate([motion, np.repeat(motion[-1:], n - len(motion), axis=0)])


def load_dialogue(split_dir: str | os.PathLike, dialogue_id: str) -> Dialogue:
    """Load one dialogue. ``num_frames`` is the motion length (the shorter one if both
    are present and differ), else the audio duration rounded to whole frames."""
    base = os.path.join(os.fspath(split_dir), dialogue_id)
    audio = [load_audio(f"{base}_speaker{i}.wav", allow_silent=True) for i in (1, 2)]
    motion = [flame.load_motion_npz(f"{base}_speaker{i}.npz")
              if os.path.isfile(f"{base}_speaker{i}.npz") else None for i in (1, 2)]
    lengths = [len(m) for m in motion if m is not None]
    if lengths:
        num_frames = min(lengths)
    else:
        num_frames = int(round(max(len(a) for a in audio) / SAMPLE_RATE * FPS))
    if num_frames <= 0:
        raise TimarError(f"dialogue {dialogue_id} in {split_dir} is empty")
    n = num_frames * SAMPLES_PER_FRAME
    return Dialogue(id=dialogue_id, audio1=_fit(audio[0], n), audio2=_fit(audio[1], n),
                    motion1=_fit_motion(motion[0], num_frames),
                    motion2=_fit_motion(motion[1], num_frames), num_frames=num_frames)


def segment_starts(num_frames: int, segment_frames: int, min_frames: int) -> list[int]:
    """Start frames of consecutive non-overlapping windows covering every frame.

    A remainder of at least ``min_frames`` is covered by one more full window that ends at
    the last frame (overlapping the previous one); a shorter remainder is dropped. A
    dialogue shorter than one window gives none, so every segment has the same length."""
    if num_frames < segment_frames:
        return []
    starts = list(range(0, num_frames - segment_frames + 1, segment_frames))
    remainder = num_frames - (starts[-1] + segment_frames)
    if remainder >= min_frames:
        starts.append(num_frames - segment_frames)
    return starts


def _to_int16(audio: np.ndarray) -> np.ndarray:
    return np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)


class DualTalkDataset(Dataset):
    """Fixed-length segments of every dialogue with both speakers' motion.

    Each segment gives two items, one with speaker 1 as agent and one with speaker 2:
    ``audio_agent``, ``audio_user`` (F*640,) float32 tensors, ``motion_agent``,
    ``motion_user`` (F, 56) float32 tensors, ``dialogue_id``, ``start_frame`` and ``agent``
    ("speaker1"/"speaker2"), with F = ``segment_frames`` always (dialogues shorter than one
    segment are skipped), so the default collate batches them. Everything is read once at
    construction; audio is kept as int16 (half the memory of float32).
    """

    def __init__(self, split_dir: str | os.PathLike, segment_frames: int = 200,
                 min_frames: int = 50) -> None:
        if segment_frames <= 0 or min_frames <= 0:
            raise ValueError("segment_frames and min_frames must be positive")
        self.split_dir = os.fspath(split_dir)
        self.segment_frames = segment_frames
        ids = find_dialogues(self.split_dir)
        if not ids:
            raise TimarError(
                f"no dialogues in {self.split_dir}: expected <id>_speaker1.wav/.npz and "
                "<id>_speaker2.wav/.npz files (DualTalk layout)")
        self.audio: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.motion: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.index: list[tuple[str, int, int, int]] = []   # (id, start, frames, agent 0/1)
        for did in ids:
            d = load_dialogue(self.split_dir, did)
            if d.motion1 is None or d.motion2 is None:
                continue
            self.audio[did] = (_to_int16(d.audio1), _to_int16(d.audio2))
            self.motion[did] = (d.motion1.astype(np.float32), d.motion2.astype(np.float32))
            for start in segment_starts(d.num_frames, segment_frames, min_frames):
                self.index += [(did, start, segment_frames, 0), (did, start, segment_frames, 1)]
        if not self.index:
            raise TimarError(
                f"no usable dialogues in {self.split_dir}: each needs both speakers' .npz "
                f"motion and at least {segment_frames} frames")

    @property
    def dialogue_ids(self) -> list[str]:
        return sorted(self.motion)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        did, start, frames, agent = self.index[i]
        user = 1 - agent
        a0, a1 = start * SAMPLES_PER_FRAME, (start + frames) * SAMPLES_PER_FRAME
        audio = self.audio[did]
        motion = self.motion[did]

        def pcm(x: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(x[a0:a1].astype(np.float32) / 32767.0)

        return {
            "audio_agent": pcm(audio[agent]),                                # (F*640,)
            "audio_user": pcm(audio[user]),
            "motion_agent": torch.from_numpy(motion[agent][start:start + frames].copy()),  # (F, 56)
            "motion_user": torch.from_numpy(motion[user][start:start + frames].copy()),
            "dialogue_id": did, "start_frame": start, "agent": f"speaker{agent + 1}",
        }
