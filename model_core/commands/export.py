"""``python -m model_core export``: re-save a checkpoint for shipping (half precision)."""
from __future__ import annotations

import os


def register(sub) -> None:
    p = sub.add_parser("export", help="re-save a checkpoint, e.g. in half precision for bundling")
    p.add_argument("checkpoint")
    p.add_argument("out")
    p.add_argument("--half", action="store_true", help="store weights as float16")
    p.add_argument("--speech-model", default=None, metavar="DIR",
                   help="local wav2vec2 folder, for the official TIMAR.pth weights")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..checkpoint import load_model, save_checkpoint
    from ..paths import check_apart, check_replaceable

    check_apart({"the checkpoint": args.checkpoint}, {"the output": args.out},
                fix="give another output file")
    check_replaceable(args.out)     # a folder or a link there is refused before loading
    model = load_model(args.checkpoint, "cpu", args.speech_model)
    meta = dict(getattr(model, "meta", {}), exported_from=os.path.basename(args.checkpoint),
                half=bool(args.half))
    save_checkpoint(args.out, model, meta=meta, half=args.half)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB)")
    return 0
