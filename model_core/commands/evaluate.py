"""``python -m model_core evaluate``: the DualTalk benchmark on a test folder.

Example::

    python -m model_core evaluate --checkpoint runs/small/model.pt --data DualTalk/test \\
        --context 0,1,3,7 --baseline runs/dualtalk.pt --trivial --out metrics.json \\
        --lipsync utt/heldout          # and the mouth per phone (lipsync-eval's metrics)
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from ..errors import TimarError
from .common import generation_options, load_model_from_args


def _contexts(text: str) -> list[int]:
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--context wants integers like 0,1,3,7, got {text!r}")
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"--context wants non-negative integers, got {text!r}")
    return values


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate", help="score TIMAR (and baselines) on a test folder with the DualTalk metrics",
        description="Per test dialogue (cut to whole seconds) each speaker with ground-truth "
                    "motion is the agent once, generated from both speech tracks and the "
                    "partner's real motion. FD, P-FD, MSE, SID, rPCC per clip, averaged; "
                    "prints the paper's table and writes JSON.")
    p.add_argument("--checkpoint", default=None,
                   help="TIMAR checkpoint (default: the bundled model)")
    p.add_argument("--data", required=True, help="split folder in the DualTalk layout, e.g. DIR/test")
    p.add_argument("--context", type=_contexts, default=[0, 1, 3, 7],
                   help="previous turns of context to evaluate, comma-separated (default 0,1,3,7)")
    p.add_argument("--out", default=None, help="write all results (means and per clip) as JSON")
    p.add_argument("--baseline", default=None, help="a trained DualTalk baseline checkpoint")
    p.add_argument("--trivial", action="store_true",
                   help="add the static-mean and mirror-partner references")
    p.add_argument("--skip-timar", action="store_true", help="evaluate only the baselines")
    p.add_argument("--lipsync", default=None, metavar="DIR",
                   help="also score the TIMAR model's mouth per phone on a folder of utterances "
                        "(NAME.wav + NAME.json phones; lipsync-eval's metrics and targets)")
    p.add_argument("--max-clips", type=int, default=None, help="evaluate only the first N dialogues")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--steps", type=int, default=5, help="diffusion sampling steps (default 5)")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature")
    p.add_argument("--draws", type=int, default=1,
                   help="samples per clip for TIMAR (seeds SEED, SEED+1, ...; default 1)")
    p.add_argument("--turn-filter", type=float, default=None, metavar="SIGMA",
                   help="turn filter sigma in frames (default: the head's own)")
    p.add_argument("--neck-filter", type=float, default=None, metavar="SIGMA",
                   help="turn filter sigma for the neck only (default: --turn-filter's or the head's)")
    p.add_argument("--seam-blend", type=float, default=None, metavar="FRAMES",
                   help="seam blend time constant in frames, 0 = off (default 3)")
    p.add_argument("--seed", type=int, default=0, help="sampling and k-means seed (default 0)")
    p.add_argument("--agent-history", choices=("masked", "generated", "real"), default="masked",
                   help="the agent's own past turns in the context window: masked as in the "
                        "paper's protocol (default), its own generated motion, or its real "
                        "motion (a diagnostic of what the history could tell, not a fair score)")
    p.set_defaults(func=run)


def build_methods(args) -> list:
    """The methods the options name, in table order."""
    methods: list = []
    if not args.skip_timar:
        from ..evaluation.methods import TimarMethod

        model = load_model_from_args(args)
        too_long = [n for n in args.context if n > model.config.window_turns - 1]
        if too_long:
            raise TimarError(f"--context {too_long}: this model's window holds at most "
                             f"{model.config.window_turns - 1} previous turns")
        methods += [TimarMethod(model, n, steps=args.steps, seed=args.seed, device=args.device,
                                temperature=args.temperature,
                                agent_history=args.agent_history,
                                turn_filter_sigma=args.turn_filter,
                                neck_filter_sigma=args.neck_filter,
                                seam_blend_frames=args.seam_blend)
                    for n in args.context]
    if args.baseline:
        from ..baselines.dualtalk import DualTalkMethod, load_baseline
        from ..devices import resolve_device

        methods.append(DualTalkMethod(load_baseline(args.baseline, resolve_device(args.device))))
    if args.trivial:
        from ..baselines.trivial import Mirror, StaticMean, training_mean

        train_dir = os.path.join(os.path.dirname(os.path.abspath(args.data)), "train")
        mean = training_mean(train_dir) if os.path.isdir(train_dir) else None
        methods += [StaticMean(mean), Mirror()]
    if not methods:
        raise TimarError("nothing to evaluate: drop --skip-timar or add --baseline/--trivial")
    return methods


def _lipsync(args, model, utterances):
    """The mouth per phone (``lipsync-eval``'s benchmark) with the evaluated model and this
    run's options."""
    from ..evaluation.lipsync_run import run_benchmark, table
    from ..generate import DialogueGenerator

    generator = DialogueGenerator(model, generation_options(args))
    result = run_benchmark(generator, utterances, [],
                           log=lambda line: print(line, file=sys.stderr, flush=True))
    print(table(result))
    return result


def run(args) -> int:
    from ..evaluation.lipsync_run import as_json, find_utterances
    from ..evaluation.protocol import evaluate, iter_clips, report, stderr_log, tables

    if not os.path.isdir(args.data):
        raise TimarError(f"--data {args.data}: no such folder")
    if args.max_clips is not None and args.max_clips < 1:
        raise TimarError("--max-clips must be at least 1")
    if args.lipsync is not None and args.skip_timar:
        raise TimarError("--lipsync scores the TIMAR model's mouth: drop --skip-timar")
    utterances = find_utterances(args.lipsync) if args.lipsync is not None else []
    methods = build_methods(args)
    clips = iter_clips(args.data, args.max_clips)
    if args.draws < 1:
        raise TimarError("--draws must be at least 1")
    results = evaluate(clips, methods, seed=args.seed, log=stderr_log, draws=args.draws)
    split = os.path.basename(os.path.normpath(args.data))
    print(tables(results, title=f"{split}: "))
    for r in results.values():
        if r.skipped:
            print(f"{r.name}: skipped {len(r.skipped)} clip(s) it cannot handle")
    partnerless = {(c["dialogue"], c["agent"]) for r in results.values() for c in r.per_clip
                   if not c["partner_known"]}
    if partnerless:
        timar = any(m.context is not None for m in methods)
        print(f"note: {len(partnerless)} clip(s) lack the partner's motion: P-FD and rPCC "
              "are absent for them" + ("; TIMAR generated the partner's head too" if timar else ""))
    timar_model = next((m.model for m in methods if m.context is not None), None)
    lipsync = _lipsync(args, timar_model, utterances) if utterances else None
    if args.out:
        protocol = {"contexts": args.context, "steps": args.steps, "seed": args.seed,
                    "temperature": args.temperature, "checkpoint": args.checkpoint,
                    "baseline": args.baseline, "clip_cut": "whole seconds",
                    "max_clips": args.max_clips, "agent_history": args.agent_history,
                    "draws": args.draws, "turn_filter": args.turn_filter,
                    "neck_filter": args.neck_filter,
                    "seam_blend": args.seam_blend}
        folder = os.path.dirname(os.path.abspath(args.out))
        os.makedirs(folder, exist_ok=True)
        written = report(results, args.data, protocol)
        if lipsync is not None:
            written["lipsync"] = as_json(lipsync)
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(written, f, indent=1)
        print(f"wrote {args.out}")
    return 0
