"""Live Link Face's CSV take: the layout Epic's iPhone app exports and Unreal (and most ARKit
tools) import. Pure csv + numpy.

    Timecode,BlendShapeCount,EyeBlinkLeft,...,TongueOut,HeadYaw,HeadPitch,HeadRoll,
    LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll
    00:00:00:00.000,61,0.012000,...

- The 52 ARKit weights, named in PascalCase, in the app's column order (which swaps
  JawLeft/JawRight and MouthLeft/MouthRight against Apple's list), then the head's and the
  eyes' rotations in radians (``head_angles`` gives their axes and signs).
- ``Timecode`` is ``HH:MM:SS:FF.mmm``: FF the frame within the second at the take's frame
  rate, ``.mmm`` a fraction of a frame. The file does not state the rate; the reader takes
  it from where the frame numbers wrap to the next second.
- ``BlendShapeCount`` is 61 (52 + 9 rotations); the app writes 0 on frames where it lost the
  face, and the reader skips those.

The reader is lenient where the app and other tools differ (column order and case, a byte
order mark, CRLF, a trailing comma, blank lines, missing rotation columns, ``;`` drop-frame
timecodes, a take that crosses midnight) and strict where a file is broken: every problem
is a ``LiveLinkError`` naming the line and what to do.
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import LiveLinkError
from .channels import ARKIT_DIM, ARKIT_NAMES

# The app's column order of the 52 (Apple's order with JawRight/JawLeft and
# MouthRight/MouthLeft swapped), spelled as the app spells them.
_APP_ORDER = list(ARKIT_NAMES)
for _a, _b in (("jawLeft", "jawRight"), ("mouthLeft", "mouthRight")):
    _i, _j = _APP_ORDER.index(_a), _APP_ORDER.index(_b)
    _APP_ORDER[_i], _APP_ORDER[_j] = _APP_ORDER[_j], _APP_ORDER[_i]
CSV_ARKIT_ORDER = tuple(_APP_ORDER)
CSV_ARKIT_COLUMNS = tuple(n[0].upper() + n[1:] for n in CSV_ARKIT_ORDER)
HEAD_COLUMNS = ("HeadYaw", "HeadPitch", "HeadRoll")
EYE_COLUMNS = ("LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
               "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
ROTATION_COLUMNS = HEAD_COLUMNS + EYE_COLUMNS
HEADER = ("Timecode", "BlendShapeCount") + CSV_ARKIT_COLUMNS + ROTATION_COLUMNS
BLEND_SHAPE_COUNT = len(CSV_ARKIT_COLUMNS) + len(ROTATION_COLUMNS)     # 61, as the app writes
# Frame rates a take may be recorded at; the reader snaps to the smallest that fits.
STANDARD_RATES = (24, 25, 30, 48, 50, 60, 120)
DECIMALS = 6                        # written precision: 1e-6 of a weight or a radian

_TIMECODE = re.compile(r"^(\d{1,3}):(\d{1,2}):(\d{1,2})[:;](\d{1,3})(?:\.(\d+))?$")


@dataclass
class LiveLinkTake:
    """One head's take. ``arkit`` (N, 52) in Apple's order (``channels.ARKIT_NAMES``),
    ``head`` (N, 3) yaw/pitch/roll and ``eyes`` (N, 6) left then right yaw/pitch/roll in
    radians, ``times`` (N,) seconds from the first frame, ``fps`` the recording rate."""
    times: np.ndarray
    arkit: np.ndarray
    head: np.ndarray
    eyes: np.ndarray
    fps: float
    missing: list[str] = field(default_factory=list)   # ARKit names the file had no column for
    skipped_frames: int = 0                              # BlendShapeCount 0 (face lost)


# -- writing ---------------------------------------------------------------------------------

def format_timecode(frame: int, fps: int) -> str:
    """Frame number -> ``HH:MM:SS:FF.000`` at ``fps`` (whole frames only)."""
    seconds, ff = divmod(int(frame), int(fps))
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}.000"


def write_livelink_csv(path, take: LiveLinkTake) -> None:
    """Write ``take`` (one row per frame at the whole-number rate ``take.fps``)."""
    fps = int(round(take.fps))
    if fps <= 0 or abs(take.fps - fps) > 1e-9:
        raise ValueError(f"a Live Link Face take is written at a whole frame rate, not {take.fps}")
    order = [ARKIT_NAMES.index(n) for n in CSV_ARKIT_ORDER]
    values = np.concatenate([np.clip(take.arkit, 0.0, 1.0)[:, order], take.head, take.eyes],
                            axis=1)
    if not np.isfinite(values).all():
        raise LiveLinkError("the head's curves hold NaN or infinite values; nothing was written")
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(HEADER)
        for i, row in enumerate(values):
            out.writerow([format_timecode(i, fps), BLEND_SHAPE_COUNT]
                         + [f"{v:.{DECIMALS}f}" for v in row])


# -- reading ---------------------------------------------------------------------------------

def _key(name: str) -> str:
    return name.strip().lstrip("\ufeff").lower()


def _parse_timecode(text: str, where: str) -> tuple[int, int, float]:
    """-> (whole seconds, frame, fraction of a frame)."""
    m = _TIMECODE.match(text.strip())
    if not m:
        raise LiveLinkError(f"{where}: timecode {text.strip()!r} is not HH:MM:SS:FF.mmm; "
                            "export the take again from Live Link Face")
    hh, mm, ss, ff = (int(g) for g in m.groups()[:4])
    if mm > 59 or ss > 59:
        raise LiveLinkError(f"{where}: timecode {text.strip()!r} has minutes or seconds over 59")
    frac = float("0." + m.group(5)) if m.group(5) else 0.0
    return hh * 3600 + mm * 60 + ss, ff, frac


def _infer_fps(stamps: list[tuple[int, int, float]]) -> int:
    """The smallest standard rate above every frame number, and at least the frame count
    of each whole second the take crosses (frame numbers wrap to 0 at the rate)."""
    need = max(ff for _, ff, _ in stamps) + 1
    for (s0, f0, _), (s1, f1, _) in zip(stamps, stamps[1:]):
        if s1 == s0 + 1 and f1 < f0:
            need = max(need, f0 + 1)
    for rate in STANDARD_RATES:
        if rate >= need:
            return rate
    return need


def _float(text: str, where: str, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise LiveLinkError(f"{where}: {column} is {text.strip()!r}, not a number") from None
    if not math.isfinite(value):
        raise LiveLinkError(f"{where}: {column} is {text.strip()}; a take holds finite numbers")
    return value


def read_livelink_csv(path, fps: float | None = None) -> LiveLinkTake:
    """Read a Live Link Face CSV take; ``fps`` overrides the rate inferred from the
    timecodes (needed only for takes shorter than a second recorded above 24 fps)."""
    name = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise LiveLinkError(f"Live Link Face CSV not found: {name}") from None
    except UnicodeDecodeError:
        raise LiveLinkError(f"{name}: not a text CSV file (export the take as CSV from "
                            "Live Link Face)") from None
    except OSError as exc:
        raise LiveLinkError(f"cannot read {name} ({exc.strerror or exc})") from None
    rows = [(i + 1, r) for i, r in enumerate(rows) if any(cell.strip() for cell in r)]
    if not rows:
        raise LiveLinkError(f"{name}: the file is empty; export the take again from Live Link Face")
    header_line, header = rows[0]
    while header and not header[-1].strip():          # a trailing comma
        header = header[:-1]
    columns = {_key(c): i for i, c in enumerate(header)}
    if "timecode" not in columns:
        raise LiveLinkError(f"{name}: line {header_line} has no Timecode column; a Live Link "
                            "Face CSV starts with Timecode,BlendShapeCount,EyeBlinkLeft,...")
    arkit_cols = {n: columns.get(n.lower()) for n in ARKIT_NAMES}
    missing = [n for n, c in arkit_cols.items() if c is None]
    if len(missing) == ARKIT_DIM:
        raise LiveLinkError(f"{name}: no ARKit blendshape column (EyeBlinkLeft ... TongueOut) "
                            "in its header; is it a Live Link Face CSV?")
    rot_cols = [columns.get(c.lower()) for c in ROTATION_COLUMNS]
    count_col = columns.get("blendshapecount")
    stamps, values, skipped = [], [], 0
    for line, row in rows[1:]:
        where = f"{name}, line {line}"
        while len(row) > len(header) and not row[-1].strip():
            row = row[:-1]
        if len(row) != len(header):
            raise LiveLinkError(f"{where}: {len(row)} fields where the header has {len(header)}; "
                                "the file is cut or was edited by hand")
        if count_col is not None and _float(row[count_col], where, "BlendShapeCount") == 0:
            skipped += 1                              # the app lost the face on this frame
            continue
        stamps.append(_parse_timecode(row[columns["timecode"]], where))
        weights = [_float(row[c], where, header[c].strip()) if c is not None else 0.0
                   for c in arkit_cols.values()]
        rotations = [_float(row[c], where, header[c].strip()) if c is not None else 0.0
                     for c in rot_cols]
        values.append(weights + rotations)
    if not values:
        raise LiveLinkError(f"{name}: no frame with a tracked face (every BlendShapeCount is "
                            "0, or there are no rows under the header)")
    rate = float(fps) if fps else float(_infer_fps(stamps))
    times = np.array([s + (ff + frac) / rate for s, ff, frac in stamps])
    times = _unwrap_midnight(times)
    back = np.nonzero(np.diff(times) < -0.5 / rate)[0]
    if len(back):
        raise LiveLinkError(f"{name}: the timecode goes back at data row {back[0] + 2} "
                            "(rows out of order, or two takes in one file)")
    keep = np.concatenate([[True], np.diff(times) > 1e-9])     # repeated timecodes: the first
    data = np.asarray(values, dtype=np.float64)[keep]
    times = times[keep]
    return LiveLinkTake(times=times - times[0], arkit=np.clip(data[:, :ARKIT_DIM], 0.0, 1.0),
                        head=data[:, ARKIT_DIM:ARKIT_DIM + 3], eyes=data[:, ARKIT_DIM + 3:],
                        fps=rate, missing=missing, skipped_frames=skipped)


def _unwrap_midnight(times: np.ndarray) -> np.ndarray:
    """A take recorded across midnight: its timecode restarts at 00:00:00."""
    day = 24 * 3600.0
    jumps = np.diff(times) < -day / 2
    return times + day * np.concatenate([[0], np.cumsum(jumps)])
