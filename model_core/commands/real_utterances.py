# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m model_core real-utterances --out DIR [--dualtalk ../shared/data/dualtalk_demo]
[--fillets] [--recordings DIR --licence TEXT] [--max-seconds 10] [--threads 1]``: real
speech as utterances with phones by alignment (Whisper base transcript, or the game script's text for Fish Fillets NG; pocketsphinx
forced alignment), NAME.wav + NAME.json, and a manifest with each source's licence. Score it
with ``lipsync-eval --utterances DIR``. Needs ctranslate2 and the Whisper base wheels; never
commit what it writes."""
from __future__ import annotations

import argparse

from ..errors import TimarError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "real-utterances", help="real speech cut at pauses, transcribed and force-aligned",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder for NAME.wav + NAME.json and manifest.json")
    p.add_argument("--dualtalk", default=None, metavar="DIR",
                   help="a DualTalk dialogue folder: each speaker wav, cut at pauses")
    p.add_argument("--fillets", action="store_true",
                   help="Fish Fillets NG's English spoken lines (apt-get install fillets-ng-data)")
    p.add_argument("--recordings", default=None, metavar="DIR",
                   help="any other folder of English speech wavs, cut at pauses (needs --licence)")
    p.add_argument("--licence", default=None, help="the --recordings' licence, for the manifest")
    p.add_argument("--max-seconds", type=float, default=10.0, help="longest utterance (10 s)")
    p.add_argument("--threads", type=int, default=1, help="Whisper's CPU threads (1)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..corpus.real_speech import real_utterances
    from ..evaluation.transcribe import Transcriber
    if args.dualtalk is None and not args.fillets and args.recordings is None:
        raise TimarError("choose a source: --dualtalk DIR, --recordings DIR and/or --fillets")
    if not 2.0 <= args.max_seconds <= 25.0:
        raise TimarError("--max-seconds must lie between 2 and 25 (Whisper hears 30 s at most)")
    with Transcriber(threads=args.threads) as transcribe:
        manifest = real_utterances(args.out, transcribe, dualtalk=args.dualtalk,
                                   fillets=args.fillets, recordings=args.recordings,
                                   licence=args.licence, max_s=args.max_seconds)
    seconds = sum(u["seconds"] for u in manifest["utterances"])
    print(f"wrote {len(manifest['utterances'])} utterances ({seconds:.1f} s) to {args.out}; "
          f"{len(manifest['left_out'])} pieces left out (see manifest.json)")
    return 0
