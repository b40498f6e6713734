# SPDX-License-Identifier: GPL-3.0-or-later
"""A user's session in a real Blender window, run by tests/gui/test_gui_real_window.py.

Started as ``blender --factory-startup --python blender_session.py -- --zip Z --audio-a A
--audio-b B --out DIR`` under Xvfb (Debian 13's Blender 4.3). Everything happens from
``bpy.app.timers`` inside Blender's own event loop, the way a user's clicks arrive:

1. install the zip with Blender's extension operator, add the demo heads with the add-on's
   operator, open the 3D viewport's sidebar on the TIMAR tab;
2. Generate (``INVOKE_DEFAULT`` in the viewport's sidebar), sampling the progress, the
   keys on both heads, sidebar and viewport redraws and a heartbeat timer until it ends;
3. Generate again and Cancel it after two turns;
4. Generate a third time and quit Blender in the middle of it.

Nothing is asserted here: every observation goes into ``OUT/result.json`` (written before
the quit) and the screenshots into ``OUT/*.png``; the pytest module judges them, together
with how the process ended."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import traceback

import bpy

ADDON = "bl_ext.user_default.timar_blender"

_argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
_ap = argparse.ArgumentParser()
_ap.add_argument("--zip", required=True)
_ap.add_argument("--audio-a", required=True)
_ap.add_argument("--audio-b", required=True)
_ap.add_argument("--out", required=True)
_ap.add_argument("--cancel-after-turns", type=int, default=2)
_ap.add_argument("--deadline", type=float, default=600,
                 help="give up (and quit) after this many seconds, whatever happens")
ARGS = _ap.parse_args(_argv)
os.makedirs(ARGS.out, exist_ok=True)

T0 = time.monotonic()
result: dict = {"phases": [], "errors": [], "screenshots": {}}
_jobs = None                          # the add-on's jobs module, once installed
_draws = {"UI": [], "WINDOW": []}     # (t, progress factor, running) at each region draw
_beats: list[float] = []              # heartbeat timer ticks
_shots: list[subprocess.Popen] = []
_handles: list = []                   # draw handlers, removed before quitting


def now() -> float:
    return round(time.monotonic() - T0, 3)


def log(msg: str) -> None:
    print(f"[gui {now():7.2f}] {msg}", flush=True)


def save_result() -> None:
    result["elapsed_s"] = now()
    path = os.path.join(ARGS.out, "result.json")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    os.replace(path + ".tmp", path)


# --- the window, the viewport and its sidebar ---------------------------------------------

def window():
    return bpy.context.window_manager.windows[0]


def view3d():
    """(area, sidebar region, viewport region) of the largest 3D viewport."""
    areas = [a for a in window().screen.areas if a.type == 'VIEW_3D']
    area = max(areas, key=lambda a: a.width * a.height)
    regions = {r.type: r for r in area.regions}
    return area, regions["UI"], regions["WINDOW"]


def scene():
    return window().scene


def in_sidebar():
    """The context of a click in the viewport's sidebar."""
    area, ui, _ = view3d()
    return bpy.context.temp_override(window=window(), screen=window().screen, area=area,
                                     region=ui)


def screenshot(name: str) -> None:
    """The X screen as the user sees it (ImageMagick's import; Blender's own screenshot
    operator draws black under Xvfb). Runs beside Blender, which keeps drawing."""
    path = os.path.join(ARGS.out, f"{name}.png")
    _shots.append(subprocess.Popen(["import", "-window", "root", path]))
    result["screenshots"][name] = {"t": now(), "file": os.path.basename(path)}
    log(f"screenshot {name}")


def show_and_record(name: str, frame: int):
    """Show ``frame``, let the window redraw, screenshot it and save the results so far
    (a timer generator step: yield from it)."""
    scene().frame_current = frame
    yield 1.0
    screenshot(name)
    yield 0.5
    save_result()


def _on_draw(kind):
    def draw():
        p = bpy.context.window_manager.timar_progress if hasattr(
            bpy.context.window_manager, "timar_progress") else None
        _draws[kind].append((now(), round(p.factor, 4) if p else None,
                             bool(p.running) if p else False))
    return draw


def _heartbeat():
    _beats.append(now())
    return 0.05


# --- what the scene holds --------------------------------------------------------------------

def action_fcurves(action):
    """F-curves of an action on any version: layered (4.4+) or legacy."""
    if getattr(action, "layers", None) and len(action.layers):
        return [fc for layer in action.layers for strip in layer.strips
                for bag in getattr(strip, "channelbags", []) for fc in bag.fcurves]
    return list(action.fcurves)


def head_parts(label: str):
    sp = getattr(scene().timar, f"speaker_{label.lower()}")
    mesh = sp.head
    rig = mesh.parent if mesh and mesh.parent and mesh.parent.type == 'ARMATURE' else None
    return mesh, rig


def active_actions(label: str):
    mesh, rig = head_parts(label)
    ids = [rig, mesh.data.shape_keys if mesh else None]
    return [i.animation_data.action for i in ids
            if i is not None and i.animation_data and i.animation_data.action]


def keys_of(label: str) -> dict:
    """Keys in the head's active TIMAR actions: count and the last keyed frame."""
    n, last, names = 0, None, []
    for action in active_actions(label):
        if "timar_take" not in action:
            continue
        names.append(action.name)
        for fc in action_fcurves(action):
            kp = fc.keyframe_points
            n += len(kp)
            if len(kp):
                last = max(last or -1e9, kp[len(kp) - 1].co[0])
    return {"keys": n, "last_frame": last, "actions": sorted(names)}


def fingerprint(action_name: str):
    """(path, index, key count, sum of values) of every F-curve: unchanged means untouched."""
    action = bpy.data.actions.get(action_name)
    if action is None:
        return None
    out = []
    for fc in action_fcurves(action):
        vals = [k.co[1] for k in fc.keyframe_points]
        out.append([fc.data_path, fc.array_index, len(vals), round(sum(vals), 5)])
    return sorted(out)


def nla_tracks(label: str):
    mesh, rig = head_parts(label)
    out = []
    for i in (rig, mesh.data.shape_keys):
        ad = i.animation_data if i is not None else None
        for t in (ad.nla_tracks if ad else []):
            out.append({"name": t.name, "mute": t.mute,
                        "actions": [s.action.name for s in t.strips if s.action]})
    return out


def pose_over(label: str, frames) -> list:
    """The neck rotation and the jawOpen shape key value evaluated at frames (what playback
    shows; the demo preset opens the jaw by that key, not by the jaw bone):
    [frame, neck w, x, y, z, jawOpen]."""
    mesh, rig = head_parts(label)
    sc = scene()
    keep = sc.frame_current
    out = []
    for f in frames:
        sc.frame_set(int(f))
        neck = rig.pose.bones["neck"].rotation_quaternion if rig else None
        kb = mesh.data.shape_keys.key_blocks.get("jawOpen")
        out.append([int(f)] + [round(v, 5) for v in (neck if neck is not None else ())]
                   + [round(kb.value, 5) if kb else None])
    sc.frame_set(keep)
    return out


def progress_state() -> dict:
    """What the panel shows (the WindowManager property) and the job's own turn count."""
    p = bpy.context.window_manager.timar_progress
    job = _jobs.current() if _jobs else None
    return {"factor": round(p.factor, 4), "text": p.text, "running": bool(p.running),
            "turns": [job.progress.turns_done, job.progress.turns_total] if job else None}


def sample(run: dict) -> dict:
    s = {"t": now(), **progress_state(), "A": keys_of("A"), "B": keys_of("B")}
    run["samples"].append(s)
    return s


def generate_poll() -> bool:
    with in_sidebar():
        return bool(bpy.ops.timar.generate.poll())


# --- the session -------------------------------------------------------------------------------

def phase(name: str) -> dict:
    d = {"name": name, "t": now()}
    result["phases"].append(d)
    log(f"phase {name}")
    save_result()
    return d


def start_generate(run: dict):
    run["poll_before"] = generate_poll()
    run["invoke_t"] = now()
    with in_sidebar():
        run["invoke"] = sorted(bpy.ops.timar.generate('INVOKE_DEFAULT', target='BOTH'))
    run["invoke_returned_t"] = now()
    log(f"Generate: {run['invoke']} in {run['invoke_returned_t'] - run['invoke_t']:.2f} s")


def follow(run: dict, on_sample=None, timeout: float | None = None):
    """Sample every 0.1 s until the progress says it stopped."""
    timeout = ARGS.deadline if timeout is None else timeout
    t_end = time.monotonic() + timeout
    while True:
        s = sample(run)
        if on_sample is not None and on_sample(s):
            return
        if not s["running"] and len(run["samples"]) > 1:
            break
        if time.monotonic() > t_end:
            raise TimeoutError(f"the generation ran over {timeout} s")
        yield 0.1
    run["end_t"] = now()


def scenario():
    yield 1.0                                    # the window has drawn a few times
    import gpu
    result["blender"] = bpy.app.version_string
    result["python"] = sys.version.split()[0]
    result["gpu"] = {"renderer": gpu.platform.renderer_get(),
                     "version": gpu.platform.version_get()}
    result["background"] = bool(bpy.app.background)
    result["window"] = [window().width, window().height]
    bpy.context.preferences.view.use_save_prompt = False   # "quit without saving" later

    # 1. install the zip the way Preferences > Get Extensions > Install from Disk does
    phase("install")
    with bpy.context.temp_override(window=window(), screen=window().screen):
        ret = bpy.ops.extensions.package_install_files(
            filepath=ARGS.zip, repo="user_default", enable_on_install=True)
    result["install"] = {"ret": sorted(ret), "addon_enabled":
                         ADDON in bpy.context.preferences.addons,
                         "operators": hasattr(bpy.ops.timar, "generate")}
    yield 0.5
    import importlib
    global _jobs
    jobs = _jobs = importlib.import_module(ADDON + ".jobs")
    generation = importlib.import_module(ADDON + ".generation")
    result["torch_available"] = generation.torch_available()

    # 2. the stage: no default cube, the demo heads, the sidebar on the TIMAR tab
    phase("stage")
    for name in ("Cube", "Camera", "Light"):     # the factory scene's: the demo brings its own
        if name in bpy.data.objects:
            bpy.data.objects.remove(bpy.data.objects[name])
    with in_sidebar():
        result["add_demo_heads"] = sorted(bpy.ops.timar.add_demo_heads('INVOKE_DEFAULT'))
    s = scene().timar
    s.speaker_a.audio, s.speaker_b.audio = ARGS.audio_a, ARGS.audio_b   # the short dialogue
    area, ui, win = view3d()
    area.spaces.active.show_region_ui = True
    area.spaces.active.region_3d.view_perspective = 'CAMERA'
    area.spaces.active.shading.type = 'SOLID'
    area.tag_redraw()
    for _ in range(50):                          # the sidebar draws and learns its tabs
        yield 0.1
        area, ui, win = view3d()
        try:
            ui.active_panel_category = 'TIMAR'
            break
        except TypeError:                        # not drawn yet: no such tab so far
            area.tag_redraw()
    with bpy.context.temp_override(window=window(), screen=window().screen, area=area,
                                   region=view3d()[2]):
        bpy.ops.view3d.view_center_camera()      # the camera's frame fills the viewport
    area.tag_redraw()
    yield 0.5
    area, ui, win = view3d()
    result["stage"] = {
        "heads": [s.speaker_a.head.name if s.speaker_a.head else None,
                  s.speaker_b.head.name if s.speaker_b.head else None],
        "sidebar_category": view3d()[1].active_panel_category,
        "sidebar_size": [ui.width, ui.height], "fps": scene().render.fps,
        "objects": sorted(o.name for o in bpy.data.objects)}
    for kind in _draws:
        _handles.append((bpy.types.SpaceView3D.draw_handler_add(
            _on_draw(kind), (), kind, 'POST_PIXEL'), kind))
    bpy.app.timers.register(_heartbeat, first_interval=0.05)
    yield 1.0
    screenshot("1_rest")
    yield 0.5

    # 3. Generate, followed live
    run1 = phase("generate")
    run1["samples"] = []
    start_generate(run1)
    mid_shot = {"done": False}

    def at_half(s):
        if not mid_shot["done"] and s["factor"] >= 0.5:
            mid_shot["done"] = True
            last = s["A"]["last_frame"]
            if last:
                scene().frame_current = int(last) - 12   # show a keyed pose
            screenshot("2_generating")
        return False
    yield from follow(run1, at_half)
    run1["job_after"] = {"running": jobs.is_running()}
    run1["final"] = sample(run1)
    run1["poll_after"] = generate_poll()
    run1["pose"] = pose_over("A", range(1, int(run1["final"]["A"]["last_frame"] or 2), 6))
    run1["pose_B"] = pose_over("B", range(1, int(run1["final"]["B"]["last_frame"] or 2), 6))
    run1["frame_end"] = scene().frame_end
    take1 = {lab: {n: fingerprint(n) for n in run1["final"][lab]["actions"]} for lab in "AB"}
    yield from show_and_record("3_finished", max(1, int((run1["final"]["A"]["last_frame"] or 2) * 0.6)))

    # 4. Generate again, Cancel after a couple of turns
    run2 = phase("cancel")
    run2["samples"] = []
    run2["objects_before"] = sorted(o.name for o in bpy.data.objects)
    start_generate(run2)
    want = ARGS.cancel_after_turns

    def cancel_when_ready(s):
        if "cancel_t" not in run2 and s["running"] and s["turns"] and s["turns"][0] >= want:
            run2["cancel_t"] = now()
            run2["cancel_at"] = s
            run2["cancel_poll"] = _cancel_poll()
            with in_sidebar():
                run2["cancel_ret"] = sorted(bpy.ops.timar.cancel('INVOKE_DEFAULT'))
            log(f"Cancel: {run2['cancel_ret']} at factor {s['factor']}")
        return False
    yield from follow(run2, cancel_when_ready)
    run2["final"] = sample(run2)
    run2["poll_after"] = generate_poll()
    run2["take1_after"] = {lab: {n: fingerprint(n) for n in take1[lab]} for lab in "AB"}
    run2["take1_unchanged"] = run2["take1_after"] == take1
    run2["nla"] = {lab: nla_tracks(lab) for lab in "AB"}
    run2["objects_after"] = sorted(o.name for o in bpy.data.objects)
    last = run2["final"]["A"]["last_frame"] or 2
    run2["pose"] = pose_over("A", range(1, int(last) + 1, 3))
    yield from show_and_record("4_cancelled", max(1, int(last) - 6))

    # 5. Generate once more and quit Blender in the middle of it
    run3 = phase("quit")
    run3["samples"] = []
    start_generate(run3)
    yield from follow(run3, lambda s: s["A"]["keys"] > 0)
    _finish_observations()
    run3["quit_t"] = now()
    run3["worker_alive"] = bool(jobs.current() and jobs.current().worker
                                and jobs.current().worker.thread.is_alive())
    result["quit_requested"] = True
    save_result()
    log("quitting in the middle of a generation")
    with bpy.context.temp_override(window=window(), screen=window().screen):
        bpy.ops.wm.quit_blender()
    yield 5.0


def _cancel_poll() -> bool:
    with in_sidebar():
        return bool(bpy.ops.timar.cancel.poll())


def _finish_observations() -> None:
    """Stop this script's own handlers (only the add-on's are left for the quit) and
    collect what they saw."""
    for handle, kind in _handles:
        bpy.types.SpaceView3D.draw_handler_remove(handle, kind)
    _handles.clear()
    if bpy.app.timers.is_registered(_heartbeat):
        bpy.app.timers.unregister(_heartbeat)
    result["draws"] = {k: v for k, v in _draws.items()}
    result["heartbeat"] = list(_beats)
    for p in _shots:
        p.wait(timeout=30)
    result["screenshot_rc"] = [p.returncode for p in _shots]


_gen = scenario()


def _tick():
    try:
        if now() > ARGS.deadline:
            raise TimeoutError(f"the session ran over {ARGS.deadline:.0f} s")
        return next(_gen)
    except StopIteration:
        return None
    except Exception as exc:  # noqa: BLE001 - recorded, then quit: the test reports it
        result["errors"].append(f"{type(exc).__name__}: {exc}")
        result["traceback"] = traceback.format_exc()
        log(result["traceback"])
        try:
            _finish_observations()
        except Exception:  # noqa: BLE001
            pass
        save_result()
        try:
            bpy.context.preferences.view.use_save_prompt = False
            with bpy.context.temp_override(window=window()):
                bpy.ops.wm.quit_blender()
        except Exception:  # noqa: BLE001
            os._exit(3)
        return None


# no splash screen over the panel (it opens after this script, unless told not to)
bpy.context.preferences.view.show_splash = False
log(f"Blender {bpy.app.version_string}, Python {sys.version.split()[0]}, "
    f"background={bpy.app.background}")
bpy.app.timers.register(_tick, first_interval=0.5)
