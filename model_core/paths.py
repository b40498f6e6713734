"""File safety before any work: outputs never land on an input, and only plain files of
ours are ever replaced.

Two checks, used by the command line and the batch alike:

- :func:`check_apart` compares every output path with every input, by resolved path (a
  symlink or ``..`` that leads to the input) and by file identity (``st_dev``/``st_ino``:
  a hard link, a bind mount, another spelling of the same file). A clash is one line
  naming both, raised before the model runs.
- :func:`check_replaceable` refuses a symbolic link, a folder, a FIFO or a device where
  one of our output files should go: results are renamed over plain files only, so a
  link planted in the output folder can never send a write elsewhere."""
from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from .errors import TimarError


class PathClashError(TimarError):
    """An output would be written over one of the inputs."""


class UnsafeOutputError(TimarError):
    """Something that is not a plain file of ours sits where an output or lock goes."""


def _resolved(path) -> str:
    return os.path.normcase(os.path.realpath(os.path.expanduser(os.fspath(path))))


def _identity(path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):     # missing, unreadable, or a NUL in the name
        return None
    return st.st_dev, st.st_ino


def same_file(a, b) -> bool:
    """True when writing ``a`` would change ``b``: the same resolved path, or (both
    existing) the same file on disk."""
    if _resolved(a) == _resolved(b):
        return True
    ia, ib = _identity(a), _identity(b)
    return ia is not None and ia == ib


def check_apart(inputs: Mapping[str, object] | Iterable[tuple[str, object]],
                outputs: Mapping[str, object], fix: str = "choose another output folder or name") -> None:
    """Raise PathClashError when any output is any input. ``inputs`` and ``outputs`` map a
    label the user knows (``--audio-b``, ``the .blend``) to a path (``inputs`` may also be
    (label, path) pairs, for labels that repeat); empty inputs are skipped."""
    pairs = inputs.items() if isinstance(inputs, Mapping) else inputs
    by_path: dict[str, tuple[str, object]] = {}
    by_identity: dict[tuple[int, int], tuple[str, object]] = {}
    for label, path in pairs:          # indexed once: a batch of thousands stays linear
        if not path:
            continue
        by_path.setdefault(_resolved(path), (label, path))
        ident = _identity(path)
        if ident is not None:
            by_identity.setdefault(ident, (label, path))
    for out_label, out in outputs.items():
        ident = _identity(out)
        hit = by_path.get(_resolved(out)) or (by_identity.get(ident) if ident else None)
        if hit is not None:
            in_label, inp = hit
            raise PathClashError(
                f"{out_label} {out} would overwrite {in_label} {inp} (the same file); "
                f"inputs are never written: {fix}")


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_replaceable(path, label: str = "output") -> None:
    """Raise UnsafeOutputError unless ``path`` is absent or a plain file (never followed)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UnsafeOutputError(f"cannot check the {label} {path} ({exc.strerror}); "
                                "choose another output folder") from None
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeOutputError(
            f"{path} is {file_kind(st.st_mode)} where the {label} goes; TIMAR only replaces "
            "plain files it wrote: move it away or choose another output folder or name")


def check_all_replaceable(paths: Iterable, label: str = "output") -> None:
    for p in paths:
        check_replaceable(Path(p), label)
