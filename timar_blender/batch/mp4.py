# SPDX-License-Identifier: GPL-3.0-or-later
"""A small MP4 reader: the tracks a file holds (video, audio) and their durations, read
from the ISO base media boxes, so a batch can check that a movie has picture and sound
without FFmpeg tools. No bpy."""
from __future__ import annotations

import struct
from pathlib import Path

_CONTAINERS = {b"moov", b"trak", b"mdia"}
_KINDS = {b"vide": "video", b"soun": "audio"}


def _boxes(data: bytes, start: int, end: int):
    """Yield (type, payload start, payload end) of the boxes in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:                       # 64-bit size
            if pos + 16 > end:
                return
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            header = 16
        elif size == 0:                     # to the end
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def _find_moov(path: Path) -> bytes:
    """The moov box's bytes; the media data (mdat) is skipped, not read."""
    with open(path, "rb") as fh:
        while True:
            head = fh.read(8)
            if len(head) < 8:
                return b""
            size, kind = struct.unpack(">I4s", head)
            header = 8
            if size == 1:
                size = struct.unpack(">Q", fh.read(8))[0]
                header = 16
            if kind == b"moov":
                body = fh.read(size - header) if size else fh.read()
                return struct.pack(">I4s", 8 + len(body), b"moov") + body
            if size == 0:
                return b""
            fh.seek(size - header, 1)


def _track(data: bytes, start: int, end: int) -> dict | None:
    kind, seconds = None, None
    for name, s, e in _boxes(data, start, end):
        if name != b"mdia":
            continue
        for sub, s2, e2 in _boxes(data, s, e):
            if sub == b"hdlr" and e2 - s2 >= 12:
                kind = _KINDS.get(data[s2 + 8:s2 + 12], data[s2 + 8:s2 + 12].decode("latin-1"))
            elif sub == b"mdhd" and e2 > s2:
                version = data[s2]
                if version == 1 and e2 - s2 >= 32:
                    scale, dur = struct.unpack(">IQ", data[s2 + 20:s2 + 32])
                elif e2 - s2 >= 20:
                    scale, dur = struct.unpack(">II", data[s2 + 12:s2 + 20])
                else:
                    continue
                seconds = dur / scale if scale else None
    return {"kind": kind, "seconds": seconds} if kind else None


def mp4_tracks(path) -> list[dict]:
    """[{"kind": "video" | "audio" | other, "seconds": float | None}, ...]; [] when the
    file is missing or not a readable MP4 (for example a render that was cut short)."""
    path = Path(path)
    if not path.is_file():
        return []
    moov = _find_moov(path)
    if not moov:
        return []
    tracks = []
    for name, s, e in _boxes(moov, 0, len(moov)):
        for sub, s2, e2 in _boxes(moov, s, e):
            if sub == b"trak":
                t = _track(moov, s2, e2)
                if t:
                    tracks.append(t)
    return tracks


def has_picture_and_sound(path) -> bool:
    kinds = {t["kind"] for t in mp4_tracks(path)}
    return {"video", "audio"} <= kinds
