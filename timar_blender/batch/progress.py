# SPDX-License-Identifier: GPL-3.0-or-later
"""Progress lines for long batches: per dialogue (turns generated, frames rendered) and
overall (dialogues done, failed, skipped, time left). Plain lines on stdout, throttled,
so they read well in a terminal and in a farm's log files. No bpy."""
from __future__ import annotations

import sys
import time


def fmt_time(seconds: float) -> str:
    if seconds != seconds or seconds < 0:      # NaN
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class BatchProgress:
    """A batch's overall counters and the lines printed for each step."""

    def __init__(self, total: int, label: str = "", stream=None, every: float = 10.0):
        self.total, self.label = total, label
        self.stream = stream or sys.stdout
        self.every = every
        self.ok = self.failed = self.skipped = 0
        self.started = time.monotonic()
        self.work_seconds = 0.0        # time spent on dialogues actually processed
        self._last_line = float("-inf")    # the first line is always shown
        self.current = ""

    @property
    def finished(self) -> int:
        return self.ok + self.failed + self.skipped

    def line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def overall(self) -> str:
        done = self.ok + self.failed
        left = self.total - self.finished
        eta = self.work_seconds / done * left if done else float("nan")
        return (f"[batch{self.label}] {self.finished}/{self.total} dialogues: {self.ok} ok, "
                f"{self.failed} failed, {self.skipped} skipped; "
                f"{fmt_time(time.monotonic() - self.started)} elapsed"
                + (f", ~{fmt_time(eta)} left" if left and done else ""))

    def begin(self, position: int, name: str) -> None:
        self.current = name
        self._last_line = float("-inf")
        self.line(f"[{name}] dialogue {position}/{self.total}")

    def step(self, text: str, force: bool = False) -> None:
        """A throttled line about the current dialogue."""
        now = time.monotonic()
        if force or now - self._last_line >= self.every:
            self._last_line = now
            self.line(f"[{self.current}] {text}")

    def end(self, status: str, seconds: float, detail: str = "") -> None:
        if status in ("ok", "warning"):      # warning: made, with a rig warning in the report
            self.ok += 1
        elif status == "skipped":
            self.skipped += 1
        else:
            self.failed += 1
        if status != "skipped":
            self.work_seconds += seconds
        self.line(f"[{self.current}] {status.upper()}" + (f" ({fmt_time(seconds)})" if
                                                         status != "skipped" else "")
                  + (f": {detail}" if detail else ""))
        self.line(self.overall())
