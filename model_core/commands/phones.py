# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m model_core phones``: phone timelines of synthesised speech.

- ``phones --say "Bob paid me" --voice flite:slt [--wav out.wav]``: speak and print the
  phones (label, start, end, stress) as JSON.
- ``phones --calibrate [--out model_core/corpus/phone_offsets.json] [--sentences 16]``:
  measure every voice's boundary offset against pocketsphinx forced alignment and write
  the offset table (the committed table was made by exactly this command).
- ``phones --align WAV --text "..."``: force-align a recording of known text.
"""
from __future__ import annotations

import argparse
import json
import os

from ..errors import TimarError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "phones", help="phone timelines of synthesised speech; calibrate the voices' offsets",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--say", metavar="TEXT", help="speak TEXT and print its phones")
    p.add_argument("--voice", default="flite:slt",
                   help="engine:name, e.g. flite:slt, festival:kal_diphone, espeak-ng:en-us+f2")
    p.add_argument("--wav", help="with --say: also write the audio here")
    p.add_argument("--calibrate", action="store_true", help="measure the per-voice offset table")
    p.add_argument("--out", help="with --calibrate: where the table goes (default: the bundled one)")
    p.add_argument("--sentences", type=int, default=16, help="with --calibrate: sentences per voice")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--align", metavar="WAV", help="force-align this recording of --text")
    p.add_argument("--text", help="with --align: what the recording says")
    p.set_defaults(func=run)


def parse_voice(spec: str):
    from ..corpus.voices import Voice
    engine, sep, name = spec.partition(":")
    if not sep or engine not in ("espeak-ng", "flite", "festival"):
        raise TimarError(f"--voice {spec!r}: write engine:name, e.g. flite:slt or espeak-ng:en-us+f2")
    return Voice(engine, name, rate=160.0) if engine == "espeak-ng" else Voice(engine, name)


def run(args: argparse.Namespace) -> int:
    if args.calibrate:
        from ..corpus.calibrate import calibrate
        from ..corpus.phone_offsets import TABLE
        out = args.out or TABLE
        command = (f"python -m model_core phones --calibrate --sentences {args.sentences} "
                   f"--seed {args.seed}" + (f" --out {args.out}" if args.out else ""))
        table = calibrate(args.sentences, args.seed, command)
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as f:
            json.dump(table, f, indent=1)
        print(f"wrote {out} ({len(table['voices'])} voices, {table['seconds']:.0f} s)")
        return 0
    if args.align:
        from ..speech.audio import load_audio
        from ..corpus.align import align
        if not args.text:
            raise TimarError("--align needs --text: what the recording says")
        phones = align(load_audio(args.align), args.text)
        print(json.dumps([p.as_dict() for p in phones]))
        return 0
    if args.say:
        import soundfile as sf
        from ..constants import SAMPLE_RATE
        from ..corpus.voices import synthesize_with_phones
        audio, phones = synthesize_with_phones(parse_voice(args.voice), args.say)
        if args.wav:
            sf.write(args.wav, audio, SAMPLE_RATE, subtype="PCM_16")
        print(json.dumps([p.as_dict() for p in phones]))
        return 0
    raise TimarError("say what to do: --say TEXT, --calibrate or --align WAV --text TEXT")
