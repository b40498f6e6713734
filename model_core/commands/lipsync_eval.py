"""``python -m model_core lipsync-eval``: lip sync judged per phone.

Example::

    python -m model_core lipsync-eval --utterances held_out/ \\
        --real ../shared/data/dualtalk_demo --out lipsync.json

Each NAME.wav of ``--utterances`` with a NAME.json beside it (a JSON list of
[phone, start_s, end_s], ARPAbet) is spoken by speaker A while B is silent; A's face is
scored against the phones, B's mouth as a listener's. Each wav of ``--real`` is labelled by
alignment (cut at pauses, Whisper base transcript, pocketsphinx forced alignment) where
ctranslate2 and the Whisper wheels are installed, else by pocketsphinx's phone loop (said
on stderr; ``--real-labels`` picks one); where a FLAME npz of the same stem lies beside it
(the real face) our jaw is also scored against the real jaw, and the real face's own jaw
AUC under the same labels checks the labels. A folder of real utterances with aligned
phones (``python -m model_core real-utterances``) is scored with ``--utterances``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .common import (add_model_options, add_sampling_options, generation_options,
                     load_model_from_args, progress)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "lipsync-eval", help="score the mouth against phone timings (visemes, closures, jaw)",
        description="Generates each utterance (speaker A; B silent) and prints viseme "
                    "accuracy, p/b/m closure recall, false closures per minute, jaw/rounding/"
                    "spreading AUCs, the lag of best agreement and the listener's mouth, "
                    "with the issue's targets beside them; writes JSON.")
    p.add_argument("--utterances", required=True, metavar="DIR",
                   help="folder of NAME.wav + NAME.json (JSON list of [phone, start_s, end_s])")
    p.add_argument("--real", default=None, metavar="DIR",
                   help="folder of real speech wavs (a FLAME npz of the same stem = the real "
                        "face), e.g. ../shared/data/dualtalk_demo")
    p.add_argument("--real-labels", default="auto", choices=("auto", "alignment", "phone-loop"),
                   help="how --real is labelled: Whisper transcript aligned by pocketsphinx "
                        "(alignment), pocketsphinx's phone loop, or alignment when available (auto)")
    p.add_argument("--out", default=None, help="write the figures (pooled and per utterance) as JSON")
    add_model_options(p)
    add_sampling_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import TimarError
    from ..evaluation.lipsync_run import as_json, find_utterances, run_benchmark, table
    from ..fileio import atomic_write
    from ..generate import DialogueGenerator

    utterances = find_utterances(args.utterances)
    real_wavs = []
    if args.real:
        if not os.path.isdir(args.real):
            raise TimarError(f"--real {args.real}: no such folder")
        real_wavs = sorted(Path(args.real).glob("*.wav"))
        if not real_wavs:
            raise TimarError(f"--real {args.real}: no .wav file in it")
    model = load_model_from_args(args)
    report = run_benchmark(DialogueGenerator(model, generation_options(args)), utterances, real_wavs,
                           log=lambda line: progress(line), real_labels=args.real_labels)
    print(table(report))
    if args.out:
        text = json.dumps(as_json(report), indent=1)

        def write(tmp: str) -> None:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)

        atomic_write(args.out, write)
        print(f"wrote {args.out}")
    return 0
