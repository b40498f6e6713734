# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: what Whisper base's encoder buys over the project's causal log-mel, measured
as a small audio -> viseme classifier on TTS voices it never trained on. Not a test; prints
a table. Needs flite and festival (phone timings from the engines themselves).

    nice -n 10 .venv/bin/python tests/bench/bench_whisper_visemes.py [--utterances 100]

Data: the corpus sentence grammar spoken by 8 voices of 5 speakers (flite awb_time only tells the time). Training speakers: kal
(flite kal, kal16, festival kal_diphone), awb, rms (flite). Held out:
slt (flite slt, festival slt HTS) and ked (festival ked_diphone). Truth: each 25 fps frame
takes the Meta viseme of the phone at its centre (flite ``-psdur``, festival's Segment
relation; ``hh`` takes the viseme of the phone after it, as the lips already shape it).

Front ends, both streaming-causal with 80 ms of lookahead:
- log-mel: model_core.speech.logmel (64 mels x 4 sub-frames per frame), frames t-8..t+2 stacked;
- Whisper layer K: model_core.speech per 1 s turn (2 s window ending 80 ms after the turn),
  the frame itself (its window already holds the past and the 80 ms after the turn).
Classifiers: linear (softmax regression) and a tiny MLP (one hidden layer of 256).
Scores on held-out voices (and on held-out sentences of the training voices): frame
accuracy, p/b/m recall (a predicted PP frame centre within 40 ms of each true p/b/m) and
false closures per minute (predicted PP runs with no true p/b/m within 40 ms).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from model_core.corpus.text import Sentences  # noqa: E402
from model_core.face.channels import VISEME_INDEX, VISEME_NAMES  # noqa: E402
from model_core.speech.audio import resample  # noqa: E402
from model_core.speech.logmel import LogMelFrontEnd  # noqa: E402
from model_core.speech.whisper_encoder import WhisperEncoder  # noqa: E402
from model_core.speech.whisper_stream import WhisperTurnFeatures, turn_features  # noqa: E402
from model_core.speech.whisper_weights import load_encoder_weights  # noqa: E402

FPS = 25
SR = 16000
TRAIN_VOICES = (("flite", "kal"), ("flite", "kal16"), ("festival", "kal_diphone"),
                ("flite", "awb"), ("flite", "rms"))
TEST_VOICES = (("flite", "slt"), ("festival", "cmu_us_slt_arctic_hts"), ("festival", "ked_diphone"))
WHISPER_LAYERS = (2, 3, 4)          # layer 6 (the last) scored below layer 4 in LIPSYNC.md
PAST, AHEAD = 8, 2                       # log-mel context: frames t-8..t+2 (80 ms ahead)

# ARPAbet (CMU / festival radio phone set, lower case) -> Meta viseme. "hh" is resolved to
# its successor's viseme; reduced vowels go with their full neighbours.
PHONE_VISEME = {
    "pau": "sil", "h#": "sil", "sil": "sil", "brth": "sil", "ssil": "sil",
    "p": "PP", "b": "PP", "m": "PP", "em": "PP",
    "f": "FF", "v": "FF", "th": "TH", "dh": "TH",
    "t": "DD", "d": "DD", "dx": "DD", "k": "kk", "g": "kk", "ng": "kk",
    "ch": "CH", "jh": "CH", "sh": "CH", "zh": "CH", "s": "SS", "z": "SS",
    "n": "nn", "l": "nn", "en": "nn", "el": "nn", "nx": "nn", "r": "RR", "er": "RR", "axr": "RR",
    "aa": "aa", "ae": "aa", "ah": "aa", "ay": "aa", "aw": "aa", "ax": "aa",
    "eh": "E", "ey": "E", "ih": "ih", "iy": "ih", "y": "ih", "ix": "ih",
    "ao": "oh", "ow": "oh", "oy": "oh", "uh": "ou", "uw": "ou", "w": "ou",
}


# ---------------------------------------------------------------- speech with phone timings
def speak(engine: str, voice: str, text: str, tmp: str) -> tuple[np.ndarray, list[tuple[str, float]]]:
    """16 kHz audio and [(phone, end time s)] straight from the engine."""
    wav = os.path.join(tmp, "u.wav")
    if engine == "flite":
        out = subprocess.run(["flite", "-voice", voice, "-psdur", "-t", text, "-o", wav],
                             capture_output=True, text=True, check=True).stdout
        phones = [(p.rsplit(":", 1)[0], float(p.rsplit(":", 1)[1])) for p in out.split()]
    else:
        scheme = os.path.join(tmp, "u.scm")
        quoted = text.replace("\\", "").replace('"', "")
        Path(scheme).write_text(
            f'(voice_{voice})\n(set! utt (utt.synth (Utterance Text "{quoted}")))\n'
            f'(utt.save.wave utt "{wav}" \'riff)\n'
            '(mapcar (lambda (s) (format t "%s:%f " (item.name s) (item.feat s "end")))'
            " (utt.relation.items utt 'Segment))\n")
        out = subprocess.run(["festival", "-b", scheme], capture_output=True, text=True, check=True).stdout
        phones = [(p.rsplit(":", 1)[0], float(p.rsplit(":", 1)[1])) for p in out.split() if ":" in p]
    audio, sr = sf.read(wav, dtype="float32", always_2d=True)
    return resample(audio.mean(1), sr, SR).astype(np.float32), phones


def frame_labels(phones: list[tuple[str, float]], frames: int, unknown: set) -> np.ndarray:
    """Viseme index of the phone at each frame centre; 'sil' outside the phones."""
    starts = [0.0] + [end for _, end in phones[:-1]]
    visemes = []
    for i, (name, _) in enumerate(phones):
        if name == "hh":
            name = next((n for n, _ in phones[i + 1:] if n != "hh"), "pau")
        if name not in PHONE_VISEME:
            unknown.add(name)
        visemes.append(VISEME_INDEX[PHONE_VISEME.get(name, "sil")])
    ends = np.array([end for _, end in phones])
    centres = (np.arange(frames) + 0.5) / FPS
    idx = np.searchsorted(ends, centres, side="right")
    labels = np.full(frames, VISEME_INDEX["sil"], np.int64)
    inside = (idx < len(phones)) & (centres >= np.array(starts)[np.minimum(idx, len(phones) - 1)])
    labels[inside] = np.array(visemes)[idx[inside]]
    return labels


def bilabials(phones: list[tuple[str, float]]) -> list[tuple[float, float]]:
    starts = [0.0] + [end for _, end in phones[:-1]]
    return [(s, e) for (name, e), s in zip(phones, starts) if PHONE_VISEME.get(name) == "PP"]


# ---------------------------------------------------------------- features
def stack_context(x: np.ndarray, past: int, ahead: int) -> np.ndarray:
    """(F, D) -> (F, (past + 1 + ahead) D): frames t-past..t+ahead, zeros beyond the ends."""
    padded = np.concatenate([np.zeros((past, x.shape[1]), x.dtype), x, np.zeros((ahead, x.shape[1]), x.dtype)])
    return np.concatenate([padded[k:k + len(x)] for k in range(past + 1 + ahead)], axis=1)


def warp(audio: np.ndarray, phones: list[tuple[str, float]], factor: float):
    """Play ``factor`` times faster: pitch and formants up by ``factor``, times divided by it
    (the corpus's voice warp, model_core.corpus.voices)."""
    out = resample(audio, SR * 100, int(round(SR * 100 / factor))).astype(np.float32)
    return out, [(name, end / factor) for name, end in phones]


def voice_data(engine: str, voice: str, texts: list[str], logmel: LogMelFrontEnd,
               whisper: WhisperTurnFeatures, unknown: set, warps: tuple[float, ...] = (1.0,)
               ) -> list[dict]:
    """One item per text and warp (warp 1 first), features of both front ends and truth."""
    items = []
    with tempfile.TemporaryDirectory(prefix="visemes_") as tmp:
        for text, factor in ((t, w) for t in texts for w in warps):
            audio, phones = speak(engine, voice, text, tmp)
            if factor != 1.0:
                audio, phones = warp(audio, phones, factor)
            x = torch.from_numpy(audio)[None]
            with torch.no_grad():
                mel = logmel(x)[0].numpy()
                wsp = turn_features(whisper, x)[0].numpy()
            frames = mel.shape[0]
            items.append(dict(logmel=mel.astype(np.float16), whisper=wsp.astype(np.float16),
                              labels=frame_labels(phones, frames, unknown), pp=bilabials(phones),
                              seconds=len(audio) / SR, warp=factor))
    return items


# ---------------------------------------------------------------- classifiers and scores
def train_classifier(x: np.ndarray, y: np.ndarray, hidden: int, epochs: int, seed: int = 0):
    torch.manual_seed(seed)
    mean, std = x.mean(0), x.std(0) + 1e-3
    xt = torch.from_numpy((x - mean) / std).float()
    yt = torch.from_numpy(y)
    d, k = xt.shape[1], len(VISEME_NAMES)
    net = (torch.nn.Linear(d, k) if hidden == 0 else
           torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.Linear(d, hidden), torch.nn.GELU(),
                               torch.nn.Dropout(0.2), torch.nn.Linear(hidden, k)))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2)
    for _ in range(epochs):
        for idx in torch.randperm(len(xt)).split(512):
            loss = torch.nn.functional.cross_entropy(net(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()

    def predict(z: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy((z - mean) / std).float()).argmax(1).numpy()
    return predict


def pp_scores(items: list[dict], preds: list[np.ndarray]) -> tuple[float, float]:
    """(p/b/m recall within +-40 ms, false closures per minute)."""
    pp = VISEME_INDEX["PP"]
    hits = total = false = 0
    for item, pred in zip(items, preds):
        centres = (np.where(pred == pp)[0] + 0.5) / FPS
        for s, e in item["pp"]:
            total += 1
            hits += bool(((centres >= s - 0.04) & (centres <= e + 0.04)).any())
        runs = np.split(np.where(pred == pp)[0], np.where(np.diff(np.where(pred == pp)[0]) > 1)[0] + 1)
        for run in (r for r in runs if len(r)):
            a, b = run[0] / FPS, (run[-1] + 1) / FPS
            false += not any(s - 0.04 <= b and e + 0.04 >= a for s, e in item["pp"])
    minutes = sum(item["seconds"] for item in items) / 60
    return hits / max(total, 1), false / minutes


def features_of(item: dict, front: str) -> np.ndarray:
    mel = stack_context(item["logmel"].astype(np.float32), PAST, AHEAD)
    if front == "logmel":
        return mel
    width = item["whisper"].shape[1] // len(WHISPER_LAYERS)
    if front.startswith("whisper"):
        k = WHISPER_LAYERS.index(int(front[len("whisper"):]))
        return item["whisper"][:, k * width:(k + 1) * width].astype(np.float32)
    k = WHISPER_LAYERS.index(4)                                   # "both": log-mel + layer 4
    return np.concatenate([mel, item["whisper"][:, k * width:(k + 1) * width].astype(np.float32)], 1)


def evaluate(front: str, hidden: int, train: list[dict], seen: list[dict], unseen: list[dict],
             epochs: int) -> dict:
    x = np.concatenate([features_of(i, front) for i in train])
    y = np.concatenate([i["labels"] for i in train])
    predict = train_classifier(x, y, hidden, epochs)
    out = {}
    for name, items in (("seen", seen), ("unseen", unseen)):
        preds = [predict(features_of(i, front)) for i in items]
        acc = np.mean(np.concatenate([p == i["labels"] for p, i in zip(preds, items)]))
        recall, false = pp_scores(items, preds)
        out[name] = (acc, recall, false)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--utterances", type=int, default=60, help="per voice")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--window", type=float, default=2.0, help="Whisper's window per turn, seconds")
    ap.add_argument("--warps", type=float, nargs="+", default=[1.0],
                    help="training voices also played this much faster/slower (augmentation)")
    ap.add_argument("--int8", action="store_true", help="Whisper with torch's dynamic int8 Linear layers")
    ap.add_argument("--fronts", nargs="+", default=["logmel"] + [f"whisper{k}" for k in WHISPER_LAYERS] + ["both"])
    ap.add_argument("--cache", default=None, help="features are kept here between runs "
                    "(default: the temp folder, one file per window and utterance count)")
    args = ap.parse_args()
    torch.set_num_threads(1)     # the 2 cores are shared: a second thread mostly waits
    t0 = time.time()
    args.cache = args.cache or os.path.join(tempfile.gettempdir(),
                                            f"timar_viseme_bench_{args.window:g}s_{args.utterances}"
                                            f"{'_int8' if args.int8 else ''}"
                                            f"{'_warps' + '_'.join(map(str, args.warps)) if args.warps != [1.0] else ''}.pt")
    if os.path.exists(args.cache):
        data = torch.load(args.cache, weights_only=False)
    else:
        logmel = LogMelFrontEnd(64)
        encoder = WhisperEncoder.from_weights(load_encoder_weights(max_layers=max(WHISPER_LAYERS)))
        if args.int8:
            encoder = torch.ao.quantization.quantize_dynamic(encoder, {torch.nn.Linear}, dtype=torch.qint8)
        whisper = WhisperTurnFeatures(encoder, WHISPER_LAYERS, window=int(round(args.window * SR)))
        unknown: set = set()
        data = {}
        for v, (engine, voice) in enumerate(TRAIN_VOICES + TEST_VOICES):
            sentences = Sentences(np.random.default_rng(1000 + v))
            texts = [sentences.utterance(14) for _ in range(args.utterances)]
            warps = tuple(args.warps) if (engine, voice) in TRAIN_VOICES else (1.0,)
            data[f"{engine}:{voice}"] = voice_data(engine, voice, texts, logmel, whisper, unknown, warps)
            print(f"{engine}:{voice}: {sum(i['seconds'] for i in data[f'{engine}:{voice}']) / 60:.1f} min "
                  f"({time.time() - t0:.0f} s)", flush=True)
        if unknown:
            print("phones without a viseme (counted as sil):", sorted(unknown))
        torch.save(data, args.cache)
    cut = int(0.8 * args.utterances) * len(args.warps)        # items run text by text, warps inside
    train = [i for e, v in TRAIN_VOICES for i in data[f"{e}:{v}"][:cut]]
    seen = [i for e, v in TRAIN_VOICES for i in data[f"{e}:{v}"][cut:] if i.get("warp", 1.0) == 1.0]
    unseen = [i for e, v in TEST_VOICES for i in data[f"{e}:{v}"]]
    print(f"train {sum(len(i['labels']) for i in train)} frames, seen-voice test "
          f"{sum(len(i['labels']) for i in seen)}, unseen-voice test {sum(len(i['labels']) for i in unseen)}")
    print("| front end | classifier | seen voices acc | unseen acc | unseen p/b/m recall (+-40 ms) "
          "| unseen false closures/min |")
    print("|---|---|---|---|---|---|")
    print(f"Whisper window {args.window:g} s{', dynamic int8' if args.int8 else ', float32'}; "
          f"training voices warped by {args.warps}")
    for front in args.fronts:
        for hidden, label in ((0, "linear"), (256, "MLP 256")):
            r = evaluate(front, hidden, train, seen, unseen, args.epochs)
            print(f"| {front} | {label} | {r['seen'][0]:.3f} | {r['unseen'][0]:.3f} | "
                  f"{r['unseen'][1]:.3f} | {r['unseen'][2]:.1f} |", flush=True)
    print(f"({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
