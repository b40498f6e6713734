# SPDX-License-Identifier: GPL-3.0-or-later
"""What a batch processes: dialogues from the command line, the bundled sample, or a
manifest (CSV or JSON), and the shard of them this process takes. No bpy.

Manifest columns (CSV header or JSON keys): ``audio_a``, ``audio_b`` (required); ``name``,
``template``, ``head_a``, ``head_b``, ``preset``, ``motion_a`` or ``motion_b`` (optional: a
FLAME npz or a Live Link Face CSV take keyed onto that head as it is, only the other head
generated), ``dials_a``, ``dials_b`` (optional: a head's strengths,
``jaw=1.2,lips=1,expression=1,head=0.5,eyes=1``). Relative paths are relative to the
manifest's folder. JSON is a list of objects, or ``{"dialogues": [...]}``."""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..core import assets, input_files, outputs
from ..errors import ManifestError
from ..rig.dials import parse_dials

safe_name = outputs.safe_name     # one definition, shared with the command line

COLUMNS = ("audio_a", "audio_b", "name", "template", "head_a", "head_b", "preset",
           "motion_a", "motion_b", "dials_a", "dials_b")
FILE_COLUMNS = ("audio_a", "audio_b", "template", "motion_a", "motion_b")
REQUIRED = ("audio_a", "audio_b")
SAMPLE_NAME = "sample"
_SPEAKER_SUFFIX = re.compile(r"[_-]?(speaker|spk|s)?[_-]?(1|a)$", re.IGNORECASE)


@dataclass(frozen=True)
class DialogueSpec:
    """One row of the batch: the files and names a dialogue is made from."""
    name: str
    audio_a: str
    audio_b: str
    template: str = ""
    head_a: str = ""
    head_b: str = ""
    preset: str = ""          # "" = timar_demo for the demo heads, auto-detected for templates
    motion_a: str = ""        # a FLAME npz or Live Link Face CSV for head A (copied through),
    #                           "" = generate
    motion_b: str = ""
    dials_a: str = ""         # head A's strengths (rig/dials.py), "" = all 1
    dials_b: str = ""

    def inputs(self) -> dict:
        return {k: getattr(self, k) for k in COLUMNS}


@dataclass(frozen=True)
class BadRow:
    """A manifest row that cannot be used: where it is and why. The batch keeps it in its
    place (shards count rows) and fails it in the summary; the other rows go on."""
    where: str
    problem: str

    @property
    def name(self) -> str:
        return self.where


def default_name(audio_a: str) -> str:
    """'talk01_speaker1.wav' -> 'talk01'."""
    stem = Path(audio_a).stem
    return safe_name(_SPEAKER_SUFFIX.sub("", stem) or stem)


def make_dialogue(row: dict, base: Path | None = None, where: str = "") -> DialogueSpec:
    """A Dialogue from a row of strings; relative paths resolved against ``base``."""
    unknown = sorted(k for k in row if k and k not in COLUMNS)
    if unknown:
        raise ManifestError(f"{where}unknown column(s) {', '.join(unknown)}; "
                            f"use {', '.join(COLUMNS)}")
    vals = {k: str(row.get(k) or "").strip() for k in COLUMNS}
    for key in REQUIRED:
        if not vals[key]:
            raise ManifestError(f"{where}'{key}' is empty; every dialogue needs audio_a and audio_b")
    if vals["motion_a"] and vals["motion_b"]:
        raise ManifestError(f"{where}give motion_a or motion_b, not both: with both heads "
                            "given there is nothing to generate")
    for key in FILE_COLUMNS + ("preset",):
        if key == "preset" and not vals[key].lower().endswith(".json"):
            continue            # a shipped preset's key, not a file
        if vals[key] and base is not None and not Path(vals[key]).is_absolute():
            vals[key] = str((base / vals[key]).resolve())
    if vals["template"] and not (vals["head_a"] and vals["head_b"]):
        raise ManifestError(f"{where}a template needs head_a and head_b: the names of the two "
                            "head objects in it")
    if vals["head_a"] and vals["head_a"] == vals["head_b"]:
        raise ManifestError(f"{where}head_a and head_b are both '{vals['head_a']}': the two "
                            "speakers need two different head objects (one head cannot play "
                            "both sides; the second take would replace the first)")
    if (vals["head_a"] or vals["head_b"]) and not vals["template"]:
        raise ManifestError(f"{where}head_a/head_b name objects of a template: "
                            "give the template .blend too")
    for key in ("dials_a", "dials_b"):
        try:
            parse_dials(vals[key])
        except ValueError as exc:
            raise ManifestError(f"{where}{key}: {exc}") from None
    vals["name"] = safe_name(vals["name"]) if vals["name"] else default_name(vals["audio_a"])
    return DialogueSpec(**vals)


def _read_text(path: Path) -> str:
    """The manifest's text: UTF-8 (with or without a BOM) or UTF-16 with a BOM."""
    data = path.read_bytes()
    try:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not UTF-8 or UTF-16 text (byte {exc.start}: {exc.reason}); "
                            "save the manifest as UTF-8") from None


def _rows_from_csv(path: Path) -> list[tuple[str, dict]]:
    import io

    fh = io.StringIO(_read_text(path), newline="")
    sample = fh.read(4096)
    fh.seek(0)
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(fh, dialect=dialect)
    if not reader.fieldnames or not set(REQUIRED) <= {f.strip() for f in reader.fieldnames}:
        raise ManifestError(f"{path}: the first line must be a header naming at least "
                            "audio_a,audio_b (optional: name,template,head_a,head_b,preset,motion_a or motion_b)")
    rows = []
    for row in reader:
        where = f"line {reader.line_num}"
        if None in row:
            rows.append((where, ManifestError("more fields than the header has columns "
                                              "(quote values that hold commas)")))
        elif any((v or "").strip() for v in row.values()):    # skip blank lines
            rows.append((where, {k.strip(): v for k, v in row.items()}))
    return rows


def _rows_from_json(path: Path) -> list[tuple[str, dict]]:
    try:
        data = json.loads(_read_text(path))
    except ValueError as exc:
        raise ManifestError(f"{path}: not valid JSON ({exc})") from None
    if isinstance(data, dict):
        data = data.get("dialogues")
    if not isinstance(data, list):
        raise ManifestError(f"{path}: expected a list of dialogue objects, or "
                            "{\"dialogues\": [...]}")
    return [(f"entry {i + 1}", r if isinstance(r, dict) else ManifestError(
        f"expected an object with audio_a and audio_b, got {type(r).__name__}"))
        for i, r in enumerate(data)]


def load_manifest(path) -> list[DialogueSpec]:
    """Read a CSV or JSON manifest; raises ManifestError naming the file and listing
    every bad row (line for CSV, entry for JSON) at once."""
    path = Path(path)
    rows = read_manifest(path)
    problems = [f"  {r.where}: {r.problem}" for r in rows if isinstance(r, BadRow)]
    if problems:
        raise ManifestError(f"{path}: {len(problems)} of {len(rows)} dialogues cannot be used "
                            "(fix them and run again; nothing was processed):\n"
                            + "\n".join(problems))
    return rows


def read_manifest(path) -> list:
    """Every row of a CSV or JSON manifest in order: a DialogueSpec, or a BadRow saying
    where and why it cannot be used. Raises ManifestError only when the file as a whole
    cannot be used (missing, not a manifest, no rows, two dialogues of one name)."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest not found: {path}")
    input_files.check_input_file(path, "manifest", ManifestError, "manifest")
    if path.suffix.lower() == ".json":
        rows = _rows_from_json(path)
    elif path.suffix.lower() in (".csv", ".tsv", ".txt"):
        rows = _rows_from_csv(path)
    else:
        raise ManifestError(f"{path}: a manifest must be .csv or .json")
    if not rows:
        raise ManifestError(f"{path}: no dialogues in the manifest")
    base = path.resolve().parent
    dialogues: list = []
    for where, row in rows:
        try:
            if isinstance(row, ManifestError):
                raise row
            dialogues.append(make_dialogue(row, base))
        except ManifestError as exc:
            dialogues.append(BadRow(where, str(exc)))
    check_unique(dialogues, str(path))
    return dialogues


def check_unique(dialogues: list[DialogueSpec], source: str) -> None:
    seen: dict[str, int] = {}
    for i, d in enumerate(dialogues):
        if isinstance(d, BadRow):
            continue
        if d.name.lower() in seen:
            raise ManifestError(f"{source}: two dialogues are named '{d.name}' (entries "
                                f"{seen[d.name.lower()] + 1} and {i + 1}); give each a unique name")
        seen[d.name.lower()] = i


def sample_dialogue() -> DialogueSpec:
    """The bundled sample dialogue (model_core.assets), named 'sample'."""
    pair = assets.sample_dialogue()
    if pair is None:
        raise ManifestError(f"the bundled sample dialogue is missing ({assets.assets_dir() / 'sample'}); "
                            "use --audio-a/--audio-b or --manifest")
    return DialogueSpec(SAMPLE_NAME, str(pair[0]), str(pair[1]))


def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' -> (I, N) with 0 <= I < N."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m or int(m.group(2)) < 1 or int(m.group(1)) >= int(m.group(2)):
        raise ManifestError(f"--shard must be I/N with 0 <= I < N (e.g. 0/4), got '{text}'")
    return int(m.group(1)), int(m.group(2))


def select_shard(dialogues: list[DialogueSpec], index: int, count: int) -> list[tuple[int, DialogueSpec]]:
    """Every count-th dialogue starting at index, with its position in the whole list."""
    return [(i, d) for i, d in enumerate(dialogues) if i % count == index]
