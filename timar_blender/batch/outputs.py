# SPDX-License-Identifier: GPL-3.0-or-later
"""A dialogue's output files, how they are written (temporary name, then rename) and when
they are complete, so a re-run skips finished dialogues and redoes the rest. No bpy.

The report is written last: a dialogue is complete when its report says "ok", was made
with the same settings, and every file it lists is there (and, for a movie, readable)."""
from __future__ import annotations

import json
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from .mp4 import mp4_tracks

REPORT_VERSION = 1


@dataclass(frozen=True)
class Outputs:
    folder: Path
    name: str

    @property
    def blend(self) -> Path:
        return self.folder / f"{self.name}.blend"

    @property
    def mp4(self) -> Path:
        return self.folder / f"{self.name}.mp4"

    @property
    def contact(self) -> Path:
        return self.folder / f"{self.name}_contact.png"

    def live_link(self, label: str) -> Path:
        """Head A's or B's Live Link Face CSV take (--live-link-csv)."""
        return self.folder / f"{self.name}_speaker{'AB'.index(label) + 1}_livelink.csv"

    @property
    def report(self) -> Path:
        return self.folder / f"{self.name}_report.json"

    def temp(self, final: Path) -> Path:
        """A unique hidden name beside ``final`` with the same extension (Blender and
        FFmpeg choose formats from it), not created (Blender would back it up as .blend1);
        renamed over ``final`` once written."""
        return self.folder / f".{final.stem}.{uuid.uuid4().hex[:12]}.partial{final.suffix}"


def publish(tmp: Path, final: Path) -> None:
    """Move a finished temporary file over the final name in one step."""
    if not tmp.is_file() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        raise OSError(f"{final.name} was not written")
    os.chmod(tmp, 0o644)
    os.replace(tmp, final)


def write_json(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_report(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def completion(outputs: Outputs, settings: dict, want_render: bool) -> str | None:
    """None when the dialogue is complete for these settings, else why it must be (re)done."""
    report = read_report(outputs.report)
    if report is None:
        return "not done yet"
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


def clean_partials(folder: Path, name: str) -> None:
    """Remove temporary files an interrupted run of this dialogue left behind."""
    prefixes = tuple(f".{stem}." for stem in (name, f"{name}_contact", f"{name}_report",
                                              f"{name}_stills", f"{name}_speaker1_livelink",
                                              f"{name}_speaker2_livelink"))
    for p in folder.glob(".*.partial*"):
        if not p.name.startswith(prefixes):
            continue
        try:
            if p.is_dir():
                for q in p.iterdir():
                    q.unlink()
                p.rmdir()
            else:
                p.unlink()
        except OSError:
            pass
