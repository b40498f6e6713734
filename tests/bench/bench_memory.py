"""Benchmark: peak memory of ``python -m model_core generate`` against the dialogue's length.
Not a test; prints figures (the README's "Memory" table).

Each length runs the real command line in a fresh process on two speech-like 16-bit WAV
tracks (written once into a temporary folder) and reads the child's peak resident set
size from the operating system. Audio is read in blocks and speech features are computed
per turn, so the peak should stay nearly flat; what still grows is the output itself
(56 floats per frame and head, about 21 KB per second for both heads, written at the end).

    .venv/bin/python tests/bench/bench_memory.py [--seconds 30,600,3600] [--checkpoint PATH]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from model_core.testing import speech_like  # noqa: E402


def write_track(path: Path, seconds: float, seed: int) -> None:
    """Speech-like audio written a minute at a time (the writer holds no whole hour)."""
    with sf.SoundFile(path, "w", 16000, 1, subtype="PCM_16") as f:
        left, part = seconds, 0
        while left > 0:
            chunk = min(60.0, left)
            f.write(speech_like(chunk, seed * 1000 + part))
            left -= chunk
            part += 1


def peak_rss_mb(args: list[str]) -> tuple[float, float]:
    """(peak RSS in MB, wall seconds) of one command line run in a fresh process."""
    code = ("import resource, subprocess, sys, time\n"
            "t = time.perf_counter()\n"
            "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
            "assert r.returncode == 0, r.stderr[-2000:]\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.perf_counter() - t)\n")
    out = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "model_core", *args],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", default="30,600,3600", help="dialogue lengths to measure")
    parser.add_argument("--checkpoint", default=None, help="default: the bundled model")
    parser.add_argument("--steps", default="1", help="diffusion steps (memory does not depend on them)")
    parser.add_argument("--context-turns", default="0",
                        help="context (the key/value cache is bounded by it, not by the length)")
    args = parser.parse_args()
    lengths = [float(s) for s in args.seconds.split(",")]
    print(f"peak RSS of `python -m model_core generate` (fresh process), "
          f"{'bundled model' if not args.checkpoint else args.checkpoint}, steps {args.steps}, "
          f"context {args.context_turns}")
    print(f"{'dialogue':>10} {'peak RSS MB':>12} {'wall s':>8}")
    with tempfile.TemporaryDirectory(prefix="timar_mem_") as tmp:
        tmp = Path(tmp)
        base = None
        for seconds in lengths:
            a, b = tmp / f"d{seconds:g}_speaker1.wav", tmp / f"d{seconds:g}_speaker2.wav"
            write_track(a, seconds, 1)
            write_track(b, seconds, 2)
            cmd = ["generate", "--audio-a", str(a), "--audio-b", str(b), "--out-dir",
                   str(tmp / "out"), "--steps", args.steps, "--context-turns", args.context_turns,
                   "--device", "cpu"]
            if args.checkpoint:
                cmd += ["--checkpoint", args.checkpoint]
            rss, wall = peak_rss_mb(cmd)
            base = rss if base is None else base
            label = f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
            print(f"{label:>10} {rss:12.0f} {wall:8.1f}   (+{rss - base:.0f} MB)", flush=True)
            a.unlink()
            b.unlink()


if __name__ == "__main__":
    main()
