"""Running the batch in a fresh process for the bad-input tests (plain helpers)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import REPO


def run_batch(*args, timeout: float = 600, env_extra: dict | None = None):
    """(status, stdout + stderr) of ``python -m timar_blender.batch ARGS``."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               **(env_extra or {}))
    result = subprocess.run([sys.executable, "-m", "timar_blender.batch", *map(str, args)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout + result.stderr


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


FAST = ("--steps", "1", "--context-turns", "1")
