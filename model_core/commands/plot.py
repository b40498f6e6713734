"""``python -m model_core plot``: neck and jaw over time, real beside generated.

Frame-bag metrics (FD, MSE, SID) cannot see a head that jumps 20 degrees every frame; a
plot of ten consecutive seconds can. Each FLAME npz given is drawn as one line per panel
(neck pitch, neck yaw, jaw opening, in degrees), with dotted lines at the 1 s turn
boundaries where seams would show."""
from __future__ import annotations

import math

import numpy as np

from ..constants import FPS, JAW, NECK, TURN_FRAMES
from ..errors import TimarError

PANELS = (("neck pitch", NECK.start), ("neck yaw", NECK.start + 1), ("jaw opening", JAW.start))


def register(sub) -> None:
    p = sub.add_parser("plot", help="plot neck and jaw over time for FLAME npz files (PNG)")
    p.add_argument("motion", nargs="+", metavar="LABEL=NPZ",
                   help="a FLAME npz to draw, with its legend label")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--start", type=float, default=0.0, help="first second shown (default 0)")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds shown (default 10)")
    p.add_argument("--title", default="")
    p.set_defaults(func=run)


def parse_motion_args(items: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        label, sep, path = item.partition("=")
        if not sep or not label or not path:
            raise TimarError(f"expected LABEL=FILE.npz, got {item!r} (for example real=demo.npz)")
        pairs.append((label, path))
    return pairs


def run(args) -> int:
    from ..fileio import atomic_write
    from ..face.flame import load_motion_npz
    from ..paths import check_apart, check_replaceable

    pairs = parse_motion_args(args.motion)
    check_apart([(f"the motion {label}", path) for label, path in pairs], {"--out": args.out},
                fix="give another --out")
    check_replaceable(args.out)
    try:
        import matplotlib
    except ImportError as exc:
        raise TimarError("plotting needs matplotlib: pip install matplotlib") from exc
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    first = int(round(args.start * FPS))
    count = int(round(args.seconds * FPS))
    if first < 0 or count < 2:
        raise TimarError("--start must be >= 0 and --seconds long enough for two frames")
    fig, axes = plt.subplots(len(PANELS), 1, figsize=(11, 7), sharex=True)
    for label, path in pairs:
        motion = load_motion_npz(path)[first:first + count]
        if len(motion) < 2:
            raise TimarError(f"{path} has no frames between {args.start} s and "
                             f"{args.start + args.seconds} s")
        t = (first + np.arange(len(motion))) / FPS
        for ax, (_, channel) in zip(axes, PANELS):
            ax.plot(t, np.degrees(motion[:, channel]), label=label, linewidth=1.1)
    for ax, (name, _) in zip(axes, PANELS):
        ax.set_ylabel(f"{name} (deg)")
        for second in range(math.ceil(first / TURN_FRAMES), (first + count) // TURN_FRAMES + 1):
            ax.axvline(second, color="0.85", linewidth=0.6, linestyle=":", zorder=0)
    axes[0].legend(loc="upper right", ncol=4, fontsize=8)
    axes[-1].set_xlabel("time (s); dotted lines: turn boundaries")
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout()
    # a temporary name, then renamed: never written through a link or over an input
    try:
        atomic_write(args.out, lambda tmp: fig.savefig(tmp, dpi=90, format="png"), suffix=".png")
    except OSError as exc:
        raise TimarError(f"cannot write {args.out} ({exc.strerror or exc}); choose another --out") from None
    finally:
        plt.close(fig)
    print(f"wrote {args.out}")
    return 0
