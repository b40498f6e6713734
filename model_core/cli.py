"""``python -m model_core <command>``: each command lives in its own module that exposes
``register(subparsers)``; the parser's ``func(args)`` returns the exit code."""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import TimarError
from .last_resort import EXIT_INTERNAL, report_internal_error

# module path, relative to this package; each defines register(subparsers).
COMMAND_MODULES = (
    ".commands.generate",
    ".commands.bench",
    ".commands.corpus",
    ".commands.train",
    ".commands.train_mouth",
    ".commands.evaluate",
    ".commands.lipsync_eval",
    ".commands.compare",
    ".commands.export",
    ".commands.plot",
    ".commands.phones",
    ".commands.utterances",
    ".commands.real_utterances",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m model_core",
        description="TIMAR: causal turn-level head dynamics for two-person conversations.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name, __package__)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith(__package__):
                continue  # a command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TimarError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last resort: a bug, logged, one line
        print(report_internal_error(exc, args.command), file=sys.stderr)
        return EXIT_INTERNAL
