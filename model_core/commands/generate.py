"""``python -m model_core generate``: animate both heads of a dialogue into two npz files."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..assets import bundled_checkpoint
from ..limits import check_generation_options
from ..outputs import check_output_folder, check_results_replaceable, safe_name
from ..paths import check_all_replaceable, check_apart
from .common import (add_model_options, add_sampling_options, generation_options,
                     load_model_from_args, progress)


def register(sub) -> None:
    p = sub.add_parser("generate", help="generate FLAME motion for both speakers of a dialogue")
    p.add_argument("--audio-a", required=True, help="speaker A's speech (wav, flac, ogg, mp3)")
    p.add_argument("--audio-b", required=True, help="speaker B's speech")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--name", default=None, help="output name (default: from --audio-a)")
    add_model_options(p)
    add_sampling_options(p)
    given = p.add_mutually_exclusive_group()
    given.add_argument("--motion-a", default=None,
                       help="FLAME npz or Live Link Face CSV of speaker A: copied through, "
                            "only B generated")
    given.add_argument("--motion-b", default=None,
                       help="FLAME npz or Live Link Face CSV of speaker B: copied through, "
                            "only A generated")
    p.add_argument("--live-link-csv", action="store_true",
                   help="also write each head's ARKit curves and head rotation as a Live Link "
                        "Face CSV (NAME_speaker1_livelink.csv, NAME_speaker2_livelink.csv)")
    p.add_argument("--no-cache", action="store_true", help="recompute every turn (reference path)")
    p.add_argument("--no-upper-face", action="store_true",
                   help="leave the brows, smile and cheeks as the mouth head made them (no brows "
                        "on pitch accents, no smile with the listener's nods)")
    p.set_defaults(func=run)


def default_name(audio_a: str) -> str:
    stem = Path(audio_a).stem
    return safe_name(re.sub(r"[_-](speaker ?1|spk1|a)$", "", stem, flags=re.IGNORECASE) or stem)


def output_paths(out_dir, name: str) -> tuple[Path, Path]:
    folder = Path(out_dir).expanduser()
    return folder / f"{name}_speaker1.npz", folder / f"{name}_speaker2.npz"


def input_paths(args) -> dict:
    """Every file the run reads, by the option that names it (compared with the outputs)."""
    return {"--audio-a": args.audio_a, "--audio-b": args.audio_b,
            "--motion-a": args.motion_a, "--motion-b": args.motion_b,
            "--checkpoint": args.checkpoint or bundled_checkpoint()}


def run(args) -> int:
    from ..errors import TimarError
    from ..face.livelink import write_livelink_csv
    from ..face.livelink_motion import take_from_head
    from ..fileio import publish_together
    from ..face.flame import write_motion_npz
    from ..generate import DialogueGenerator

    # Everything that can be checked is checked before the model runs.
    check_generation_options(seed=args.seed, temperature=args.temperature, steps=args.steps)
    name = safe_name(args.name) if args.name else default_name(args.audio_a)
    out_a, out_b = output_paths(args.out_dir, name)
    check_apart(input_paths(args), {"the output": out_a, "the second output": out_b},
                fix="choose another --out-dir or --name")
    out_dir = check_output_folder(args.out_dir)
    check_all_replaceable((out_a, out_b))
    check_results_replaceable((out_a, out_b))
    if args.name and name != args.name:
        progress(f"warning: output name {args.name!r} became {name!r} (a name cannot hold "
                 "folders or special characters; use --out-dir for the folder)", final=True)
    model = load_model_from_args(args)
    options = generation_options(args, use_cache=not args.no_cache,
                                 upper_face=not args.no_upper_face)
    generator = DialogueGenerator(model, options)
    parts_a, parts_b, faces_a, faces_b, last = [], [], [], [], None
    for turn in generator.stream(args.audio_a, args.audio_b, args.motion_a, args.motion_b):
        if turn.index == 0:
            for w in generator.warnings:
                progress(f"warning: {w}", final=True)
        if not (np.isfinite(turn.motion_a).all() and np.isfinite(turn.motion_b).all()):
            raise TimarError(f"the model produced NaN or infinite motion at turn {turn.index + 1}"
                             " (broken weights or an extreme option); nothing was written")
        parts_a.append(turn.motion_a)
        parts_b.append(turn.motion_b)
        faces_a.append(turn.face_a)
        faces_b.append(turn.face_b)
        last = turn
        progress(f"turn {turn.index + 1}/{turn.total_turns}  {turn.audio_seconds_done:.0f} s of audio"
                 f"  real-time factor {turn.realtime_factor:.3f}")
    motion_a, motion_b = np.concatenate(parts_a), np.concatenate(parts_b)
    face_a, face_b = np.concatenate(faces_a), np.concatenate(faces_b)
    writes = {out_a: lambda tmp: write_motion_npz(tmp, motion_a, face_a),
              out_b: lambda tmp: write_motion_npz(tmp, motion_b, face_b)}
    if args.live_link_csv:
        for speaker, motion, face in ((1, motion_a, face_a), (2, motion_b, face_b)):
            take = take_from_head(motion, face)
            writes[out_dir / f"{name}_speaker{speaker}_livelink.csv"] = \
                lambda tmp, take=take: write_livelink_csv(tmp, take)
    try:   # every file appears together, or none and an earlier result stays
        # (".npz" temporaries: numpy insists on the suffix; the CSV writer does not care)
        publish_together(writes, suffix=".npz")
    except OSError as exc:
        raise TimarError(f"cannot write the results to {out_dir} ({exc.strerror or exc}); "
                         "free some space or choose another --out-dir; any earlier "
                         f"{name}_speaker1/2 files were left as they were") from None
    if args.live_link_csv:
        progress(f"wrote {name}_speaker1_livelink.csv and {name}_speaker2_livelink.csv "
                 "(Live Link Face layout, 25 fps)", final=True)
    progress(f"wrote {out_a} and {out_b}: {len(motion_a)} frames, "
             f"{last.audio_seconds_done:.1f} s of audio in {last.elapsed_s:.2f} s "
             f"(real-time factor {last.realtime_factor:.3f}) on {generator.device}", final=True)
    return 0
