"""The upper face over the bundled sample dialogue: per head, its own speech (grey), its pitch
and generated neck pitch, and browInnerUp and mouthSmile with the upper face (the mouth
head's smile without it, dashed). Brow bumps inside the grey are pitch accents, smiles and
brow raises outside it reactions to the head's own nods. Not a test; look at it
(assets/figures/upper_face.png).

    .venv/bin/python tests/bench/upper_face_figure.py [--seconds 12] [--out assets/figures/upper_face.png]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from model_core.assets import bundled_checkpoint  # noqa: E402
from model_core.checkpoint import load_model  # noqa: E402
from model_core.constants import FPS, NECK  # noqa: E402
from model_core.corpus.features import speech_features  # noqa: E402
from model_core.face.channels import ARKIT_INDEX  # noqa: E402
from model_core.generate import DialogueGenerator, GenerationOptions  # noqa: E402

SAMPLE = REPO / "assets" / "sample"
TRACKS = (SAMPLE / "sample_speaker1.wav", SAMPLE / "sample_speaker2.wav")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=12.0)
    p.add_argument("--start", type=float, default=0.0)
    p.add_argument("--out", default=str(REPO / "assets" / "figures" / "upper_face.png"))
    args = p.parse_args()
    model = load_model(bundled_checkpoint(), "cpu")
    runs = {up: DialogueGenerator(model, GenerationOptions(upper_face=up)).run(*map(str, TRACKS))
            for up in (True, False)}
    lo, hi = int(args.start * FPS), int((args.start + args.seconds) * FPS)
    time = np.arange(lo, hi) / FPS
    fig, axes = plt.subplots(4, 1, figsize=(9, 5.6), sharex=True,
                             gridspec_kw={"height_ratios": [1, 1.2, 1, 1.2]})
    for h, name in enumerate("AB"):
        feats = speech_features(sf.read(str(TRACKS[h]), dtype="float32")[0])
        face = getattr(runs[True], f"face_{name.lower()}")[lo:hi]
        plain = getattr(runs[False], f"face_{name.lower()}")[lo:hi]
        motion = getattr(runs[True], f"motion_{name.lower()}")[lo:hi]
        top, bottom = axes[2 * h], axes[2 * h + 1]
        active = feats.active[lo:hi]
        for ax in (top, bottom):
            ax.fill_between(time, 0, 1, where=active > 0.5, transform=ax.get_xaxis_transform(),
                            color="0.9", lw=0)
        f0 = np.where(feats.f0[lo:hi] > 0, feats.f0[lo:hi], np.nan)
        top.plot(time, f0, color="tab:purple", lw=1)
        top.set_ylabel(f"{name}: f0 Hz", fontsize=8)
        neck = top.twinx()
        pitch = np.degrees(motion[:, NECK.start])
        neck.plot(time, pitch, color="tab:green", lw=1)
        neck.set_ylabel("neck pitch deg\n(> 0 chin down)", fontsize=7, color="tab:green")
        bottom.plot(time, face[:, ARKIT_INDEX["browInnerUp"]], color="tab:blue", lw=1.4,
                    label="browInnerUp")
        bottom.plot(time, face[:, ARKIT_INDEX["mouthSmileLeft"]], color="tab:red", lw=1.4,
                    label="mouthSmile")
        bottom.plot(time, plain[:, ARKIT_INDEX["mouthSmileLeft"]], color="tab:red", lw=0.8,
                    ls="--", label="mouthSmile, mouth head only")
        bottom.set_ylim(0, 0.6)
        bottom.set_ylabel(f"{name}: ARKit", fontsize=8)
        bottom.legend(fontsize=6, loc="upper right", ncol=3)
    axes[0].set_title("Upper face on the sample dialogue (grey: the head's own speech)", fontsize=9)
    axes[-1].set_xlabel("s")
    fig.tight_layout()
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
