"""The figure of tests/bench/lipsync_strip.py, without Blender: rendered frames in a labelled
strip (time, phone and viseme under each frame, the model's own viseme and its jaw/close
values), and below it the mouth's curves over the whole utterance with the phone boundaries
and the strip's second shaded. matplotlib (the model card's plotting library) and Pillow
(matplotlib's own dependency) only."""
from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from model_core.constants import FPS  # noqa: E402
from model_core.face.channels import ARKIT_INDEX, VISEME_NAMES, VISEMES  # noqa: E402
from model_core.face.visemes import viseme_of  # noqa: E402

# the curves drawn below the strip: label -> ARKit channels averaged
CURVES = {"jawOpen": ("jawOpen",), "mouthClose": ("mouthClose",),
          "mouthPucker": ("mouthPucker",),
          "mouthStretch (L+R)/2": ("mouthStretchLeft", "mouthStretchRight")}
CURVE_COLOURS = ("tab:orange", "tab:red", "tab:blue", "tab:green")
# a frame's label colour by its (true) viseme: what the eye should check on that frame
LABEL_COLOURS = {"PP": "tab:red", "oh": "tab:blue", "ou": "tab:blue", "sil": "0.45",
                 "aa": "tab:orange"}
SEALED = 0.05           # lips sealed where jawOpen - mouthClose <= this (evaluation/lipsync.py)


@dataclass
class FrameLabel:
    frame: int          # 0-based 25 fps frame of the utterance
    phone: str          # ARPAbet, "sil" for silence
    viseme: str         # the phone's viseme (the ground truth)


def curve(face: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    return np.mean([face[:, ARKIT_INDEX[n]] for n in names], axis=0)


def model_viseme(face: np.ndarray) -> list[str]:
    """The model's most likely viseme per frame."""
    return [VISEME_NAMES[i] for i in face[:, VISEMES].argmax(axis=1)]


def tile_text(label: FrameLabel, face: np.ndarray) -> str:
    row = face[label.frame]
    jaw, close = row[ARKIT_INDEX["jawOpen"]], row[ARKIT_INDEX["mouthClose"]]
    sealed = " seal" if jaw - close <= SEALED else ""
    return (f"{label.frame / FPS:.2f} s\n{label.phone} /{label.viseme}/\n"
            f"model {model_viseme(face[label.frame:label.frame + 1])[0]}\n"
            f"j{jaw:.2f} c{close:.2f}{sealed}")


def _strip(fig, grid, tiles, labels, face, columns):
    rows = -(-len(tiles) // columns)
    sub = grid.subgridspec(rows, columns, hspace=0.75, wspace=0.04)
    for i, (img, label) in enumerate(zip(tiles, labels)):
        ax = fig.add_subplot(sub[i // columns, i % columns])
        ax.imshow(img, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        colour = LABEL_COLOURS.get(label.viseme, "black")
        for spine in ax.spines.values():
            spine.set_edgecolor(colour)
            spine.set_linewidth(2.0 if label.viseme in LABEL_COLOURS else 0.6)
        ax.set_xlabel(tile_text(label, face), fontsize=6.5, color=colour, labelpad=2,
                      linespacing=1.15)


def _curves(fig, grid, face, phones, window):
    ax = fig.add_subplot(grid)
    t = np.arange(len(face)) / FPS
    for (name, chans), colour in zip(CURVES.items(), CURVE_COLOURS):
        ax.plot(t, curve(face, chans), color=colour, lw=1.4, label=name)
    ax.axvspan(*window, color="0.85", zorder=0, label="the strip's second")
    for p in phones:
        if p.label in ("p", "b", "m"):
            ax.axvspan(p.start, p.end, color="tab:red", alpha=0.12, lw=0)
        ax.axvline(p.start, color="0.6", lw=0.5)
        ax.text(0.5 * (p.start + p.end), 1.04, p.label, ha="center", va="bottom",
                fontsize=7, color=LABEL_COLOURS.get(viseme_of(p.label), "black"),
                transform=ax.get_xaxis_transform())
    ax.set_xlim(0, t[-1] if len(t) else 1)
    ax.set_ylim(-0.02, 1.0)
    ax.set_xlabel("seconds (phone boundaries grey, p/b/m shaded red)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="upper right", ncol=5, framealpha=0.9)


def compose(out: str, tiles: list[np.ndarray], labels: list[FrameLabel], face: np.ndarray,
            phones, window: tuple[float, float], title: str, columns: int = 13,
            tile_inches: float = 1.05, dpi: int = 110) -> int:
    """Write the figure to ``out`` as a palette PNG; returns its size in bytes."""
    rows = -(-len(tiles) // columns)
    strip_h = rows * (tile_inches + 0.75)
    fig = plt.figure(figsize=(columns * tile_inches, strip_h + 2.6))
    grid = fig.add_gridspec(2, 1, height_ratios=(strip_h, 2.0), hspace=0.32,
                            left=0.03, right=0.99, top=1 - 0.35 / (strip_h + 2.6), bottom=0.06)
    width = int(columns * tile_inches * 15)       # characters per line at 9 pt
    fig.suptitle("\n".join(textwrap.fill(line, width) for line in title.splitlines()), fontsize=9)
    _strip(fig, grid[0], tiles, labels, face, columns)
    _curves(fig, grid[1], face, phones, window)
    buf = io.BytesIO()
    fig.savefig(buf, dpi=dpi, format="png")
    plt.close(fig)
    img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    img.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    with open(out, "rb") as f:
        return len(f.read())
