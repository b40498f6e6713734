"""``python -m model_core compare``: paired per-clip differences between evaluated methods.

Example::

    python -m model_core compare test.json --reference DualTalk
    python -m model_core compare test.json test_full.json --reference "TIMAR n=7" --metrics fd_exp,mse_exp
"""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compare", help="paired per-clip differences between methods of evaluate --out files",
        description="Every method against --reference on the clips both scored: the mean "
                    "difference (scaled as the published table), its 95%% interval and the "
                    "relative change. A name met again in a later file is prefixed with that "
                    "file's stem.")
    p.add_argument("results", nargs="+", help="JSON files written by evaluate --out")
    p.add_argument("--reference", required=True, help='method to compare against, e.g. "DualTalk"')
    p.add_argument("--metrics", default=None,
                   help="comma-separated keys (default fd_exp,fd_jaw,fd_pose,mse_exp,mse_jaw,mse_pose)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..evaluation.compare import DEFAULT_METRICS, compare, format_comparisons, load_methods

    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip()) \
        if args.metrics else DEFAULT_METRICS
    print(format_comparisons(compare(load_methods(args.results), args.reference, metrics)))
    return 0
