"""``python -m model_core bench``: per-turn latency of the cached and recompute paths at
several context lengths, and the time to generate 60 s of dialogue, measured side by side
in one run on this machine."""
from __future__ import annotations

import platform
import statistics
import time

import numpy as np
import torch

from ..config import PRESETS
from ..testing import speech_like


def register(sub) -> None:
    p = sub.add_parser("bench", help="measure generation speed")
    p.add_argument("--checkpoint", default=None, help="default: the bundled model")
    p.add_argument("--preset", default=None, choices=sorted(PRESETS),
                   help="time a randomly initialised model of this preset instead")
    p.add_argument("--speech-model", default=None, metavar="DIR")
    p.add_argument("--device", default="auto")
    p.add_argument("--contexts", default="0,1,3,7")
    p.add_argument("--turns", type=int, default=16, help="dialogue length for the latency runs")
    p.add_argument("--dialogue-seconds", type=float, default=60.0)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    p.add_argument("--mouths", default="logmel,whisper",
                   help="mouth heads to time side by side on the 60 s dialogue, each added "
                        "untrained to the model (its cost does not depend on its weights); "
                        "whisper@1.28: a 1.28 s Whisper window; 'none' for the model as loaded only")
    p.add_argument("--repeats", type=int, default=1,
                   help="time the 60 s dialogue this many times per model, interleaved, and "
                        "report the median (a shared, loaded machine)")
    p.set_defaults(func=run)


def per_turn_latency(model, options, turns: int) -> float:
    """Median wall time (ms) of one turn once the context is full (second half of the run)."""
    from ..generate import DialogueGenerator

    gen = DialogueGenerator(model, options)
    a, b = speech_like(turns, 1), speech_like(turns, 2)
    stamps = [time.perf_counter()]
    for _ in gen.stream(a, b):
        stamps.append(time.perf_counter())
    durations = np.diff(stamps)[turns // 2:]
    return 1000 * statistics.median(durations)


def run(args) -> int:
    from ..checkpoint import load_model
    from ..config import preset
    from ..generate import DialogueGenerator, GenerationOptions
    from ..model import TimarModel

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.preset:
        model = TimarModel(preset(args.preset)).eval()
        source = f"random {args.preset} preset"
    else:
        model = load_model(args.checkpoint, args.device, args.speech_model)
        source = args.checkpoint or "bundled model"
    contexts = [int(c) for c in args.contexts.split(",")]
    n_params = sum(p.numel() for p in model.parameters()) / 1e6
    probe = DialogueGenerator(model, GenerationOptions(device=args.device))
    print(f"TIMAR bench: {source}, {n_params:.1f} M parameters, device {probe.device}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print(f"per-turn latency (ms, median over turns {args.turns // 2 + 1}-{args.turns} of a "
          f"{args.turns}-turn dialogue, both heads, {args.steps} diffusion steps)")
    print(f"{'context':>8} {'cached':>10} {'recompute':>10} {'recompute/cached':>17}")
    cached0 = None
    modes = [True, False] if model.cacheable else [False]
    for ctx in contexts:
        if ctx >= model.config.window_turns:
            continue
        row = {}
        for use_cache in modes:
            opts = GenerationOptions(context_turns=ctx, steps=args.steps, device=args.device,
                                     use_cache=use_cache)
            per_turn_latency(model, opts, min(4, args.turns))     # warm-up
            row[use_cache] = per_turn_latency(model, opts, args.turns)
        if True in row:
            cached = row[True]
            cached0 = cached if cached0 is None else cached0
            print(f"{ctx:>8} {cached:>10.1f} {row[False]:>10.1f} {row[False] / cached:>17.2f}")
        else:   # learned absolute positions or full attention: no cache possible
            print(f"{ctx:>8} {'-':>10} {row[False]:>10.1f} {'-':>17}")
    if model.cacheable and cached0:
        print(f"cached context {contexts[-1]} / context {contexts[0]}: {cached / cached0:.2f}x")

    seconds = args.dialogue_seconds
    opts = GenerationOptions(context_turns=min(7, model.config.window_turns - 1),
                             steps=args.steps, device=args.device)
    a, b = speech_like(seconds, 3), speech_like(seconds, 4)
    path = "cached" if model.cacheable else "recompute"
    mouths = [m for m in args.mouths.split(",") if m and m != "none"]
    if mouths and model.config.speech_frontend != "logmel":
        print(f"(no mouth heads timed: they stream beside the log-mel front end, this model "
              f"uses {model.config.speech_frontend})")
        mouths = []
    variants = [("as loaded", model)] + [(f"+ {m} mouth", with_mouth(model, m)) for m in mouths]
    for label, variant in variants:         # warm-up: the Whisper encoder is built lazily
        DialogueGenerator(variant, opts).run(a[:32000], b[:32000])
    print(f"{seconds:.0f} s dialogue, both heads, context {opts.context_turns}, {path}: wall "
          f"time and real-time factor (RTF), features, mouth and sampling included, median of "
          f"{max(1, args.repeats)} interleaved run(s)")
    print(f"{'model':>22} {'wall s':>8} {'RTF':>7} {'ms/turn':>8} {'x as loaded':>12}")
    walls: dict[str, list[float]] = {label: [] for label, _ in variants}
    turns = 0
    for _ in range(max(1, args.repeats)):          # interleaved: load changes hit all alike
        for label, variant in variants:
            start = time.perf_counter()
            result = DialogueGenerator(variant, opts).run(a, b)
            walls[label].append(time.perf_counter() - start)
            turns = -(-result.motion_a.shape[0] // 25)
    first = statistics.median(walls[variants[0][0]])
    for label, _ in variants:
        wall = statistics.median(walls[label])
        print(f"{label:>22} {wall:>8.2f} {wall / seconds:>7.3f} {1000 * wall / turns:>8.1f} "
              f"{wall / first:>12.2f}")
    return 0


def with_mouth(model, spec: str):
    """``model`` with an untrained mouth head of ``spec`` ("logmel", "whisper" or
    "whisper@SECONDS"), its other weights shared."""
    import dataclasses

    from ..errors import TimarError
    from ..model import TimarModel

    frontend, _, window = spec.partition("@")
    extra = {"mouth_whisper_window": float(window)} if window else {}
    try:
        config = dataclasses.replace(model.config, mouth=True, mouth_frontend=frontend, **extra)
    except ValueError as exc:
        raise TimarError(f"--mouths {spec}: {exc}") from None
    variant = TimarModel(config)
    variant.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("mouth.")},
                            strict=False)
    return variant.to(model.device).eval()
