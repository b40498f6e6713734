"""Atomic file writing: a failed or interrupted write never leaves a partial file."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write: Callable[[str], None], suffix: str = ".tmp") -> None:
    """Call ``write(tmp_path)`` then move the result over ``path`` in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())      # mkstemp makes 0600; use normal permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:        # some platforms cannot open a folder; the renames still happened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def publish_together(writes: dict, suffix: str = ".tmp") -> None:
    """Write several files so that they appear together or not at all.

    ``writes`` maps each final path to ``write(tmp_path)``. Every file is first written to
    a hidden temporary name in its own folder and flushed to disk; only when all of them
    are written are they renamed over the final names. If any write fails (a full disk, a
    read-only folder) every temporary is removed and the files already at the final names,
    an earlier run's result, are left exactly as they were."""
    temps: list[tuple[str, Path]] = []
    try:
        for final, write in writes.items():
            final = Path(final)
            fd, tmp = tempfile.mkstemp(suffix=suffix, dir=final.parent, prefix=f".{final.name}.")
            os.close(fd)
            temps.append((tmp, final))
            write(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o666 & ~_umask())
    except BaseException:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)
        raise
    # Renames within one folder do not allocate space, so after the writes succeeded
    # they do not fail for lack of room; they run back to back.
    for tmp, final in temps:
        os.replace(tmp, final)
    for folder in {final.parent for _, final in temps}:
        _fsync_dir(folder)
