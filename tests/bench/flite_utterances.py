"""Write flite utterances with exact phone timings for ``python -m model_core lipsync-eval``.

    python tests/bench/flite_utterances.py OUT_DIR [--voice slt]

Per sentence: OUT_DIR/NAME.wav and OUT_DIR/NAME.json (a JSON list of [phone, start_s, end_s]
from ``flite -psdur``, which prints each segment as ``phone:end_time``).
"""
from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

# Sentences dense in bilabials, open vowels and rounded/spread vowels.
SENTENCES = {
    "bob_map": "Bob might buy a map of the moon.",
    "pool_blue": "Pete wore blue boots to the pool by the beach.",
    "mom_bake": "My mom baked apple pie, but we ate it all by noon.",
    "show_people": "Please show me the people who bought the old boat.",
}


def psdur_phones(stdout: str) -> list[list]:
    """``pau:0.19 b:0.21 ...`` -> [[label, start, end], ...], each phone starting where the
    previous ended."""
    phones, start = [], 0.0
    for token in stdout.split():
        label, _, end = token.rpartition(":")
        if not label:
            continue
        phones.append([label, round(start, 4), float(end)])
        start = float(end)
    return phones


def write_utterance(folder: Path, name: str, text: str, voice: str = "slt") -> None:
    wav = folder / f"{name}.wav"
    out = subprocess.run(["flite", "-voice", voice, "-psdur", "-t", text, "-o", str(wav)],
                         capture_output=True, text=True, check=True).stdout
    (folder / f"{name}.json").write_text(json.dumps(psdur_phones(out)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--voice", default="slt", help="flite voice (kal, awb, rms, slt, ...)")
    args = parser.parse_args()
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in SENTENCES.items():
        write_utterance(folder, f"{args.voice}_{name}", text, args.voice)


if __name__ == "__main__":
    main()
