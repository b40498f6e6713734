# SPDX-License-Identifier: GPL-3.0-or-later
"""A dialogue's output files, how they are written and published, and when they are
complete, so a re-run skips finished dialogues and redoes the rest. No bpy.

One dialogue's outputs (.blend, .mp4, contact sheet) are one set, made by one take: every
file is first written under a hidden temporary name of this dialogue's own
(``.NAME.ROLE.<12 hex>.partial.EXT``), the render reads the temporary .blend, and only when
the whole set is made are the files renamed over the earlier ones, back to back, between
a report saying "publishing" and the final report. A run that fails before that leaves the
earlier set exactly as it was; the report says which take (settings hash and seed) each
file on disk belongs to. A dialogue is complete when its report says "ok", was made with
the same settings, and every file it lists is there (and, for a movie, readable)."""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..core import fileio, paths
from .mp4 import mp4_tracks

REPORT_VERSION = 2
# role -> what follows the dialogue's name in the final file name
SUFFIXES = {"blend": ".blend", "mp4": ".mp4", "contact": "_contact.png",
            "livelink_a": "_speaker1_livelink.csv", "livelink_b": "_speaker2_livelink.csv",
            "report": "_report.json"}
# the files of one take, listed by the report
SET_ROLES = ("blend", "mp4", "contact", "livelink_a", "livelink_b")
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<role>blend|mp4|contact|livelink_a|livelink_b|report|stills)"
                   r"\.[0-9a-f]{12}\.partial(?:\.[A-Za-z0-9]+)?$")


@dataclass(frozen=True)
class Outputs:
    folder: Path
    name: str

    def path(self, role: str) -> Path:
        return self.folder / f"{self.name}{SUFFIXES[role]}"

    @property
    def blend(self) -> Path:
        return self.path("blend")

    @property
    def mp4(self) -> Path:
        return self.path("mp4")

    @property
    def contact(self) -> Path:
        return self.path("contact")

    def live_link(self, label: str) -> Path:
        """Head A's or B's Live Link Face CSV take (--live-link-csv)."""
        return self.path("livelink_" + label.lower())

    @property
    def report(self) -> Path:
        return self.path("report")

    @property
    def lock(self) -> Path:
        return self.folder / f".{self.name}.lock"

    def files(self) -> dict[str, Path]:
        """Every file this dialogue writes in the folder, by a label a user understands
        (the temporaries have unique names of their own)."""
        named = {f"the dialogue's {role}": self.path(role) for role in SUFFIXES}
        return {**named, "the dialogue's lock file": self.lock}

    def temp(self, role: str) -> Path:
        """A unique hidden name of this dialogue's (extension kept: Blender and FFmpeg
        choose formats from it), not created (Blender would back it up as .blend1);
        renamed over the final name when the whole set is made."""
        ext = "." + SUFFIXES[role].rsplit(".", 1)[1] if role in SUFFIXES else ""
        return self.folder / f".{self.name}.{role}.{uuid.uuid4().hex[:12]}.partial{ext}"


def is_own_temp(filename: str, name: str) -> bool:
    """True for a temporary of dialogue ``name`` exactly (never of ``name.y`` or
    ``name_contact``, which another shard may be writing)."""
    m = _TEMP.match(filename)
    return m is not None and m.group("name") == name


def take_id(described: dict) -> str:
    """The take's identity: a hash of everything the outputs depend on (inputs by content,
    generation and render settings, the seed included)."""
    text = json.dumps(described, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def publish(tmp: Path, final: Path) -> None:
    """Move a finished temporary file over the final name in one step (never over a link,
    a folder or anything else that is not a plain file)."""
    try:
        st = os.lstat(tmp)
    except FileNotFoundError:
        st = None
    if st is None or not stat.S_ISREG(st.st_mode) or st.st_size == 0:
        tmp.unlink(missing_ok=True)
        raise OSError(f"{final.name} was not written")
    paths.check_replaceable(final)
    os.chmod(tmp, 0o644)
    os.replace(tmp, final)


def write_json(path: Path, data: dict, tmp: Path | None = None) -> None:
    """Write JSON atomically: a new exclusive temporary (``tmp``, or a unique name beside
    ``path``), then renamed over ``path`` (refused when that is a link or not a file)."""
    paths.check_replaceable(path)
    tmp = tmp or path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.partial"
    fd = fileio.open_plain_file(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.chmod(tmp, 0o644)
        paths.check_replaceable(path)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_report(path: Path) -> dict | None:
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def files_on_disk(outputs: Outputs, report: dict | None) -> dict:
    """The set a report describes, as far as its files are still there: role ->
    {"name", "take"}. A report older than version 2 lists names only (take unknown)."""
    if not report:
        return {}
    listed = report.get("files")
    if not isinstance(listed, dict):
        names = report.get("outputs") if isinstance(report.get("outputs"), dict) else {}
        key = {"blend": "blend", "mp4": "mp4", "contact": "contact_sheet"}
        listed = {role: {"name": names[k], "take": None} for role, k in key.items() if k in names}
    return {role: dict(entry) for role, entry in listed.items()
            if role in SET_ROLES and isinstance(entry, dict)
            and outputs.path(role).is_file()}


def publish_set(outputs: Outputs, temps: dict, report: dict, earlier: dict | None) -> None:
    """Rename the new set's temporaries (role -> path) over the final names, back to back.

    Everything that can fail is checked first (each temporary written, each final name
    absent or a plain file). The report is rewritten with status "publishing" before the
    first rename, so a run killed in between is redone; the earlier set's files this take
    did not make (a movie when this run did not render) are removed, so the folder never
    holds two takes side by side. ``report["files"]`` is kept true at every step."""
    new = report["take"]["id"]
    for role, tmp in temps.items():
        st = os.lstat(tmp) if os.path.lexists(tmp) else None
        if st is None or not stat.S_ISREG(st.st_mode) or st.st_size == 0:
            raise OSError(f"{outputs.path(role).name} was not written")
        paths.check_replaceable(outputs.path(role))
    report["files"] = files_on_disk(outputs, earlier)
    write_json(outputs.report, {**report, "status": "publishing"}, outputs.temp("report"))
    for role, tmp in temps.items():
        publish(tmp, outputs.path(role))
        report["files"][role] = {"name": outputs.path(role).name, "take": new}
    for role in [r for r in report["files"] if r not in temps]:
        final = outputs.path(role)
        if os.path.lexists(final) and stat.S_ISREG(os.lstat(final).st_mode):
            final.unlink()
        del report["files"][role]


def completion(outputs: Outputs, settings: dict, want_render: bool) -> str | None:
    """None when the dialogue is complete for these settings, else why it must be (re)done."""
    report = read_report(outputs.report)
    if report is None:
        return "not done yet"
    if report.get("status") == "publishing":
        return "the last run stopped while it replaced the files"
    if report.get("status") not in ("ok", "warning"):   # a rig warning: a re-run cannot help
        return f"the last run {report.get('status', 'failed')}"
    done = report.get("settings", {})
    for part in ("inputs", "generation", "scene"):
        if done.get(part) != settings.get(part):
            return f"the {part} settings changed"
    if want_render and done.get("render") != settings.get("render"):
        return "not rendered with these render settings"
    want_live_link = bool(settings.get("live_link_csv"))
    if want_live_link and not done.get("live_link_csv"):
        return "no Live Link Face CSV written yet"
    files = [outputs.blend] + ([outputs.mp4, outputs.contact] if want_render else []) \
        + ([outputs.live_link("A"), outputs.live_link("B")] if want_live_link else [])
    for f in files:
        if not f.is_file() or f.stat().st_size == 0:
            return f"{f.name} is missing"
    if want_render and not any(t["kind"] == "video" for t in mp4_tracks(outputs.mp4)):
        return f"{outputs.mp4.name} is not a readable movie"
    return None


def _remove(entry: os.DirEntry) -> None:
    """Remove a temporary; a folder (the contact sheet's stills) with the plain files in it.
    Links are removed as links, never followed."""
    if entry.is_dir(follow_symlinks=False):
        for inner in os.scandir(entry.path):
            if not inner.is_dir(follow_symlinks=False):
                os.unlink(inner.path)
        os.rmdir(entry.path)
    else:
        os.unlink(entry.path)


def clean_partials(folder: Path, name: str) -> None:
    """Remove the temporary files an interrupted run of this dialogue left behind: its own
    exact names only (called under the dialogue's lock)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if is_own_temp(entry.name, name):
            try:
                _remove(entry)
            except OSError:
                pass
