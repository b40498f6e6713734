"""``python -m model_core corpus``: build the synthetic corpus, the motion statistics or
the bundled sample dialogue.

- ``corpus --out DIR [--hours 3] [--test-minutes 20] [--ood-minutes 20] [--seed 0] [--jobs 2]``
- ``corpus --stats-from ../shared/data/dualtalk_demo --stats-out assets/flame_motion_stats.npz``
- ``corpus --sample assets/sample``
"""
from __future__ import annotations

import argparse
import os
import time

from ..errors import TimarError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "corpus", help="synthesise the dyadic training corpus (DualTalk layout)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="output folder (gets train/, test/, ood/, README.md, manifest.json)")
    p.add_argument("--hours", type=float, default=3.0, help="hours of training dialogue (3)")
    p.add_argument("--test-minutes", type=float, default=20.0, help="minutes of test dialogue (20)")
    p.add_argument("--ood-minutes", type=float, default=20.0,
                   help="minutes of out-of-distribution dialogue with recorded voices (20)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=2, help="worker processes (2)")
    p.add_argument("--overlap", type=float, default=0.15, help="target overlapped share of speech")
    p.add_argument("--stats", help="motion statistics npz (default: the bundled one)")
    p.add_argument("--stats-from", help="estimate motion statistics from real FLAME files here")
    p.add_argument("--stats-out", help="where --stats-from writes its npz")
    p.add_argument("--sample", metavar="DIR", help="write the bundled sample dialogue to DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.stats_from:
        from ..corpus.stats import estimate, save
        if not args.stats_out:
            raise TimarError("--stats-from needs --stats-out PATH")
        save(estimate(args.stats_from), args.stats_out)
        print(f"wrote {args.stats_out}")
        return 0
    if args.sample:
        from ..corpus.sample import write_sample
        for path in write_sample(args.sample):
            print(f"wrote {path}")
        return 0
    if not args.out:
        raise TimarError("say where the corpus goes: --out DIR (or use --sample / --stats-from)")
    from ..corpus.build import CorpusConfig, build
    from ..corpus.stats import DEFAULT_STATS
    command = (f"python -m model_core corpus --out {args.out} --hours {args.hours:g} "
               f"--test-minutes {args.test_minutes:g} --ood-minutes {args.ood_minutes:g} "
               f"--seed {args.seed} --jobs {args.jobs} --overlap {args.overlap:g}"
               + (f" --stats {args.stats}" if args.stats else ""))
    cfg = CorpusConfig(out=args.out, hours=args.hours, test_minutes=args.test_minutes,
                       ood_minutes=args.ood_minutes, seed=args.seed, jobs=max(1, args.jobs),
                       overlap=args.overlap, stats_path=args.stats or str(DEFAULT_STATS),
                       command=command)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    manifest = build(cfg)
    hours = sum(s["hours"] for s in manifest["splits"].values())
    print(f"wrote {args.out}: " + ", ".join(
        f"{k} {v['hours']:.2f} h ({v['dialogues']} dialogues)" for k, v in manifest["splits"].items())
        + f" in {time.time() - t0:.0f} s ({(time.time() - t0) / max(hours, 1e-9):.0f} s per hour)")
    return 0
