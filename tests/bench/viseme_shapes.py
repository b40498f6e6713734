"""Per-viseme mean mouth shapes: what the mouth head makes, on average, for each of the 15
visemes, beside what the lip teacher asks for, rendered on a head. Not a test; look at it
(assets/figures/viseme_shapes_demo.png, viseme_shapes_character.png).

    .venv/bin/python tests/bench/viseme_shapes.py --utterances /work/data/utt/heldout \\
        [--checkpoint mouth.pt] [--count 40] [--head demo|mpfb] [--out shapes.png]

Speaker A says each utterance (B silent) through the normal generator; every 25 fps frame is
grouped by the viseme of the phone at its centre (``evaluation.phone_frames``) and the ARKit
weights of each group are averaged, the model's and the teacher's (``corpus.lip_teacher``,
made from the same phones) apart. Each mean is keyed as one frame through the normal rig
path (``rig.take.write_take``; the FLAME jaw from the mean jawOpen, everything else at rest)
and rendered from the front: the model's row above the teacher's. A table of the means of
the main mouth channels goes to stdout.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

if "bpy" not in sys.modules:  # isolate prefs and extensions from the user's own
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="timar_visemes_")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parents[1])]

import bpy  # noqa: E402
import numpy as np  # noqa: E402

from lipsync_strip import add_head, render_frames, stage  # noqa: E402
from model_core.speech.audio import load_audio  # noqa: E402
from model_core.checkpoint import load_model  # noqa: E402
from model_core.constants import FPS, JAW, MOTION_DIM  # noqa: E402
from model_core.corpus.lip_teacher import teach  # noqa: E402
from model_core.evaluation.lipsync_run import find_utterances  # noqa: E402
from model_core.evaluation.phone_frames import frame_labels, read_phones_json, viseme_ids  # noqa: E402
from model_core.face.channels import ARKIT, ARKIT_INDEX, FACE_DIM, VISEME_NAMES, jaw_rad_from_open  # noqa: E402
from model_core.generate import DialogueGenerator, GenerationOptions  # noqa: E402
from model_core.mouth_train import said_phones  # noqa: E402
from timar_blender.rig.head import resolve_head  # noqa: E402
from timar_blender.rig.preset import get_preset  # noqa: E402
from timar_blender.rig.take import write_take  # noqa: E402

TABLE = {"jaw": "jawOpen", "close": "mouthClose", "pucker": "mouthPucker", "funnel": "mouthFunnel",
         "stretch": "mouthStretchLeft", "press": "mouthPressLeft", "upUp": "mouthUpperUpLeft",
         "lowDn": "mouthLowerDownLeft", "rollLo": "mouthRollLower", "tongue": "tongueOut"}


def mean_shapes(checkpoint: str | None, utterances, seed: int, steps: int):
    """(model means (15, 67), teacher means (15, 67), frames per viseme (15,))."""
    model = load_model(checkpoint, device="cpu")
    if getattr(model, "mouth", None) is None:
        raise SystemExit("this checkpoint has no mouth head: nothing to show")
    generator = DialogueGenerator(model, GenerationOptions(seed=seed, steps=steps, device="cpu"))
    sums = np.zeros((2, len(VISEME_NAMES), FACE_DIM))
    counts = np.zeros(len(VISEME_NAMES))
    for wav, phones_json in utterances:
        audio = load_audio(str(wav))
        face = generator.run(audio, np.zeros_like(audio), allow_silent=True).face_a
        phones = read_phones_json(phones_json)
        taught = teach(said_phones(phones_json), len(face))
        vis = viseme_ids(frame_labels(phones, len(face)))
        for v in range(len(VISEME_NAMES)):
            at = vis == v
            sums[0, v] += face[at].sum(0)
            sums[1, v] += taught[at].sum(0)
            counts[v] += at.sum()
        print(f"{wav.name}: {len(face)} frames")
    means = sums / np.maximum(counts, 1)[None, :, None]
    return means[0], means[1], counts


def print_table(model_mean, teacher_mean, counts) -> None:
    print(f"{'viseme':>6} {'frames':>6}  " + " ".join(f"{c:>13}" for c in TABLE))
    for v, name in enumerate(VISEME_NAMES):
        cells = " ".join(f"{model_mean[v, ARKIT_INDEX[c]]:6.2f}/{teacher_mean[v, ARKIT_INDEX[c]]:<6.2f}"
                         for c in TABLE.values())
        print(f"{name:>6} {int(counts[v]):6d}  {cells}")
    print("(model / teacher)")


def compose(out: str, tiles, model_mean, teacher_mean, counts, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(VISEME_NAMES)
    fig, axes = plt.subplots(2, n, figsize=(1.3 * n, 4.4), dpi=100)
    for row, (means, who) in enumerate(((model_mean, "model"), (teacher_mean, "teacher"))):
        for v in range(n):
            ax = axes[row, v]
            ax.imshow(np.clip(tiles[row * n + v], 0, 1))
            ax.set_xticks([]), ax.set_yticks([])
            j, c = means[v, ARKIT_INDEX["jawOpen"]], means[v, ARKIT_INDEX["mouthClose"]]
            r = means[v, ARKIT_INDEX["mouthPucker"]] + means[v, ARKIT_INDEX["mouthFunnel"]]
            ax.set_xlabel(f"j {j:.2f} c {c:.2f}\nround {r:.2f}", fontsize=6.5)
            if row == 0:
                ax.set_title(f"{VISEME_NAMES[v]}\n({int(counts[v])} fr)", fontsize=8)
        axes[row, 0].set_ylabel(who, fontsize=9)
    fig.suptitle(title, fontsize=8)
    fig.subplots_adjust(left=0.03, right=0.995, top=0.83, bottom=0.1, wspace=0.08, hspace=0.55)
    fig.savefig(out)
    plt.close(fig)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--utterances", required=True, help="folder of NAME.wav + NAME(.phones).json")
    ap.add_argument("--checkpoint", default=None, help="default: the bundled model")
    ap.add_argument("--count", type=int, default=40, help="utterances read (the first, by name)")
    ap.add_argument("--head", default="demo", choices=("demo", "mpfb", "ict"))
    ap.add_argument("--tile", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--out", default="viseme_shapes.png")
    args = ap.parse_args(argv)

    utterances = find_utterances(args.utterances)[:args.count]
    model_mean, teacher_mean, counts = mean_shapes(args.checkpoint, utterances, args.seed, args.steps)
    print_table(model_mean, teacher_mean, counts)

    faces = np.concatenate([model_mean, teacher_mean]).astype(np.float32)     # (30, 67)
    motion = np.zeros((len(faces), MOTION_DIM), np.float32)
    motion[:, JAW.start] = jaw_rad_from_open(faces[:, ARKIT][:, ARKIT_INDEX["jawOpen"]])
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, 1.0   # one key per frame, none resampled
    head, preset_key, credit = add_head(args.head)
    preset = get_preset(preset_key)
    # no blinks, eyes still: one still frame per shape, nothing else moving
    write_take(head, motion, preset, start_frame=1, face=faces, seed=args.seed, scene=scene,
               blinks=False, intensity_eyes=0.0)
    rig = resolve_head(head, preset)
    stage(scene, rig.mesh, args.tile, args.head != "demo", 2.4)
    with tempfile.TemporaryDirectory(prefix="timar_visemes_") as tmp:
        tiles = render_frames(scene, list(range(1, len(faces) + 1)), tmp)
    ckpt = Path(args.checkpoint).name if args.checkpoint else "the bundled model"
    title = (f"Mean mouth per viseme over {len(utterances)} utterances of '{Path(args.utterances).name}' "
             f"({int(counts.sum())} frames): {ckpt}'s mouth head (top) and the lip teacher (bottom); "
             f"{credit}, preset {preset.key}")
    compose(args.out, tiles, model_mean, teacher_mean, counts, title)
    print(f"wrote {args.out} ({os.path.getsize(args.out) // 1024} KB)")


if __name__ == "__main__":
    main()
