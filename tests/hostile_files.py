"""Crafted hostile inputs for the bad-input tests (issue 19): small files whose headers lie
about sample rate, duration or size. Plain functions, imported by the test modules."""
from __future__ import annotations

import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from helpers import REPO


def write_wav(path, rate: int, samples: int = 500_000, channels: int = 1,
              apparent_bytes: int | None = None) -> Path:
    """A 16-bit PCM WAV whose header says ``rate``; ``samples`` real samples (1 MB by
    default). With ``apparent_bytes`` the file is extended sparsely to that size (and the
    header says so): a long file that takes no disk space."""
    data = np.tile(np.array([0, 1000, 0, -1000], np.int16), samples // 4 + 1)[:samples].tobytes()
    size = len(data) if apparent_bytes is None else apparent_bytes - 44
    header = (b"RIFF" + struct.pack("<I", 36 + size) + b"WAVE" + b"fmt "
              + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
              + b"data" + struct.pack("<I", size))
    path = Path(path)
    with open(path, "wb") as fh:
        fh.write(header + data)
        if apparent_bytes is not None:
            fh.truncate(apparent_bytes)
    return path


def write_npz_bomb(path, inflated_rows: int = 17_000_000) -> Path:
    """A small npz (about 3 MB) whose 'exp' member inflates to inflated_rows x 50 float32
    (3.4 GB by default): the zip directory tells the size, the data is all zeros."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("exp.npy", "w", force_zip64=True) as fh:
            np.lib.format.write_array_header_1_0(
                fh, {"descr": "<f4", "fortran_order": False, "shape": (inflated_rows, 50)})
            chunk = b"\0" * (1 << 24)
            left = inflated_rows * 50 * 4
            while left > 0:
                fh.write(chunk[:min(left, len(chunk))])
                left -= len(chunk)
        buf = zf.open("pose.npy", "w")
        np.lib.format.write_array(buf, np.zeros((inflated_rows, 6), np.float32))
        buf.close()
    return Path(path)


PEAK_MB = """
import resource
def peak_mb():
    # this process's own high-water mark: ru_maxrss also counts the forking parent's
    # pages (Linux keeps the pre-exec peak), so a big pytest process inflated it
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

PEAK = """
import resource, sys, time
{peak_mb}{setup}
before = peak_mb()          # after the imports: the growth is the call's alone
start = time.perf_counter()
try:
    {call}
    outcome = "accepted"
except Exception as exc:
    outcome = type(exc).__name__ + ": " + str(exc)
took = time.perf_counter() - start
after = peak_mb()
print(after - before, after, took)
print(outcome.splitlines()[0] if outcome else outcome)
"""


def peak_in_child(setup: str, call: str, timeout: float = 120) -> tuple[float, float, float, str]:
    """(peak RSS growth during ``call`` in MB, peak RSS in MB, seconds, outcome line) of
    running ``call`` in a fresh interpreter after ``setup`` (the imports, not measured)."""
    code = PEAK.format(peak_mb=PEAK_MB, setup=setup, call=call)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=timeout, env=env)
    assert result.returncode == 0, result.stderr
    figures, outcome = result.stdout.strip().splitlines()[-2:]
    growth, peak, seconds = map(float, figures.split())
    return growth, peak, seconds, outcome


def run_cli(*args, timeout: float = 120, env_extra: dict | None = None):
    """``python -m model_core ARGS`` in a fresh process: (status, stdout, stderr)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), **(env_extra or {}))
    result = subprocess.run([sys.executable, "-m", "model_core", *map(str, args)], cwd=REPO,
                            capture_output=True, text=True, timeout=timeout, env=env)
    return result.returncode, result.stdout, result.stderr
