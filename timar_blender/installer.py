# SPDX-License-Identifier: GPL-3.0-or-later
"""Installing PyTorch with pip in a subprocess, into the extension's own folder.

No bpy here: ``PipInstall`` runs a pip command (torch_plan.Plan.command) in a thread,
parses pip's output into a progress fraction and a phase line, and keeps the whole log."""
from __future__ import annotations

import os
import re
import subprocess
import threading

_COLLECT = re.compile(r"^\s*(Collecting|Processing|Looking in links|Downloading|Using cached)\b")


class PipInstall:
    """One pip run in a background thread: ``state`` is running, ok or failed."""

    def __init__(self, cmd: list[str], env: dict[str, str] | None = None):
        self.cmd = cmd
        self.env = dict(env or {})
        self.log: list[str] = []
        self.state = "running"
        self.phase = "starting pip"
        self.fraction = 0.0
        self.returncode: int | None = None
        self._collected = 0
        self._proc = None
        self._cancel = threading.Event()
        self.thread = threading.Thread(target=self._run, name="TIMAR pip", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _line(self, line: str):
        self.log.append(line)
        text = line.strip()
        if _COLLECT.match(text):
            self._collected += 1
            self.phase = text[:90]
            self.fraction = max(self.fraction, min(0.8, 1 - 1 / (1 + 0.25 * self._collected)))
        elif text.startswith("Installing collected packages"):
            self.phase, self.fraction = text[:90], max(self.fraction, 0.85)
        elif text.startswith("Successfully installed"):
            self.phase, self.fraction = text[:90], 1.0

    def _run(self):
        env = dict(os.environ, PYTHONNOUSERSITE="1", PIP_NO_CACHE_DIR="0", **self.env)
        try:
            self._proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True, env=env)
            for line in self._proc.stdout:
                self._line(line.rstrip("\n"))
                if self._cancel.is_set():
                    self._proc.terminate()
            self.returncode = self._proc.wait()
        except OSError as exc:
            self.log.append(f"cannot run pip: {exc}")
            self.returncode = -1
        if self.returncode == 0:
            self.state, self.fraction = "ok", 1.0
        else:
            self.state = "failed"
            self.phase = "cancelled" if self._cancel.is_set() else \
                f"pip failed (exit code {self.returncode}); see the log"

    def cancel(self):
        self._cancel.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()

    def wait(self, timeout: float | None = None) -> str:
        self.thread.join(timeout)
        return self.state

    def tail(self, n: int = 12) -> list[str]:
        return [l for l in self.log if l.strip()][-n:]
