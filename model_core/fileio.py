"""Atomic file writing: a failed or interrupted write never leaves a partial file, and no
write ever goes through a symbolic link or over something that is not a plain file.

Temporary files are created exclusively (``tempfile.mkstemp``: ``O_CREAT | O_EXCL |
O_NOFOLLOW``) beside their final name and renamed over it; a rename replaces the directory
entry itself, never the file a link points to. Every final name is checked
(``paths.check_replaceable``) before the first byte is written and again just before the
renames."""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Callable

from .paths import UnsafeOutputError, check_all_replaceable, check_replaceable, file_kind

O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)     # 0 on Windows, where links need privileges
O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def open_plain_file(path, flags: int, mode: int = 0o644) -> int:
    """``os.open`` that never follows a link and accepts only a plain file with one name
    (a hard link elsewhere would be written through); raises UnsafeOutputError naming it."""
    try:
        fd = os.open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode)
    except OSError as exc:
        try:
            st = os.lstat(path)
        except OSError:
            raise exc from None
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeOutputError(
                f"{path} is {file_kind(st.st_mode)}; TIMAR only writes plain files it made: "
                "remove it or choose another output folder") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        what = file_kind(st.st_mode) if not stat.S_ISREG(st.st_mode) else \
            f"a file with {st.st_nlink} hard links"
        raise UnsafeOutputError(f"{path} is {what}; TIMAR only writes plain files it made: "
                                "remove it or choose another output folder")
    return fd


def atomic_write(path, write: Callable[[str], None], suffix: str = ".tmp") -> None:
    """Call ``write(tmp_path)`` then move the result over ``path`` in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    check_replaceable(path)
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())      # mkstemp makes 0600; use normal permissions
        check_replaceable(path)
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

    ``writes`` maps each final path to ``write(tmp_path)``. Every final name is checked
    first (absent or a plain file; a link, folder or FIFO there is refused before anything
    is written). Every file is then written to a hidden temporary name in its own folder
    and flushed to disk; only when all of them are written are they renamed over the final
    names. If any write fails (a full disk, a read-only folder) every temporary is removed
    and the files already at the final names, an earlier run's result, are left exactly as
    they were."""
    finals = [Path(f) for f in writes]
    check_all_replaceable(finals)
    temps: list[tuple[str, Path]] = []
    try:
        for final, write in zip(finals, writes.values()):
            fd, tmp = tempfile.mkstemp(suffix=suffix, dir=final.parent, prefix=f".{final.name}.")
            os.close(fd)
            temps.append((tmp, final))
            write(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o666 & ~_umask())
        check_all_replaceable(finals)       # nothing was put in their way meanwhile
    except BaseException:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)
        raise
    # Renames within one folder do not allocate space, so after the writes and the check
    # above succeeded they do not fail for lack of room; they run back to back.
    done = 0
    try:
        for tmp, final in temps:
            os.replace(tmp, final)
            done += 1
    finally:
        for tmp, _ in temps[done:]:
            Path(tmp).unlink(missing_ok=True)
    for folder in {final.parent for _, final in temps}:
        _fsync_dir(folder)
