# SPDX-License-Identifier: GPL-3.0-or-later
"""Rendering a dialogue's .blend: render settings, and a child process that renders the
contact-sheet stills and the MP4 so that a renderer crash (EEVEE or Workbench without an
EGL driver abort the process) or hang cannot take the batch down.

The child loads this file by path (``python -c`` with the bpy module, ``blender -b
--python-expr`` inside Blender), so it imports only the standard library and bpy (and,
as part of the add-on, errors.py)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass

import bpy

if __package__:                 # imported as part of the add-on
    from ..errors import RenderError
else:                           # loaded by path in the render child: no package around it
    RenderError = RuntimeError

ENGINES = ("CYCLES", "EEVEE", "WORKBENCH")
DEFAULT_SAMPLES = {"CYCLES": 4, "EEVEE": 16, "WORKBENCH": 0}
MARK = "@@TIMAR"                 # prefix of the child's progress lines


@dataclass
class RenderOptions:
    engine: str = "CYCLES"       # CYCLES | EEVEE | WORKBENCH
    width: int = 480
    height: int = 270
    samples: int = 0             # 0: the engine's default above

    def samples_used(self) -> int:
        return self.samples or DEFAULT_SAMPLES[self.engine]


def parse_resolution(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().replace(" ", "").split("x"))
    except ValueError:
        raise ValueError(f"--resolution must be WIDTHxHEIGHT, e.g. 480x270, got '{text}'") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise ValueError(f"--resolution {text}: width and height must be 16..8192")
    return w - w % 2, h - h % 2          # H.264 needs even sizes


def engine_id(engine: str) -> str:
    """Blender's id for an engine name; EEVEE is BLENDER_EEVEE_NEXT on 4.2-4.5."""
    if engine == "EEVEE":
        return "BLENDER_EEVEE_NEXT" if bpy.app.version < (5, 0, 0) else "BLENDER_EEVEE"
    return {"CYCLES": "CYCLES", "WORKBENCH": "BLENDER_WORKBENCH"}[engine]


def configure(scene, opts: RenderOptions) -> None:
    """Engine, resolution and quality. Cycles: CPU, no denoising, one bounce (the demo
    heads are diffuse) and persistent data, tuned to render the sample fast on a laptop."""
    r = scene.render
    r.engine = engine_id(opts.engine)
    r.resolution_x, r.resolution_y, r.resolution_percentage = opts.width, opts.height, 100
    samples = opts.samples_used()
    if opts.engine == "CYCLES":
        c = scene.cycles
        c.device = 'CPU'
        c.samples = samples
        c.use_adaptive_sampling = False
        c.use_denoising = False
        c.max_bounces = 1
        r.use_persistent_data = True
    elif opts.engine == "EEVEE":
        scene.eevee.taa_render_samples = samples


def set_movie_output(scene, path: str) -> None:
    """MP4 (H.264 + AAC) to ``path``, with the sequencer's sound strips mixed in."""
    if not bpy.app.build_options.codec_ffmpeg:
        raise RenderError("this Blender build has no FFmpeg: it cannot write MP4")
    im = scene.render.image_settings
    if hasattr(im, "media_type"):       # 5.0: choose video before the file format
        im.media_type = 'VIDEO'
    im.file_format = 'FFMPEG'
    ff = scene.render.ffmpeg
    ff.format, ff.codec = 'MPEG4', 'H264'
    ff.audio_codec = 'AAC' if bpy.app.build_options.audaspace else 'NONE'
    scene.render.use_sequencer = True
    scene.render.use_file_extension = True
    scene.render.filepath = path


def set_png_output(scene, path: str) -> None:
    im = scene.render.image_settings
    if hasattr(im, "media_type"):
        im.media_type = 'IMAGE'
    im.file_format = 'PNG'
    im.color_mode = 'RGB'
    scene.render.filepath = path


# ------------------------------------------------------------------ the child process
def _mark(*parts) -> None:
    print(MARK, *parts, flush=True)


def _exit_with_parent(parent: int | None = None) -> None:
    """End this child when the batch that started it dies (killed job, closed terminal).
    On Linux the kernel kills it at once (PR_SET_PDEATHSIG): a render holds the GIL inside
    Blender's C code for seconds, so a watching thread alone may come too late. Elsewhere,
    and as a fallback, a thread checks the parent every second."""
    parent = parent or os.getppid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)          # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:          # the parent died before the line above ran
        os._exit(3)

    def watch():
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def child_main(spec: dict) -> int:
    """Open the .blend, render the stills then the movie; progress lines start with MARK."""
    _exit_with_parent(spec.get("parent"))
    try:
        bpy.ops.wm.open_mainfile(filepath=spec["blend"], load_ui=False)
        scene = bpy.context.scene
        configure(scene, RenderOptions(**spec["options"]))
        bpy.app.handlers.render_post.append(lambda sc, *_: _mark("frame", sc.frame_current))
        _mark("start")
        for frame in spec.get("stills", []):
            set_png_output(scene, os.path.join(spec["stills_dir"], f"still_{frame:05d}.png"))
            scene.frame_set(frame)
            bpy.ops.render.render(write_still=True)
            _mark("still", frame)
        if spec.get("movie"):
            set_movie_output(scene, spec["movie"])
            _mark("movie", scene.frame_start, scene.frame_end)
            bpy.ops.render.render(animation=True)
        _mark("done")
        return 0
    except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
        _mark("error", f"{type(exc).__name__}: {exc}".replace("\n", " "))
        return 1


_CHILD_CODE = (
    "import importlib.util, json, sys\n"
    "spec = importlib.util.spec_from_file_location('timar_render_child', {path!r})\n"
    "mod = importlib.util.module_from_spec(spec)\n"
    "sys.modules[spec.name] = mod\n"
    "spec.loader.exec_module(mod)\n"
    "code = mod.child_main(json.loads(sys.argv[-1]))\n"
    "sys.stdout.flush()\n"
    "import os; os._exit(code)\n")


def child_command(spec: dict) -> list[str]:
    """The command that renders ``spec``: this Blender binary, or this Python with bpy."""
    code = _CHILD_CODE.format(path=os.path.abspath(__file__))
    arg = json.dumps(spec)
    if bpy.app.binary_path:     # running inside Blender
        return [bpy.app.binary_path, "-b", "--factory-startup", "--python-exit-code", "1",
                "--python-expr", code, "--", arg]
    return [sys.executable, "-c", code, arg]


@dataclass
class ChildResult:
    ok: bool
    message: str
    seconds: float
    frames_rendered: int


def _kill(proc) -> None:
    """Kill the child and its own children (EEVEE's shader compilers hold the pipe open)."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        pass


def run_child(blend: str, opts: RenderOptions, movie: str | None, stills: list[int],
              stills_dir: str, on_progress=None, stall_timeout: float = 300.0) -> ChildResult:
    """Render in a child process; ``on_progress(kind, value)`` gets ('still', frame) and
    ('frame', frame). The child is killed after ``stall_timeout`` s without progress."""
    spec = {"blend": blend, "options": asdict(opts), "movie": movie, "stills": stills,
            "stills_dir": stills_dir, "parent": os.getpid()}
    start = time.monotonic()
    group = {"process_group": 0} if os.name == "posix" else {}
    proc = subprocess.Popen(child_command(spec), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace", **group)
    last = [time.monotonic()]
    stalled = threading.Event()
    done = threading.Event()

    def watchdog():
        while not done.wait(1.0):
            if time.monotonic() - last[0] > stall_timeout:
                stalled.set()
                _kill(proc)
                return

    threading.Thread(target=watchdog, daemon=True).start()
    tail: deque[str] = deque(maxlen=30)
    error, frames = None, 0
    try:
        for line in proc.stdout:
            line = line.rstrip()
            if not line.startswith(MARK):
                if line and not line.lstrip().startswith(("Fra:", "Video append")):
                    tail.append(line)
                continue
            last[0] = time.monotonic()
            parts = line[len(MARK):].split(maxsplit=1)
            kind, value = parts[0], parts[1] if len(parts) > 1 else ""
            if kind == "error":
                error = value
            elif kind == "frame":
                frames += 1
            if on_progress is not None and kind in ("frame", "still", "movie"):
                on_progress(kind, value)
        proc.wait()
    finally:
        done.set()
        if proc.poll() is None:
            _kill(proc)
            proc.wait()
    seconds = time.monotonic() - start
    if proc.returncode == 0:
        return ChildResult(True, "", seconds, frames)
    return ChildResult(False, _failure(opts.engine, proc.returncode, stalled.is_set(),
                                       stall_timeout, error, tail), seconds, frames)


def _failure(engine, code, stalled, stall_timeout, error, tail) -> str:
    if stalled:
        why = f"no progress for {stall_timeout:.0f} s, stopped it"
    elif error:
        why = error
    elif code < 0:
        why = f"the renderer crashed (signal {-code})"
    else:
        lines = [t for t in tail if "rror" in t] or list(tail)
        why = f"exit code {code}" + (f": {lines[-1].strip()}" if lines else "")
    if engine != "CYCLES":
        return (f"{engine} render failed ({why}); {engine} needs an OpenGL/EGL driver (a GPU, "
                "or Mesa for headless machines): use --engine CYCLES here")
    return f"render failed ({why})"
