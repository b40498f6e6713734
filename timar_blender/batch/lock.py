# SPDX-License-Identifier: GPL-3.0-or-later
"""A lock per dialogue, so batches started at the same time over the same output folder
share the work instead of each doing every dialogue. No bpy.

The lock is an OS file lock (``flock``; ``msvcrt`` on Windows) on a hidden file beside the
outputs: it is released when the process ends, however it ends (``kill -9`` included), so
a crashed batch never leaves a dialogue locked. The lock file is opened without following
links and must be a plain file with one name: a link planted at ``.NAME.lock`` (to a file
elsewhere, or dangling) is refused with a message, never written through."""
from __future__ import annotations

import os
import socket
from pathlib import Path

from ..core import fileio


class DialogueLock:
    """``with DialogueLock(folder, name) as lock: if lock.acquired: ...`` (never waits)."""

    def __init__(self, folder: Path, name: str):
        self.path = Path(folder) / f".{name}.lock"
        self.acquired = False
        self._fd: int | None = None

    def __enter__(self) -> "DialogueLock":
        """Raises UnsafeOutputError (a TimarError) when something that is not a plain file
        of ours sits at the lock's name."""
        self._fd = fileio.open_plain_file(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock(self._fd)
        except OSError:              # held by another batch
            os.close(self._fd)
            self._fd = None
            return self
        self.acquired = True
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"{socket.gethostname()} {os.getpid()}\n".encode())
        return self

    def holder(self) -> str:
        """Who holds the lock ('host pid'), as far as the file says."""
        try:
            return self.path.read_text(encoding="utf-8").strip() or "another batch"
        except OSError:
            return "another batch"

    def __exit__(self, *_exc) -> None:
        if self._fd is not None:
            try:
                _unlock(self._fd)
            finally:
                os.close(self._fd)
                self._fd = None
        self.acquired = False


try:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
except ImportError:                  # pragma: no cover - Windows
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, 0)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
