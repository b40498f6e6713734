"""Training the mouth head on utterances with exact phone timings.

An utterance folder holds ``NAME.wav`` (any rate, mono) beside ``NAME.phones.json`` or
``NAME.json`` (a list of phones: ``{"label", "start", "end", "stress"}`` objects or
``[label, start, end]`` lists, seconds, or an object with such a list under "phones", as
``python -m model_core utterances`` writes). Each utterance is placed in silence (0-1.5 s
before, 0.5-1.5 s after, so the head learns to rest with the lips closed), given a random
gain, a room (a synthetic reverberation tail, half the time), a telephone-to-wideband
band limit (half the time) and background noise, turned into
the features the mouth head reads (the causal log-mel, or Whisper's layer-K features per
turn through the same whole-clip path generation's stream equals) and into the lip teacher's targets
(``corpus.lip_teacher``); random crops of the result train the head. The transformer's
weights are not touched: the head is added to an existing checkpoint.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.signal import butter, fftconvolve, sosfilt

from .speech.audio import load_audio
from .constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from .corpus.lip_teacher import teach
from .errors import TimarError
from .fileio import atomic_write
from .face.channels import ARKIT_DIM, ARKIT_INDEX, MOUTH_CHANNELS
from .face.visemes import JAW_OPEN, LIP_CLOSURE, LIP_ROUNDING
from .mouth import SILENCE_FEATURE, loss


@dataclass
class MouthTrainOptions:
    steps: int = 3000
    batch_size: int = 48
    crop_frames: int = 50
    lr: float = 2e-3
    weight_decay: float = 1e-4
    augmentations: int = 2          # noisy, shifted copies of every utterance
    seed: int = 0
    max_minutes: float = 0.0
    feature_cache: str | None = None   # a file keeping the augmented features between runs
    dropout: float = 0.0               # on the head's projected features, while training


def utterance_files(folders) -> list[tuple[Path, Path]]:
    """(wav, phones json) pairs of one folder or a list of them, sorted by name."""
    folders = [Path(folders)] if isinstance(folders, (str, Path)) else [Path(f) for f in folders]
    pairs = []
    for wav in sorted(w for folder in folders for w in folder.rglob("*.wav")):
        for cand in (wav.with_suffix(".phones.json"), wav.with_suffix(".json")):
            if cand.is_file():
                pairs.append((wav, cand))
                break
    if not pairs:
        raise TimarError(f"{', '.join(map(str, folders))}: no utterances (NAME.wav beside NAME.phones.json); make "
                         "them with `python -m model_core phones` or the corpus builder")
    return pairs


def said_phones(path) -> list:
    """An utterance's phones as its file writes them (stress kept: what ``teach`` reads): a
    JSON list, or an object holding it under "phones"."""
    said = json.loads(Path(path).read_text(encoding="utf-8"))
    return said["phones"] if isinstance(said, dict) else said


def channel_weights() -> torch.Tensor:
    """(52,) loss weight of each ARKit channel: closure and jaw first (closed lips are what
    viewers judge first), then rounding and the other mouth channels; the rest are 0 in the
    teacher and only need to stay there."""
    w = torch.full((ARKIT_DIM,), 0.2)
    w[[ARKIT_INDEX[n] for n in MOUTH_CHANNELS]] = 1.0
    w[list(LIP_ROUNDING)] = 2.0
    w[JAW_OPEN] = 3.0
    w[list(LIP_CLOSURE)] = 3.0
    return w


def _example(frontend, audio: np.ndarray, phones: list, rng: np.random.Generator):
    """One augmented utterance -> (features (F, feat), its phones shifted into the padded
    clip); the targets are ``teach(phones, F)``."""
    before = int(rng.uniform(0.0, 1.5) * SAMPLE_RATE)
    after = int(rng.uniform(0.5, 1.5) * SAMPLE_RATE)
    gain = 10.0 ** (rng.uniform(-12.0, 6.0) / 20.0)
    x = np.concatenate([np.zeros(before), audio * gain, np.zeros(after)]).astype(np.float32)
    if rng.random() < 0.5:          # a room: exponentially decaying noise, RT60 0.15-0.6 s
        rt60 = rng.uniform(0.15, 0.6)
        t = np.arange(int(rt60 * SAMPLE_RATE)) / SAMPLE_RATE
        tail = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
        tail[0] = 1.0 / rng.uniform(0.1, 0.5)       # direct sound over the room's tail
        wet = fftconvolve(x, tail / np.abs(tail).sum() * 4.0)[:len(x)]
        x = (wet * np.sqrt(np.mean(x ** 2) / max(np.mean(wet ** 2), 1e-12))).astype(np.float32)
    if rng.random() < 0.5:          # band limits: telephone to wideband
        sos = butter(4, [rng.uniform(80, 300), rng.uniform(3400, 7500)], btype="bandpass",
                     fs=SAMPLE_RATE, output="sos")
        x = sosfilt(sos, x).astype(np.float32)
    if rng.random() < 0.7:          # background noise 25-50 dB below the speech
        rms = float(np.sqrt(np.mean(np.square(audio * gain)) + 1e-12))
        x += (rng.standard_normal(len(x)) * rms * 10.0 ** (-rng.uniform(25, 50) / 20.0)).astype(np.float32)
    x = np.clip(x, -1.0, 1.0)
    frames = math.ceil(len(x) / SAMPLES_PER_FRAME)
    shift = before / SAMPLE_RATE
    shifted = [_shift(p, shift) for p in phones]
    feats = frontend(torch.from_numpy(x)[None])[0]
    return feats[:frames], shifted


def _shift(phone, by: float):
    if isinstance(phone, dict):
        return {**phone, "start": float(phone["start"]) + by, "end": float(phone["end"]) + by}
    label, start, end, *rest = phone
    return [label, float(start) + by, float(end) + by, *rest]


def cache_key(frontend_name: str, files, options: MouthTrainOptions) -> dict:
    """What the augmented features depend on: the front end, each file's name, size and time,
    the augmentation copies and the seed. A cache made under another key is rebuilt."""
    stats = [(str(w), w.stat().st_size, w.stat().st_mtime_ns) for w, _ in files]
    return {"frontend": frontend_name, "files": stats, "augmentations": options.augmentations,
            "seed": options.seed}


def _augmented_features(frontend, files, options: MouthTrainOptions, log, store: torch.dtype):
    rng = np.random.default_rng(options.seed)
    feats, phones = [], []
    start = time.perf_counter()
    for i, (wav, phones_file) in enumerate(files):
        audio = load_audio(str(wav))
        said = said_phones(phones_file)
        for _ in range(options.augmentations):
            f, shifted = _example(frontend, audio, said, rng)
            feats.append(f.to(store))
            phones.append(shifted)
        if (i + 1) % 500 == 0:
            log(f"features of {i + 1}/{len(files)} utterances, {time.perf_counter() - start:.0f} s")
    return feats, phones


def build_examples(frontend, folder, options: MouthTrainOptions, log=print,
                   store: torch.dtype = torch.float32, frontend_name: str = "logmel"):
    """(features, targets) pairs of every augmented copy of every utterance. ``store``: the
    features' dtype in memory (float16 for Whisper's 512 per frame). The features (the slow
    part: 12 minutes for 7,200 Whisper copies on 2 cores) are kept in
    ``options.feature_cache`` when given and read back by a run with the same key; the
    targets are always made anew from the phones, so a changed teacher needs no new cache."""
    files = utterance_files(folder)
    key = cache_key(frontend_name, files, options)
    cache = Path(options.feature_cache) if options.feature_cache else None
    kept = torch.load(cache, map_location="cpu", weights_only=True) \
        if cache is not None and cache.is_file() else None
    if kept is not None and kept.get("key") == key:
        feats, phones = kept["feats"], kept["phones"]
        log(f"features of {len(files)} utterances read from {cache}")
    else:
        feats, phones = _augmented_features(frontend, files, options, log, store)
        if cache is not None:
            atomic_write(cache, lambda tmp: torch.save({"key": key, "feats": feats, "phones": phones}, tmp))
            log(f"features kept in {cache}")
    examples = [(f, torch.from_numpy(teach(p, len(f)))) for f, p in zip(feats, phones)]
    log(f"{len(examples)} examples, {sum(len(f) for f, _ in examples) / FPS / 60:.1f} min")
    return examples


def _batch(examples, options: MouthTrainOptions, rng: np.random.Generator, past: int, ahead: int):
    span = past + options.crop_frames + ahead
    feats, targets = [], []
    for i in rng.integers(0, len(examples), options.batch_size):
        f, y = examples[i]
        start = int(rng.integers(0, max(1, len(f) - options.crop_frames + 1)))
        idx = np.arange(start - past, start - past + span)
        ok = torch.from_numpy((idx >= 0) & (idx < len(f)))
        clip = f[np.clip(idx, 0, len(f) - 1)].float()
        feats.append(torch.where(ok[:, None], clip, torch.full_like(clip, SILENCE_FEATURE)))
        ty = y[np.clip(np.arange(start, start + options.crop_frames), 0, len(y) - 1)]
        targets.append(ty)
    return torch.stack(feats), torch.stack(targets)


def train_mouth(model, folder, options: MouthTrainOptions, log=print) -> dict:
    """Train ``model.mouth`` (in place) on the utterances in ``folder``; returns a summary."""
    if model.mouth is None:
        raise TimarError("this model has no mouth head (config mouth=False)")
    torch.manual_seed(options.seed)
    store = torch.float32 if model.mouth_frontend is None else torch.float16
    name = "logmel" if model.mouth_frontend is None else \
        f"whisper-l{model.config.mouth_whisper_layer}-w{model.config.mouth_whisper_window}"
    examples = build_examples(model.mouth_features, folder, options, log, store, name)
    rng = np.random.default_rng(options.seed + 1)
    head = model.mouth.train()
    head.dropout.p = options.dropout
    opt = torch.optim.AdamW(head.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, options.lr, total_steps=options.steps,
                                                pct_start=0.05)
    weights = channel_weights()
    start, done, last = time.perf_counter(), 0, float("nan")
    for step in range(options.steps):
        x, y = _batch(examples, options, rng, head.past, head.ahead)
        value = loss(head(x), y, weights)
        opt.zero_grad()
        value.backward()
        torch.nn.utils.clip_grad_norm_(head.parameters(), 1.0)
        opt.step()
        sched.step()
        done, last = step + 1, float(value.detach())
        if step % 200 == 0 or step == options.steps - 1:
            log(f"step {step}  loss {last:.4f}  {time.perf_counter() - start:.0f} s")
        if options.max_minutes and time.perf_counter() - start > options.max_minutes * 60:
            log(f"stopped at step {step} by --max-minutes")
            break
    head.eval()
    head.dropout.p = 0.0
    return {"steps": done, "final_loss": last, "examples": len(examples),
            "minutes": (time.perf_counter() - start) / 60}
