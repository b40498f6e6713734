"""Options shared by the commands that run the model."""
from __future__ import annotations

import argparse
import sys


def add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", default=None,
                   help="TIMAR checkpoint (default: the bundled model in assets/)")
    p.add_argument("--speech-model", default=None, metavar="DIR",
                   help="local wav2vec2 folder, for the official TIMAR.pth weights")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps (default auto)")


def add_sampling_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--context-turns", type=int, default=7, help="previous turns of context (0-7)")
    p.add_argument("--steps", type=int, default=5, help="diffusion sampling steps")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--turn-filter", type=float, default=None, metavar="SIGMA",
                   help="Gaussian smoothing of each new turn joined to the emitted frames, "
                        "sigma in frames (causal across turns); default: the head's own")
    p.add_argument("--neck-filter", type=float, default=None, metavar="SIGMA",
                   help="the same for the neck only (default: --turn-filter's, or the head's own)")
    p.add_argument("--seam-blend", type=float, default=None, metavar="FRAMES",
                   help="inertialise each new turn onto the emitted frames: the fade's time "
                        "constant in frames, 0 = off (default 3)")


def generation_options(args, **overrides):
    """GenerationOptions from ``add_sampling_options``' arguments (``context_turns`` where the
    command has it) and ``add_model_options``' device; ``overrides`` set the rest."""
    from ..generate import GenerationOptions

    if hasattr(args, "context_turns"):
        overrides.setdefault("context_turns", args.context_turns)
    return GenerationOptions(steps=args.steps, temperature=args.temperature, seed=args.seed,
                             device=args.device, turn_filter_sigma=args.turn_filter,
                             neck_filter_sigma=args.neck_filter,
                             seam_blend_frames=args.seam_blend, **overrides)


def load_model_from_args(args):
    from ..checkpoint import load_model

    return load_model(args.checkpoint, args.device, getattr(args, "speech_model", None))


def progress(line: str, final: bool = False) -> None:
    """One updating status line on a terminal; plain lines when piped."""
    if sys.stderr.isatty():
        sys.stderr.write("\r" + line.ljust(78) + ("\n" if final else ""))
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()
