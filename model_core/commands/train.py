"""``python -m model_core train``: train TIMAR (or the DualTalk-architecture baseline)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import TimarError


def register(sub) -> None:
    p = sub.add_parser("train", help="train a model on a corpus in the DualTalk layout")
    p.add_argument("--data", required=True, help="corpus folder (its train/ split is used)")
    p.add_argument("--out", required=True, help="checkpoint to write (EMA weights)")
    p.add_argument("--model", choices=("timar", "dualtalk"), default="timar",
                   help="timar (default) or the DualTalk-architecture baseline")
    p.add_argument("--preset", default="small",
                   help="size preset: tiny | small | large (TIMAR); tiny | paper (DualTalk baseline, "
                        "default paper)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set attention=full --set head=mlp")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--warmup-steps", type=int, default=200)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--grad-clip", type=float, default=3.0)
    p.add_argument("--segment-turns", type=int, default=8, help="training clip length in turns")
    p.add_argument("--save-every", type=int, default=200)
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop and save after this long")
    p.add_argument("--half", action="store_true", help="store the final weights in float16")
    p.add_argument("--resume", action="store_true", help="continue from OUT.train")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="bf16 autocast (auto: on CUDA only; CPUs with AVX512-BF16/AMX gain too)")
    p.set_defaults(func=run)


def _parse_overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise TimarError(f"--set expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def build_model(args, dataset):
    from ..train import motion_stats

    if args.model == "dualtalk":
        from ..baselines.dualtalk import PRESETS, DualTalkBaseline, preset, save_baseline
        name = args.preset if args.preset in PRESETS else "paper"
        try:
            model = DualTalkBaseline(preset(name, **_parse_overrides(args.set)))
        except (TypeError, ValueError) as exc:
            raise TimarError(f"bad baseline config: {exc}") from None
        saver = lambda path, m, meta: save_baseline(path, m, meta=meta)  # noqa: E731
    else:
        from ..checkpoint import save_checkpoint
        from ..config import preset
        from ..model import TimarModel
        try:
            config = preset(args.preset, **_parse_overrides(args.set))
        except (TypeError, ValueError) as exc:
            raise TimarError(f"bad model config: {exc}") from None
        model = TimarModel(config)
        half = args.half
        saver = lambda path, m, meta: save_checkpoint(path, m, meta=meta, half=half)  # noqa: E731
    if hasattr(model, "set_motion_stats") and not args.resume:
        model.set_motion_stats(*motion_stats(dataset))
    return model, saver


def run(args) -> int:
    from ..constants import TURN_FRAMES
    from ..data import DualTalkDataset
    from ..train import Trainer, TrainOptions

    root = Path(args.data)
    split = root / "train" if (root / "train").is_dir() else root
    dataset = DualTalkDataset(split, segment_frames=args.segment_turns * TURN_FRAMES)
    model, saver = build_model(args, dataset)
    n_params = sum(p.numel() for p in model.parameters())
    options = TrainOptions(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                           warmup_steps=args.warmup_steps, ema_decay=args.ema,
                           grad_clip=args.grad_clip, save_every=args.save_every,
                           max_minutes=args.max_minutes, seed=args.seed, device=args.device,
                           precision=args.precision)
    trainer = Trainer(model, dataset, options, args.out, saver, resume=args.resume,
                      log=lambda *a, **k: print(*a, file=sys.stderr, **k))
    trainer.log(f"training {args.model} ({n_params / 1e6:.2f} M parameters) on {len(dataset)} "
                f"clips from {split}, {trainer.steps_per_epoch} steps per epoch, device {trainer.device}")
    summary = trainer.fit()
    trainer.log(f"done: {summary['steps']} steps, {summary['epochs']} epochs, loss {summary['loss']:.4f}, "
                f"{summary['minutes']:.1f} min; wrote {args.out}")
    return 0
