"""A labelled lip-sync strip: one second (25 consecutive frames) of a head saying an
utterance, rendered small with Workbench from the front close on the mouth, the phone and
its viseme written under each frame, and below it jawOpen / mouthClose / mouthPucker /
mouthStretch over the whole utterance with the phone boundaries. Not a test; look at it
(assets/figures/lipsync_strip_demo.png, lipsync_strip_character.png).

    .venv/bin/python -m model_core phones --say "Bob bought a blue boat, maybe pea soup too" \\
        --voice flite:rms --wav x.wav > x.json
    .venv/bin/python tests/bench/lipsync_strip.py --wav x.wav --phones x.json \\
        [--checkpoint mouth.pt] [--head demo|mpfb|ict] [--start SECONDS] [--out strip.png]

Speaker A says the utterance (padded with ``--pad`` s of silence at both ends, so the rest
pose shows) while B is silent; A's FLAME motion and face frames are keyed onto the head
through the normal rig path (``timar_blender.rig.take.write_take``: the timar_demo preset on
the demo head, the arkit preset on a character, every mesh of it). ``--head mpfb`` / ``ict``
import the test characters of tests/characters.py (``$TIMAR_CHARACTERS`` names their folder).
``--teacher`` keys the lip teacher's face frames (made from the phones) instead of the
model's, to judge the preset and the head apart from the model. ``--start`` (seconds into
the padded utterance) picks the second; by default the second with
the most to check: bilabials, rounded and open vowels, a pause. A table of every frame of
that second (phone, viseme, the model's viseme, the mouth channels) goes to stdout.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

if "bpy" not in sys.modules:  # isolate prefs and extensions from the user's own
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="timar_strip_")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bpy  # noqa: E402
import numpy as np  # noqa: E402
from mathutils import Vector  # noqa: E402

from characters import import_character  # noqa: E402  (tests/characters.py)
from lipsync_strip_figure import CURVES, FrameLabel, compose, curve, model_viseme  # noqa: E402
from model_core.checkpoint import load_model  # noqa: E402
from model_core.constants import FPS, SAMPLE_RATE  # noqa: E402
from model_core.corpus.lip_teacher import teach  # noqa: E402
from model_core.evaluation.phone_frames import PhoneSpan, frame_labels, read_phones_json  # noqa: E402
from model_core.face.channels import ARKIT_INDEX, face_from_flame  # noqa: E402
from model_core.face.visemes import viseme_of  # noqa: E402
from model_core.generate import DialogueGenerator, GenerationOptions  # noqa: E402
from model_core.mouth_train import said_phones  # noqa: E402
from model_core.speech.audio import load_audio  # noqa: E402
from timar_blender.demo_head import build_demo_head  # noqa: E402
from timar_blender.rig.head import resolve_head  # noqa: E402
from timar_blender.rig.preset import get_preset  # noqa: E402
from timar_blender.rig.take import write_take  # noqa: E402

STRIP_FRAMES = 25                       # one second at 25 fps
# Workbench colours of a character's meshes (its files carry no materials), by name
CHARACTER_COLOURS = (("teeth", (0.92, 0.90, 0.84)), ("tongue", (0.70, 0.22, 0.24)),
                     ("lash", (0.05, 0.04, 0.04)), ("brow", (0.08, 0.05, 0.04)),
                     ("eye", (0.93, 0.93, 0.93)), ("gum", (0.75, 0.35, 0.38)))
SKIN = (0.80, 0.60, 0.50)
# mouth widths (what mouthClose moves) across a frame: from the nose to the chin; ICT's
# mouthClose reaches further out over the cheeks
ZOOM = {"ict": 1.6}


# ------------------------------------------------------------------ generation
def generate(checkpoint: str | None, audio: np.ndarray, seed: int, steps: int):
    """Speaker A says ``audio``, B is silent: A's (T, 56) motion and (T, 67) face frames
    (what FLAME implies where the model has no mouth head) and whether they are the mouth
    head's."""
    model = load_model(checkpoint, device="cpu")
    options = GenerationOptions(seed=seed, steps=steps, device="cpu")
    result = DialogueGenerator(model, options).run(audio, np.zeros_like(audio), allow_silent=True)
    if getattr(model, "mouth", None) is None or result.face_a is None:
        return result.motion_a, face_from_flame(result.motion_a), False
    return result.motion_a, result.face_a, True


def pad_utterance(audio, phones, pad: float):
    """``pad`` seconds of digital silence before and after; phones shifted to match."""
    n = int(round(pad * SAMPLE_RATE))
    audio = np.concatenate([np.zeros(n, audio.dtype), audio, np.zeros(n, audio.dtype)])
    shifted = [PhoneSpan("sil", 0.0, pad)] if pad > 0 else []
    shifted += [PhoneSpan(p.label, p.start + pad, p.end + pad) for p in phones]
    end = len(audio) / SAMPLE_RATE
    if pad > 0:
        shifted.append(PhoneSpan("sil", shifted[-1].end, end))
    return audio, shifted


def teacher_face(phones_json: str, pad: float, n_frames: int) -> np.ndarray:
    """The lip teacher's face frames for the phones (their stress kept), shifted by ``pad``:
    what the mouth head learns, to judge the preset apart from the model."""
    phones = [(p["label"], p["start"] + pad, p["end"] + pad, p.get("stress"))
              for p in said_phones(phones_json)]
    return teach(phones, n_frames)


def pick_second(labels: list[str]) -> int:
    """The first frame of the second with the most to check: a bilabial, a rounded vowel,
    an open vowel and silence each count, then the number of bilabial frames."""
    visemes = [viseme_of(p) for p in labels]
    best, best_score = 0, -1.0
    for s in range(max(1, len(labels) - STRIP_FRAMES + 1)):
        w = visemes[s:s + STRIP_FRAMES]
        score = (3 * ("PP" in w) + 3 * bool({"oh", "ou"} & set(w)) + 2 * ("aa" in w)
                 + 2 * ("sil" in w) + w.count("PP") / 10)
        if score > best_score:
            best, best_score = s, score
    return best


# ------------------------------------------------------------------ the stage
def add_head(kind: str):
    """(the head to key, the preset key, the objects to render, a credit line)."""
    if kind == "demo":
        head, _rig = build_demo_head("TIMAR A", bpy.context.scene.collection,
                                     bpy.context.view_layer)
        return head, "timar_demo", "the TIMAR demo head (procedural, this project)"
    ch = import_character(kind)
    for obj in ch.meshes.values():
        name = obj.name.lower()
        obj.color = (*next((c for k, c in CHARACTER_COLOURS if k in name), SKIN), 1.0)
        rest_pose(obj)
    credit = {"mpfb": "MakeHuman/MPFB head (CC0 1.0, the MakeHuman team) with TalkingHead's "
                      "ARKit targets (MIT, Mika Suominen)",
              "ict": "ICT-FaceKit (MIT, USC Institute for Creative Technologies)"}[kind]
    return ch.collection, "arkit", credit


def rest_pose(obj) -> None:
    """Every shape key of ``obj`` at 0. The test characters' files give every key a default
    weight of 1 (built in Blender 5.0, which adds new keys at 1): the keys a preset does not
    drive (the visemes the arkit preset leaves to an ARKit mouth) would stay stacked on it."""
    keys = obj.data.shape_keys
    if keys is None:
        return
    on = [kb.name for kb in keys.key_blocks[1:] if kb.value != 0.0]
    for kb in keys.key_blocks[1:]:
        kb.value = 0.0
    if on:
        print(f"{obj.name}: {len(on)} shape keys rested at non-zero values; set to 0")


def _moved(face_mesh, names: tuple[str, ...], share: float) -> np.ndarray:
    """World positions (at rest) of the face mesh's vertices that the first of ``names`` it
    has moves by more than ``share`` of that key's largest move."""
    keys = face_mesh.data.shape_keys.key_blocks
    rest = np.array([v.co[:] for v in keys[0].data])
    name = next(n for n in names if n in keys)
    d = np.linalg.norm(np.array([v.co[:] for v in keys[name].data]) - rest, axis=1)
    mw = np.array(face_mesh.matrix_world)
    return rest[d > share * d.max()] @ mw[:3, :3].T + mw[:3, 3]


def mouth_frame(face_mesh) -> tuple[Vector, float]:
    """The mouth's centre in world (the middle of what mouthPucker moves: the lips) and its
    width (what mouthClose moves), on the face mesh at rest."""
    lips = _moved(face_mesh, ("mouthPucker", "mouthClose", "jawOpen"), 0.6)
    closing = _moved(face_mesh, ("mouthClose", "mouthPucker", "jawOpen"), 0.35)
    return Vector(0.5 * (lips.min(axis=0) + lips.max(axis=0))), float(np.ptp(closing[:, 0]))


def stage(scene, face_mesh, tile: int, colour_by_object: bool, zoom: float) -> None:
    """Workbench, a camera in front of the mouth (the heads face -Y), ``zoom`` mouth widths
    across."""
    centre, width = mouth_frame(face_mesh)
    cam = bpy.data.objects.new("strip camera", bpy.data.cameras.new("strip camera"))
    cam.data.lens = 85
    across = zoom * width
    fov = 2 * np.arctan(cam.data.sensor_width / (2 * cam.data.lens))
    distance = 0.5 * across / np.tan(0.5 * fov)
    cam.location = centre + Vector((0.0, -distance, 0.08 * across))
    cam.rotation_euler = (centre - cam.location).to_track_quat('-Z', 'Y').to_euler()
    cam.data.clip_start = distance / 50
    scene.collection.objects.link(cam)
    scene.camera = cam
    scene.render.engine = 'BLENDER_WORKBENCH'
    scene.view_settings.view_transform = 'Standard'
    scene.render.resolution_x = scene.render.resolution_y = tile
    scene.render.resolution_percentage = 100
    shading = scene.display.shading
    shading.light = 'STUDIO'
    shading.color_type = 'OBJECT' if colour_by_object else 'MATERIAL'
    shading.show_shadows = False
    shading.show_cavity = True
    scene.render.image_settings.file_format = 'PNG'


def render_frames(scene, frames: list[int], folder: str) -> list[np.ndarray]:
    """(H, W, 3) images of the frames; the first render of a session comes out lighter
    (Workbench's studio light still loading), so one is made and thrown away first."""
    tiles = []
    for f in frames[:1] + frames:
        scene.frame_set(f)
        scene.render.filepath = os.path.join(folder, f"{f:04d}.png")
        bpy.ops.render.render(write_still=True)
        img = bpy.data.images.load(scene.render.filepath)
        w, h = img.size
        px = np.empty(w * h * 4, dtype=np.float32)
        img.pixels.foreach_get(px)
        bpy.data.images.remove(img)
        tiles.append(px.reshape(h, w, 4)[::-1, :, :3].copy())
    return tiles[1:]


# ------------------------------------------------------------------ the run
def print_table(first: int, labels: list[str], face: np.ndarray) -> None:
    chans = {"jaw": "jawOpen", "close": "mouthClose", "pucker": "mouthPucker",
             "funnel": "mouthFunnel", "stretch": "mouthStretchLeft", "press": "mouthPressLeft",
             "smile": "mouthSmileLeft", "lowDn": "mouthLowerDownLeft", "upUp": "mouthUpperUpLeft"}
    print("frame  time  phone viseme model  " + " ".join(f"{c:>7}" for c in chans))
    mv = model_viseme(face)
    for f in range(first, first + STRIP_FRAMES):
        vals = " ".join(f"{face[f, ARKIT_INDEX[c]]:7.2f}" for c in chans.values())
        print(f"{f:5d} {f / FPS:5.2f}  {labels[f]:>5} {viseme_of(labels[f]):>6} {mv[f]:>5}  {vals}")


def print_phones(phones, face: np.ndarray) -> None:
    """Per phone of the whole utterance, what to check: p/b/m sealed (jawOpen - mouthClose
    <= 0.05 on a frame it overlaps), rounded vowels' pucker + funnel, open vowels' and
    silences' jawOpen (their frames' maximum)."""
    jaw, close = face[:, ARKIT_INDEX["jawOpen"]], face[:, ARKIT_INDEX["mouthClose"]]
    rounding = face[:, ARKIT_INDEX["mouthPucker"]] + face[:, ARKIT_INDEX["mouthFunnel"]]
    for p in phones:
        f0 = int(np.floor(p.start * FPS))
        f1 = max(f0 + 1, int(np.ceil(p.end * FPS)))
        frames = slice(f0, min(f1, len(face)))
        what = {"PP": lambda: "sealed" if (jaw[frames] - close[frames] <= 0.05).any()
                else f"OPEN (least gap {(jaw[frames] - close[frames]).min():.2f})",
                "oh": lambda: f"rounding {rounding[frames].max():.2f}",
                "ou": lambda: f"rounding {rounding[frames].max():.2f}",
                "aa": lambda: f"jaw {jaw[frames].max():.2f}",
                "sil": lambda: f"jaw up to {jaw[frames].max():.2f}"}.get(viseme_of(p.label))
        if what is not None:
            print(f"  {p.start:5.2f}-{p.end:5.2f} s  {p.label:>3}  {what()}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wav", required=True)
    ap.add_argument("--phones", required=True, help="JSON phones of the wav (model_core phones)")
    ap.add_argument("--checkpoint", default=None, help="default: the bundled model")
    ap.add_argument("--head", default="demo", choices=("demo", "mpfb", "ict"))
    ap.add_argument("--preset", default=None, help="default: timar_demo (demo), arkit (characters)")
    ap.add_argument("--start", type=float, default=None,
                    help="the second's start, seconds into the padded utterance (default: auto)")
    ap.add_argument("--pad", type=float, default=0.4, help="silence added at both ends, s")
    ap.add_argument("--tile", type=int, default=150, help="rendered frame size, pixels")
    ap.add_argument("--zoom", type=float, default=None,
                    help="mouth widths across a frame (default: 2.4, ICT's wider mouthClose 1.6)")
    ap.add_argument("--columns", type=int, default=13)
    ap.add_argument("--teacher", action="store_true",
                    help="the mouth from the lip teacher (the phones), not the model: judges "
                         "the preset and the head's keys apart from the model")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--out", default="lipsync_strip.png")
    args = ap.parse_args(argv)

    audio, phones = pad_utterance(load_audio(args.wav), read_phones_json(args.phones), args.pad)
    motion, face, from_mouth = generate(args.checkpoint, audio, args.seed, args.steps)
    if args.teacher:
        face = teacher_face(args.phones, args.pad, len(motion))
    labels = list(frame_labels(phones, len(face)))
    first = pick_second(labels) if args.start is None else int(round(args.start * FPS))
    first = int(np.clip(first, 0, max(0, len(face) - STRIP_FRAMES)))

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    head, preset_key, credit = add_head(args.head)
    preset = get_preset(args.preset or preset_key)
    take = write_take(head, motion, preset, start_frame=1, face=face, seed=args.seed, scene=scene)
    rig = resolve_head(head, preset)
    print(take.rig_report["summary"])
    stage(scene, rig.mesh, args.tile, args.head != "demo", args.zoom or ZOOM.get(args.head, 2.4))
    frames = list(range(first, first + STRIP_FRAMES))
    with tempfile.TemporaryDirectory(prefix="timar_strip_") as tmp:
        tiles = render_frames(scene, [1 + f for f in frames], tmp)
    print_table(first, labels, face)
    print("the whole utterance:")
    print_phones(phones, face)
    ckpt = Path(args.checkpoint).name if args.checkpoint else "the bundled model"
    source = ("the lip teacher's face frames (phones -> visemes -> ARKit), the model's FLAME"
              if args.teacher else "its mouth head's face frames" if from_mouth
              else "face implied by FLAME (no mouth head)")
    title = (f"{credit}, preset {preset.key}; {ckpt}, {source}\n"
             f"frames {first}-{first + STRIP_FRAMES - 1} of '{Path(args.wav).stem}' (25 fps): "
             "time, phone /viseme/, the model's viseme, jawOpen (j), mouthClose (c), "
             f"seal = j - c <= 0.05")
    window = (first / FPS, (first + STRIP_FRAMES) / FPS)
    size = compose(args.out, tiles, [FrameLabel(f, labels[f], viseme_of(labels[f])) for f in frames],
                   face, phones, window, title, columns=args.columns)
    for name, chans in CURVES.items():
        print(f"{name}: max {curve(face, chans).max():.2f}")
    print(f"wrote {args.out} ({size // 1024} KB)")


if __name__ == "__main__":
    main()
