"""Where results go: a safe output name and an output folder checked before any work."""
from __future__ import annotations

import os
import re
import tempfile
import zipfile
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


# What write_motion_npz puts in a result; anything else at an output name is not ours.
RESULT_MEMBERS = frozenset({"exp.npy", "pose.npy"})
# what a result made with face frames holds besides (flame.write_motion_npz)
FACE_MEMBERS = frozenset({"arkit.npy", "arkit_names.npy", "visemes.npy", "viseme_names.npy"})


def check_results_replaceable(paths) -> None:
    """Refuse to replace an existing file at a result's name unless it is an earlier
    result (an npz holding exactly ``exp`` and ``pose``, with or without the face frames'
    ``arkit``, ``arkit_names``, ``visemes``, ``viseme_names``): a DualTalk folder's ground-truth
    ``ID_speaker2.npz`` (with shape, tex, cam, light) is never overwritten. Only the zip's
    directory is read."""
    for path in paths:
        path = Path(path)
        if not path.is_file():
            continue     # absent; a link or folder there is paths.check_replaceable's case
        try:
            with zipfile.ZipFile(path) as zf:
                members = set(zf.namelist()[:64])
        except (OSError, zipfile.BadZipFile, ValueError):
            members = None
        if members not in (RESULT_MEMBERS, RESULT_MEMBERS | FACE_MEMBERS):
            held = ("is not an npz file" if members is None else
                    f"holds {', '.join(sorted(m.removesuffix('.npy') for m in members)) or 'nothing'}")
            raise OutputError(f"{path} already exists and is not a TIMAR result (it {held}); "
                              "TIMAR never replaces a file it did not write: choose another "
                              "--out-dir or --name, or move the file")


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
