"""``python -m model_core generate``: animate both heads of a dialogue into two npz files."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from .common import add_model_options, add_sampling_options, load_model_from_args, progress


def register(sub) -> None:
    p = sub.add_parser("generate", help="generate FLAME motion for both speakers of a dialogue")
    p.add_argument("--audio-a", required=True, help="speaker A's speech (wav, flac, ogg, mp3)")
    p.add_argument("--audio-b", required=True, help="speaker B's speech")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--name", default=None, help="output name (default: from --audio-a)")
    add_model_options(p)
    add_sampling_options(p)
    given = p.add_mutually_exclusive_group()
    given.add_argument("--motion-a", default=None, help="FLAME npz of speaker A: copied through, only B generated")
    given.add_argument("--motion-b", default=None, help="FLAME npz of speaker B: copied through, only A generated")
    p.add_argument("--no-cache", action="store_true", help="recompute every turn (reference path)")
    p.set_defaults(func=run)


def default_name(audio_a: str) -> str:
    stem = Path(audio_a).stem
    return re.sub(r"[_-](speaker ?1|spk1|a)$", "", stem, flags=re.IGNORECASE) or stem


def run(args) -> int:
    from ..flame import save_motion_npz
    from ..generate import DialogueGenerator, GenerationOptions

    name = args.name or default_name(args.audio_a)
    model = load_model_from_args(args)
    options = GenerationOptions(context_turns=args.context_turns, steps=args.steps,
                                temperature=args.temperature, seed=args.seed,
                                device=args.device, use_cache=not args.no_cache,
                                turn_filter_sigma=args.turn_filter,
                                neck_filter_sigma=args.neck_filter,
                                seam_blend_frames=args.seam_blend)
    generator = DialogueGenerator(model, options)
    parts_a, parts_b, last = [], [], None
    for turn in generator.stream(args.audio_a, args.audio_b, args.motion_a, args.motion_b):
        if turn.index == 0:
            for w in generator.warnings:
                progress(f"warning: {w}", final=True)
        parts_a.append(turn.motion_a)
        parts_b.append(turn.motion_b)
        last = turn
        progress(f"turn {turn.index + 1}/{turn.total_turns}  {turn.audio_seconds_done:.0f} s of audio"
                 f"  real-time factor {turn.realtime_factor:.3f}")
    os.makedirs(args.out_dir, exist_ok=True)
    out_a = Path(args.out_dir) / f"{name}_speaker1.npz"
    out_b = Path(args.out_dir) / f"{name}_speaker2.npz"
    save_motion_npz(out_a, np.concatenate(parts_a))
    try:
        save_motion_npz(out_b, np.concatenate(parts_b))
    except BaseException:
        out_a.unlink(missing_ok=True)   # never leave half a result
        raise
    progress(f"wrote {out_a} and {out_b}: {len(np.concatenate(parts_a))} frames, "
             f"{last.audio_seconds_done:.1f} s of audio in {last.elapsed_s:.2f} s "
             f"(real-time factor {last.realtime_factor:.3f}) on {generator.device}", final=True)
    return 0
