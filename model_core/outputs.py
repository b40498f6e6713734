"""Where results go: a safe output name and an output folder checked before any work."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from .errors import TimarError


class OutputError(TimarError):
    """The output folder or name cannot be used."""


def safe_name(text: str) -> str:
    """A file-name-safe output name: letters, digits, '.', '_' and '-' (so a name such as
    ``../x`` or ``a/b`` can never leave the output folder)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text).strip()).strip("._")
    return name or "dialogue"


def check_output_folder(path: str | os.PathLike) -> Path:
    """Make sure results can be written to ``path`` (created when missing) before the
    model runs; raises OutputError with one line saying what is wrong and what to do."""
    folder = Path(path).expanduser()
    probe = folder
    while not probe.exists():              # the first part of the path that exists
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        where = "is a file" if probe == folder else f"is under {probe}, which is a file"
        raise OutputError(f"output folder {folder} {where}; choose a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder {folder} ({exc.strerror}); "
                          "choose a folder you can write to") from None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".timar_write_test.", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise OutputError(f"cannot write to the output folder {folder} ({exc.strerror}); "
                          "choose a folder you can write to") from None
    return folder


def check_output_file(path: str | os.PathLike, what: str, create_folder: bool = True) -> Path:
    """A file name results can be written to, checked before any work: not a folder, its
    folder a folder (created when missing and ``create_folder``). OutputError otherwise."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise OutputError(f"{target} is a folder; give a file name for {what} "
                          f"(for example {target / ('out' + (target.suffix or '.pt'))})")
    folder = target.parent
    if not create_folder and not folder.is_dir():
        where = "is a file" if folder.exists() else "does not exist"
        raise OutputError(f"cannot write {what} to {target}: the folder {folder} {where}; "
                          "create it or choose another path")
    check_output_folder(folder)
    return target
