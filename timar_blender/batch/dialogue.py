# SPDX-License-Identifier: GPL-3.0-or-later
"""One dialogue of a batch: the stage (demo heads or a template's heads), both audio
tracks in the sequencer, the generated takes, the .blend, the optional render (MP4 and
contact sheet) and the JSON report. Every file is written under a temporary name of this
dialogue's (the render reads the temporary .blend); the set is published together when
all of it is made (outputs.publish_set), and the report is written last."""
from __future__ import annotations

import os
import platform
import shutil
import time
import traceback
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import bpy

from .. import core, generation, jobs, scene_setup
from ..errors import DialogueError, RigError
from ..rig import motion as flame_motion
from ..rig.dials import parse_dials
from ..rig.head import resolve_head
from ..rig.preset import Preset, get_preset, load_preset_file
from ..rig.report import report_head
from ..rig.take import TakeSettings, scene_fps
from . import render as renderer
from .contact import contact_frames, write_contact_sheet
from .manifest import DialogueSpec
from .mp4 import mp4_tracks
from .outputs import (REPORT_VERSION, Outputs, clean_partials, files_on_disk, publish_set,
                      read_report, take_id, write_json)
from .settings import BatchSettings

DEMO_PRESET = "timar_demo"
# tried in order for a template, the most specific first: the demo heads carry ARKit-named
# keys too (jawOpen, blinks), so the generic arkit preset would also take them
TEMPLATE_PRESETS = ("flame", "timar_demo", "arkit", "viseme")


# ------------------------------------------------------------------ the stage
def _new_scene(dialogue: DialogueSpec):
    """An empty scene with the demo heads, or the template opened; returns (scene, heads)."""
    if not dialogue.template:
        bpy.ops.wm.read_homefile(use_empty=True)
        scene = bpy.context.scene
        scene.render.fps, scene.render.fps_base = 25, 1.0
        scene.frame_start = 1
        return scene, scene_setup.add_demo_heads(scene)
    if not os.path.isfile(dialogue.template):
        raise DialogueError(f"template not found: {dialogue.template}")
    try:
        bpy.ops.wm.open_mainfile(filepath=dialogue.template, load_ui=False)
    except RuntimeError as exc:
        raise DialogueError(f"cannot open the template {dialogue.template}: "
                            f"{str(exc).strip().splitlines()[-1]}") from None
    scene = bpy.context.scene
    heads = []
    for label, name in (("head_a", dialogue.head_a), ("head_b", dialogue.head_b)):
        obj = bpy.data.objects.get(name) or bpy.data.collections.get(name)   # a character's collection too
        if obj is None:
            names = ", ".join(sorted(o.name for o in bpy.data.objects
                                     if o.type in {'MESH', 'ARMATURE'})[:12])
            raise DialogueError(f"{label}: the template has no object named '{name}' "
                                f"(meshes and armatures in it: {names or 'none'})")
        heads.append(obj)
    return scene, tuple(heads)


def _preset(dialogue: DialogueSpec, heads) -> Preset:
    """The named preset (key or mapping .json) checked against both heads, or the first
    shipped preset both heads fit."""
    if dialogue.preset:
        preset = (load_preset_file(dialogue.preset) if dialogue.preset.endswith(".json")
                  else get_preset(dialogue.preset))
        for head in heads:
            resolve_head(head, preset)
        return preset
    keys = (DEMO_PRESET,) if not dialogue.template else TEMPLATE_PRESETS
    errors = []
    for key in keys:
        preset = get_preset(key)
        try:
            for head in heads:     # auto-detected: only a preset that gives both a mouth
                report = report_head(resolve_head(head, preset), preset)
                if not report["mouth"]:
                    raise RigError(report["warnings"][0])
            return preset
        except RigError as exc:
            errors.append(str(exc))
    raise DialogueError(f"the heads fit none of the rig presets {', '.join(keys)}; name one "
                        f"(or a mapping .json) in the 'preset' column or with --preset "
                        f"({errors[0]})")


# ------------------------------------------------------------------ generation
def _generate(scene, heads, preset, audio, settings: BatchSettings, start: int, step,
              given=(None, None), dials=(None, None)):
    request = generation.Request(
        audio[0], audio[1], motion_a=given[0], motion_b=given[1],
        checkpoint=settings.checkpoint, speech_model_dir=settings.speech_model_dir,
        device=settings.device, context_turns=settings.context_turns, steps=settings.steps,
        temperature=settings.temperature, seed=settings.seed, takes=1)
    generation.prepare(request)
    targets = [jobs.HeadTarget(label, head.name, preset, d)
               for label, head, d in zip("AB", heads, dials)]

    def on_turn(p):
        step(f"generating: turn {p.turns_done}/{p.turns_total}, RTF {p.rtf:.2f}",
             force=p.turns_done == p.turns_total)

    job = jobs.Job(scene.name, request, targets, start, TakeSettings(seed=settings.seed),
                   on_turn=on_turn)
    jobs.run_sync(job)
    if job.state != "done":
        raise DialogueError(f"generation {job.state}: {job.error or 'stopped'}")
    return job


# ------------------------------------------------------------------ rendering
def _render(out: Outputs, blend: Path, scene, settings: BatchSettings, report: dict, step,
            temps: dict) -> None:
    """Render the temporary .blend ``blend`` into a temporary movie and contact sheet
    (added to ``temps``; published with the .blend)."""
    frames = contact_frames(scene.frame_start, scene.frame_end, settings.frames_step,
                            settings.contact_range)
    total = scene.frame_end - scene.frame_start + 1
    stills_dir = out.temp("stills")
    os.mkdir(stills_dir, 0o700)         # exclusive: never an existing folder or a link
    tmp_mp4 = temps["mp4"] = out.temp("mp4")
    tmp_png = temps["contact"] = out.temp("contact")
    state = {"movie_start": None, "frames": 0, "stills": 0}

    def on_progress(kind, _value):
        if kind == "still":
            state["stills"] += 1
            step(f"contact sheet: frame {state['stills']}/{len(frames)}",
                 force=state["stills"] == len(frames))
        elif kind == "movie":
            state["movie_start"] = time.monotonic()
        elif kind == "frame" and state["movie_start"] is not None:
            state["frames"] += 1
            n = state["frames"]
            spf = (time.monotonic() - state["movie_start"]) / n
            step(f"rendering: frame {n}/{total}, {spf:.2f} s/frame, "
                 f"~{spf * (total - n):.0f} s left", force=n == total)

    try:
        res = renderer.run_child(str(blend), settings.render_options, str(tmp_mp4), frames,
                               str(stills_dir), on_progress, settings.stall_timeout)
        if not res.ok:
            raise DialogueError(res.message)
        tracks = mp4_tracks(tmp_mp4)
        if not any(t["kind"] == "video" for t in tracks):
            raise DialogueError(f"the render wrote no readable movie ({out.mp4.name})")
        if not any(t["kind"] == "audio" for t in tracks):
            report["warnings"].append("the MP4 has no sound (this Blender build has no audio)")
        stills = [str(stills_dir / f"still_{f:05d}.png") for f in frames]
        missing = [s for s in stills if not os.path.isfile(s)]
        if missing:
            raise DialogueError(f"the render wrote {len(stills) - len(missing)} of "
                                f"{len(stills)} contact-sheet frames")
        size = write_contact_sheet(stills, str(tmp_png))
        movie_s = (time.monotonic() - state["movie_start"]) if state["movie_start"] else None
        report["render"] = {
            **asdict(settings.render_options), "samples": settings.render_options.samples_used(),
            "frames": total, "seconds": round(res.seconds, 2),
            "movie_seconds": round(movie_s, 2) if movie_s else None,
            "seconds_per_frame": round(movie_s / total, 3) if movie_s else None,
            "mp4_tracks": tracks, "contact_sheet_frames": frames,
            "contact_sheet_size": list(size)}
        report["outputs"]["mp4"] = out.mp4.name
        report["outputs"]["contact_sheet"] = out.contact.name
    finally:
        shutil.rmtree(stills_dir, ignore_errors=True)


# ------------------------------------------------------------------ one dialogue
def _write_live_link(out: Outputs, job, report: dict, temps: dict) -> None:
    """Each head's curves as a Live Link Face CSV take, written to temporaries that are
    published with the rest of the set."""
    for label in "AB":
        writer = job.writers[(0, label)]
        role = "livelink_" + label.lower()
        tmp = temps[role] = out.temp(role)
        # Face frames where the model made them (the mouth head); else the FLAME jaw's.
        core.write_livelink_csv(str(tmp), writer.motion, getattr(writer, "face", None))
    report["outputs"]["live_link_csv"] = [out.live_link(label).name for label in "AB"]


# Free space under which a just-saved .blend is taken as cut short by a full disk.
MIN_FREE_AFTER_SAVE = 64 << 10


def _check_readable_blend(path: Path, out: Outputs) -> None:
    """On a full disk Blender 5.0 reports "Saved copy" for a file cut short (seen on a full
    tmpfs, and the cut file still parses), which must never be published: the file is
    flushed (a delayed ENOSPC surfaces here), the disk must not be full after the save, and
    the file's block list must read back."""
    try:
        with open(path, "rb+") as fh:
            os.fsync(fh.fileno())
        fs = os.statvfs(path)
    except OSError as exc:
        raise DialogueError(f"cannot save {out.blend.name} in {out.folder} "
                            f"({exc.strerror or exc}); free some space or choose another --out") from None
    if fs.f_bavail * fs.f_frsize < MIN_FREE_AFTER_SAVE:
        raise DialogueError(f"cannot save {out.blend.name} in {out.folder}: the disk is full "
                            "(the file may be cut short); free some space or choose another --out")
    try:
        with bpy.data.libraries.load(str(path)) as (found, _):
            found.objects   # noqa: B018 - parsing the file is the check
    except OSError as exc:
        why = (str(exc).strip().splitlines() or ["unreadable"])[-1]
        raise DialogueError(f"cannot save {out.blend.name} in {out.folder}: it was written "
                            f"incomplete ({why}); free some space or choose another --out") from None


def _save_blend(out: Outputs, scene, settings: BatchSettings, take: str, temps: dict) -> Path:
    """Save the scene to a temporary .blend (added to ``temps``), check it is whole, and
    return its path."""
    renderer.configure(scene, settings.render_options)
    if bpy.app.build_options.codec_ffmpeg:
        renderer.set_movie_output(scene, str(out.mp4.resolve()))
    scene["timar_take"] = take          # which take the .blend holds, as in the report
    tmp = temps["blend"] = out.temp("blend")
    try:
        bpy.ops.wm.save_as_mainfile(filepath=str(tmp), copy=True, check_existing=False)
    except RuntimeError as exc:     # Blender's way of saying the disk is full, or no access
        why = (str(exc).strip().splitlines() or ["cannot write"])[-1]
        raise DialogueError(f"cannot save {out.blend.name} in {out.folder} ({why}); "
                            "free some space or choose another --out") from None
    if not tmp.is_file():
        raise OSError(f"{out.blend.name} was not written")
    _check_readable_blend(tmp, out)
    return tmp


def _make(dialogue: DialogueSpec, settings: BatchSettings, out: Outputs, report: dict, step,
          temps: dict) -> None:
    audio = (core.load_audio(dialogue.audio_a), core.load_audio(dialogue.audio_b))
    given = tuple(core.load_motion(p) if p else None
                  for p in (dialogue.motion_a, dialogue.motion_b))
    for path, label in ((dialogue.audio_a, "audio_a"), (dialogue.audio_b, "audio_b")):
        warning = core.truncation_warning(path, label)
        if warning:
            report["warnings"].append(warning)
    scene, heads = _new_scene(dialogue)
    preset = _preset(dialogue, heads)
    start = scene.frame_start
    if bpy.app.build_options.audaspace:
        scene_setup.add_audio_to_sequencer(scene, dialogue.audio_a, dialogue.audio_b, start)
    else:
        report["warnings"].append("this Blender build has no audio (the bpy 4.2 wheel): "
                                  "the .blend has no sound strips")
    step("generating", force=True)
    dials = (parse_dials(dialogue.dials_a), parse_dials(dialogue.dials_b))
    job = _generate(scene, heads, preset, audio, settings, start, step, given, dials)
    report["warnings"] += job.warnings
    # per head: what was keyed, what the rig lacks, the dials (rig/report.py)
    report["rig"] = job.rig_reports
    report["rig_warnings"] = [w for r in job.rig_reports.values() for w in r["warnings"]]
    frames25 = max(len(w.motion) for w in job.writers.values())
    fps = scene_fps(scene)
    scene.frame_start = start
    scene.frame_end = start + flame_motion.scene_frame_count(frames25, fps) - 1
    scene.frame_set(start)
    p = job.progress
    if settings.render:        # a --contact-range beyond the dialogue: refused before the save
        contact_frames(scene.frame_start, scene.frame_end, settings.frames_step,
                       settings.contact_range)
    report.update({
        "heads": {"A": heads[0].name, "B": heads[1].name}, "preset": preset.key,
        "takes": job.take_names, "turns": p.turns_total,
        "audio_seconds": round(frames25 / flame_motion.MODEL_FPS, 3),
        "fps": fps, "frame_start": scene.frame_start, "frame_end": scene.frame_end,
        "generation": {"seconds": round(p.elapsed, 3),
                       "realtime_factor": round(p.elapsed / max(frames25 / flame_motion.MODEL_FPS,
                                                                1e-9), 4)}})
    blend = _save_blend(out, scene, settings, report["take"]["id"], temps)
    report["outputs"]["blend"] = out.blend.name
    if settings.live_link_csv:
        _write_live_link(out, job, report, temps)
    if settings.render:
        step("rendering", force=True)
        _render(out, blend, scene, settings, report, step, temps)


def _publish_lone_blend(out: Outputs, temps: dict, report: dict, earlier: dict | None) -> None:
    """After a failed render with no earlier set on disk, the saved .blend is still worth
    having (open it, render with another engine): it is published alone, the report says
    "failed" (so the next run redoes it). With an earlier set on disk nothing is published:
    that set stays whole."""
    tmp = temps.get("blend")
    if tmp is None or not tmp.is_file() or report["files"]:
        return
    try:
        publish_set(out, {"blend": tmp}, report, earlier)
        del temps["blend"]
    except (core.TimarError, OSError):
        pass


def process(dialogue: DialogueSpec, settings: BatchSettings, step) -> dict:
    """Make one dialogue's outputs and write its report; never raises for a user error
    (the report says "failed" and why). ``step(text, force=False)`` shows progress.

    The new set (.blend, and with --render the movie and contact sheet) is published
    together only when all of it is made; until then the earlier set stays whole, and the
    report's "files" says which take each file on disk belongs to."""
    out = Outputs(Path(settings.out), dialogue.name)
    out.folder.mkdir(parents=True, exist_ok=True)
    clean_partials(out.folder, dialogue.name)
    started = time.monotonic()
    described = settings.describe(dialogue)
    earlier = read_report(out.report)
    report = {"report_version": REPORT_VERSION, "name": dialogue.name, "status": "failed",
              "error": None, "warnings": [], "outputs": {},
              "take": {"id": take_id(described), "seed": settings.seed},
              "files": files_on_disk(out, earlier), "settings": described,
              "blender": bpy.app.version_string, "host": platform.node()}
    temps: dict = {}
    try:
        core.paths.check_all_replaceable(out.files().values())
        _make(dialogue, settings, out, report, step, temps)
        publish_set(out, temps, report, earlier)
        report["status"] = "warning" if report.get("rig_warnings") else "ok"
        if report.get("rig_warnings"):
            report["message"] = "; ".join(report["rig_warnings"])
    except (core.TimarError, OSError) as exc:   # a user error; or the disk (full, no access)
        report["error"] = str(exc)
        _publish_lone_blend(out, temps, report, earlier)
    except Exception as exc:  # noqa: BLE001 - a bug: its traceback goes to a log file
        report["error"] = core.last_resort.report_internal_error(exc, f"batch-{dialogue.name}")
        report["internal_error_log"] = report["error"].rpartition("details in ")[2]
        report["traceback"] = traceback.format_exc()
    finally:
        jobs.shutdown()
        for tmp in temps.values():          # what was not published: the earlier set stays
            tmp.unlink(missing_ok=True)
    if report["status"] != "ok":            # only what this take published
        report["outputs"] = {r: f["name"] for r, f in report["files"].items()
                             if f.get("take") == report["take"]["id"]}
    report["seconds"] = round(time.monotonic() - started, 2)
    report["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        write_json(out.report, report, out.temp("report"))
    except (core.TimarError, OSError) as exc:   # a link or folder at its name; a full disk
        report["status"] = "failed"
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        report["error"] = (f"{report['error'] + '; ' if report['error'] else ''}cannot write "
                           f"{out.report.name} ({why}); free some space")
    return report
