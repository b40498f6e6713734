# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m model_core utterances --out DIR [--count 2000] [--held-out-count 200]
[--seed 0] [--held-out flite:rms,festival:ked_diphone,espeak-ng:en-gb-x-gbclan]
[--no-noise]``: single-speaker utterances (wav + phones json) over every free voice, with
rate/warp/noise augmentation and held-out voices under DIR/heldout/."""
from __future__ import annotations

import argparse

from ..errors import TimarError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "utterances", help="single-speaker utterances with phone timelines over every free voice",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=2000, help="training utterances (2000)")
    p.add_argument("--held-out-count", type=int, default=None, help="held-out utterances (count/10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--held-out", default=None, help="comma-separated voices or espeak accents")
    p.add_argument("--voices", default=None, help="comma-separated voices (default: all)")
    p.add_argument("--no-noise", action="store_true", help="no background noise")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..corpus.utterances import DEFAULT_HELD_OUT, Augment, utterance_corpus
    if args.count < 1:
        raise TimarError("--count must be at least 1")
    held = tuple(args.held_out.split(",")) if args.held_out else DEFAULT_HELD_OUT
    manifest = utterance_corpus(args.out, args.count,
                                voices=args.voices.split(",") if args.voices else None,
                                seed=args.seed, held_out=held, n_held_out=args.held_out_count,
                                augment=Augment(noise_prob=0.0) if args.no_noise else Augment())
    print(f"wrote {len(manifest['utterances'])} utterances to {args.out} "
          f"({manifest['voices']['train']} training voices, {manifest['voices']['heldout']} held out)")
    return 0
