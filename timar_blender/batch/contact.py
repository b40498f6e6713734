# SPDX-License-Identifier: GPL-3.0-or-later
"""The contact sheet: a few rendered frames in a grid, one PNG, composed with numpy and
written through Blender's image API (no imaging library needed)."""
from __future__ import annotations

import math
import os

import bpy
import numpy as np

from ..errors import DialogueError


class ContactRangeError(DialogueError, ValueError):
    """--contact-range names no frame of the dialogue (a user error, and a ValueError as
    parse_contact_range's are)."""

MAX_TILES = 48
TILE_MAX_WIDTH = 480
GAP = 4                  # pixels between tiles
BACKGROUND = 0.12        # grey between tiles


def parse_contact_range(text: str | None) -> tuple[int, int] | None:
    """``FIRST:LAST`` (scene frames, inclusive) -> (first, last); None stays None."""
    if text is None:
        return None
    try:
        first, last = (int(v) for v in text.split(":"))
    except ValueError:
        raise ValueError(f"--contact-range must be FIRST:LAST frames, e.g. 100:124, got '{text}'") from None
    if first < 0 or last < first:
        raise ValueError(f"--contact-range {text}: need 0 <= FIRST <= LAST")
    return first, last


def contact_frames(start: int, end: int, step: int = 0,
                   only: tuple[int, int] | None = None) -> list[int]:
    """The sheet's frames: :func:`pick_frames` over the scene's range, or with ``only``
    every ``step``-th frame (default every frame: motion over consecutive frames) of that
    range clipped to the scene's."""
    if only is None:
        return pick_frames(start, end, step)
    first, last = max(start, only[0]), min(end, only[1])
    if last < first:
        raise ContactRangeError(f"--contact-range {only[0]}:{only[1]} lies outside the scene's "
                            f"frames {start}-{end}; choose frames within them")
    return pick_frames(first, last, step or 1)


def pick_frames(start: int, end: int, step: int = 0, tiles: int = 12) -> list[int]:
    """Frames for the sheet: every ``step``-th from ``start`` (capped at MAX_TILES, spread
    evenly), or with step 0, ``tiles`` frames spread evenly over the range."""
    if end < start:
        return [start]
    if step > 0:
        frames = list(range(start, end + 1, step))
        if len(frames) <= MAX_TILES:
            return frames
        tiles = MAX_TILES
    count = min(tiles, end - start + 1)
    return sorted({int(round(v)) for v in np.linspace(start, end, count)})


def _read_rgb(path: str) -> np.ndarray:
    """(H, W, 3) float32 rows top to bottom, the file's stored values in 0..1."""
    img = bpy.data.images.load(path, check_existing=False)
    try:
        w, h = img.size
        if w == 0 or h == 0:
            raise ValueError(f"cannot read the rendered frame {path}")
        px = np.empty(w * h * 4, dtype=np.float32)
        img.pixels.foreach_get(px)
    finally:
        bpy.data.images.remove(img)
    return px.reshape(h, w, 4)[::-1, :, :3]


def _shrink(tile: np.ndarray, max_width: int) -> np.ndarray:
    """Box-filter down by an integer factor until at most max_width wide."""
    factor = math.ceil(tile.shape[1] / max_width)
    if factor <= 1:
        return tile
    h, w = (tile.shape[0] // factor) * factor, (tile.shape[1] // factor) * factor
    t = tile[:h, :w].reshape(h // factor, factor, w // factor, factor, 3)
    return t.mean(axis=(1, 3))


def compose(paths: list[str], columns: int = 0) -> np.ndarray:
    """(H, W, 3) grid of the images in ``paths`` (all the same size), row-major."""
    if not paths:
        raise ValueError("no frames to put on the contact sheet")
    tiles = [_shrink(_read_rgb(p), TILE_MAX_WIDTH) for p in paths]
    th, tw = tiles[0].shape[:2]
    cols = columns or min(len(tiles), max(1, math.ceil(math.sqrt(len(tiles) * 16 / 9 * th / tw))))
    rows = math.ceil(len(tiles) / cols)
    sheet = np.full((rows * th + (rows + 1) * GAP, cols * tw + (cols + 1) * GAP, 3),
                    BACKGROUND, dtype=np.float32)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        y, x = GAP + r * (th + GAP), GAP + c * (tw + GAP)
        sheet[y:y + t.shape[0], x:x + t.shape[1]] = t[:th, :tw]
    return sheet


def save_png(rgb: np.ndarray, path: str) -> None:
    """Write (H, W, 3) values 0..1 as an 8-bit PNG at ``path``."""
    h, w = rgb.shape[:2]
    img = bpy.data.images.new("TIMAR contact sheet", w, h, alpha=False)
    try:
        rgba = np.ones((h, w, 4), dtype=np.float32)
        rgba[..., :3] = np.clip(rgb, 0.0, 1.0)
        img.pixels.foreach_set(rgba[::-1].ravel())
        img.filepath_raw = path
        img.file_format = 'PNG'
        img.save()
    finally:
        bpy.data.images.remove(img)
    if not os.path.isfile(path):
        raise OSError(f"Blender did not write the contact sheet {path}")


def write_contact_sheet(paths: list[str], out_path: str) -> tuple[int, int]:
    """Compose the frames in ``paths`` and write them to ``out_path``; returns (W, H)."""
    sheet = compose(paths)
    save_png(sheet, out_path)
    return sheet.shape[1], sheet.shape[0]
