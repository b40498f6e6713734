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
    from ..errors import TimarError
    from ..outputs import check_output_file
    from ..paths import check_apart, check_replaceable

    out = check_output_file(args.out, "the exported checkpoint")     # before the model loads
    check_apart({"the checkpoint": args.checkpoint}, {"the output": args.out},
                fix="give another output file")
    check_replaceable(args.out)     # a folder or a link there is refused before loading
    model = load_model(args.checkpoint, "cpu", args.speech_model)
    meta = dict(getattr(model, "meta", {}), exported_from=os.path.basename(args.checkpoint),
                half=bool(args.half))
    try:
        save_checkpoint(out, model, meta=meta, half=args.half)
    except OSError as exc:
        raise TimarError(f"cannot write {out} ({exc.strerror or exc}); free some space or "
                         "choose another file") from None
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB)")
    return 0
