# SPDX-License-Identifier: GPL-3.0-or-later
"""The walk of a checkpoint path through model_core: which module calls which while the CLI
loads an official-layout release (a small one made here, with a tiny wav2vec2 folder), and
which pairs of modules call each other both ways (a back-and-forth a reader must follow).

    .venv/bin/python tests/bench/checkpoint_walk.py [REPO]

Needs ``transformers`` (the wav2vec2 front end). docs/ARCHITECTURE.md quotes its output."""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from model_core.commands import common  # noqa: E402
from model_core.official_testing import TINY, random_release_state, write_release, write_speech_model  # noqa: E402

# Imported up front, so the walk records calls, not first imports (the names of older
# layouts too, so the walk can be measured on an older checkout given as REPO).
for name in ("checkpoint", "official", "model", "speech.wav2vec2", "speech.speech_model",
             "weights_check", "speech.logmel", "wav2vec2", "speech_model", "features", "logmel"):
    try:
        importlib.import_module("model_core." + name)
    except ModuleNotFoundError:
        pass


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    release = tmp / "TIMAR.pth"
    write_release(release, random_release_state(**TINY))
    speech = write_speech_model(tmp / "w2v", "tiny")
    calls: list[tuple[str, str]] = []

    def profile(frame, event, _arg):
        if event != "call" or frame.f_code.co_name == "<module>" or frame.f_back is None:
            return
        callee = frame.f_globals.get("__name__", "")
        caller = frame.f_back.f_globals.get("__name__", "")
        if callee.startswith("model_core") and caller.startswith("model_core") and caller != callee:
            calls.append((caller.removeprefix("model_core."), callee.removeprefix("model_core.")))

    args = argparse.Namespace(checkpoint=str(release), device="cpu", speech_model=str(speech))
    sys.setprofile(profile)
    try:
        common.load_model_from_args(args)
    finally:
        sys.setprofile(None)
    pairs = list(dict.fromkeys(calls))
    both = sorted({tuple(sorted(p)) for p in pairs if (p[1], p[0]) in pairs})
    print(json.dumps({"calls_across_modules": len(calls),
                      "module_pairs": [f"{a} -> {b}" for a, b in pairs],
                      "back_and_forth": [f"{a} <-> {b}" for a, b in both]}, indent=1))


if __name__ == "__main__":
    main()
