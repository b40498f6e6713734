# SPDX-License-Identifier: GPL-3.0-or-later
"""A generation on the main thread's side: the heads it writes, the worker's messages it
applies (messages.py), progress, and the two ways to run it.

- Interactive: ``start(job)`` launches the worker thread and registers ``poll`` as a
  ``bpy.app.timers`` callback that drains the queue and writes each turn as it arrives.
- Background (``blender -b``, the bpy module; no timers): ``run_sync(job)``.
``shutdown()`` stops both the thread and the timer (unregister, file load, exit)."""
from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

import bpy
import numpy as np

from . import core, generation
from .core import TimarError
from .errors import GenerationError
from .messages import Cancelled, Failed, Finished, Message, TakeDone, TurnDone
from .rig.dials import Dials
from .rig.head import partner_look, resolve_head
from .rig.preset import Preset
from .rig.take import TakeSettings, TakeWriter

POLL_INTERVAL = 0.1


@dataclass
class HeadTarget:
    label: str              # "A" or "B"
    head_name: str
    preset: Preset
    dials: Dials | None = None          # None: the job's settings as they are


@dataclass
class Job:
    scene_name: str
    request: generation.Request
    heads: list[HeadTarget]
    start_frame: int
    settings: TakeSettings
    writers: dict = field(default_factory=dict)        # (take, label) -> TakeWriter
    progress: generation.GenerationProgress = field(
        default_factory=generation.GenerationProgress)
    warnings: list = field(default_factory=list)
    rig_reports: dict = field(default_factory=dict)     # label -> rig/report.py's dict
    error: str | None = None
    state: str = "running"                              # running, done, cancelled, error
    started: float = field(default_factory=time.monotonic)
    worker: generation.Worker | None = None
    # called with the progress after each turn is written (the batch's progress lines)
    on_turn: Callable[[generation.GenerationProgress], None] | None = None

    def handle(self, msg: Message) -> None:
        """Apply one worker message (messages.py)."""
        if isinstance(msg, TurnDone):
            self._write_turn(msg.take, msg.turn)
            if self.on_turn is not None:
                self.on_turn(self.progress)
        elif isinstance(msg, TakeDone):
            self.warnings += [w for w in msg.warnings if w not in self.warnings]
        elif isinstance(msg, Finished):
            self.check_heads()          # never "done" on a head that is gone
            self.state = "done"
        elif isinstance(msg, Cancelled):
            self.state = "cancelled"
        elif isinstance(msg, Failed):
            self.fail(msg.message, msg.traceback)
        else:
            raise TypeError(f"not a worker message: {msg!r}")

    def fail(self, message: str, trace: str | None = None) -> None:
        """End in error; a bug's traceback goes to a log file, named in the one-line error."""
        if trace:
            log = core.last_resort.write_text_log(trace, "addon")
            message = core.last_resort.internal_error_line(message, log)
        self.state, self.error = "error", message

    def fail_with(self, exc: Exception) -> None:
        """End in error from an exception raised on this side: a user error as its line,
        anything else (a bug) with its traceback."""
        if isinstance(exc, TimarError):      # the add-on's UserError or the core's
            self.fail(str(exc))
        else:
            self.fail(f"writing the keys failed: {exc!r}", traceback.format_exc())

    def check_heads(self) -> None:
        """Raise GenerationError when a head of this job was deleted (or renamed) while it
        was generated: the run stops with a message instead of writing on and reporting done."""
        heads = [t.head_name for t in self.heads]      # an object, or a collection (batch)
        keyed = [n for w in self.writers.values() for n in (w.mesh_name, w.arm_name) if n]
        gone = [n for n in dict.fromkeys(heads) if _find_head(n) is None] + \
            [n for n in dict.fromkeys(keyed) if bpy.data.objects.get(n) is None]
        for name in gone[:1]:      # the head, or the mesh/armature keyed for it
                raise GenerationError(f"the head '{name}' was removed (or renamed) "
                                      "while it was generated; the run stopped: add the head "
                                      "back (or undo) and generate again")

    def _write_turn(self, take: int, turn) -> None:
        scene = bpy.data.scenes[self.scene_name]
        self.check_heads()
        for target in self.heads:    # checked before any action is made for it
            motion = turn.motion_a if target.label == "A" else turn.motion_b
            if not np.isfinite(motion).all():
                raise GenerationError(
                    f"the model produced NaN or infinite motion at turn {int(turn.index) + 1} "
                    "(broken weights or an extreme option); check the model and the options")
        if any((take, t.label) not in self.writers for t in self.heads):
            self._start_take(scene, take)
        for target in self.heads:
            motion = turn.motion_a if target.label == "A" else turn.motion_b
            # the face frames: the mouth head's, or what the FLAME motion implies
            face = turn.face_a if target.label == "A" else turn.face_b
            self.writers[(take, target.label)].append(motion, face)
        p = self.progress
        p.turns_total = int(turn.total_turns) * self.request.takes
        p.turns_done = take * int(turn.total_turns) + int(turn.index) + 1
        p.elapsed = time.monotonic() - self.started
        p.audio_done = (take * int(turn.total_turns) * 1.0 + float(turn.audio_seconds_done))

    def _start_take(self, scene, take: int) -> None:
        """Writers for every head of a take: each head's rig resolved, its dials, its
        eyes aimed at the partner's head; the rig reports and their warnings kept."""
        rigs = {}
        for target in self.heads:
            head = _find_head(target.head_name)
            if head is None:
                raise GenerationError(f"the head '{target.head_name}' was removed "
                                      "while it was generated")
            rigs[target.label] = resolve_head(head, target.preset)
        for target in self.heads:
            if (take, target.label) in self.writers:
                continue
            rig = rigs[target.label]
            partner = rigs.get("B" if target.label == "A" else "A")
            settings = TakeSettings(**{**self.settings.__dict__,
                                       "seed": self.settings.seed + 101 * take
                                       + (0 if target.label == "A" else 53),
                                       "look_at": partner_look(rig, partner)})
            if target.dials is not None:
                settings = settings.with_dials(target.dials)
            writer = TakeWriter(scene, rig, target.preset, self.start_frame, None, settings)
            self.writers[(take, target.label)] = writer
            if take == 0:
                report = {**writer.rig_report, "dials": settings.dials().as_dict()}
                self.rig_reports[target.label] = report
                self.warnings += [w for w in report["warnings"] if w not in self.warnings]

    def head_summaries(self) -> list[str]:
        """One line per head: what its take drives (rig/report.py)."""
        return [f"{label}: {r['summary']}" for label, r in sorted(self.rig_reports.items())]

    def discard_empty_takes(self) -> None:
        """After a failure: a take that got no valid frame is removed, and the actions that
        were active before it are active again (a take with frames stays, as on cancel)."""
        for key, writer in list(self.writers.items()):
            if len(writer.motion) == 0:
                writer.discard()
                del self.writers[key]

    @property
    def take_names(self) -> list[str]:
        return sorted({w.take_name for w in self.writers.values()})

    def summary(self) -> str:
        takes = ", ".join(self.take_names) or "no keys"
        return f"TIMAR: {self.state} ({self.progress.text()}): {takes}"

    def outcome(self) -> str:
        """How the run ended, for the panel's status line and the status bar."""
        takes = ", ".join(self.take_names)
        p = self.progress
        if self.state == "cancelled":
            return (f"Cancelled: kept {p.turns_done} of {p.turns_total} turns "
                    f"({takes or 'nothing written'})")
        if self.state == "error":
            return f"Failed: {self.error}" + (f" (kept the partial take: {takes})"
                                              if takes else "")
        if self.state == "done":
            return f"Done: {p.text()} ({takes or 'no keys'})"
        return p.text()


def _find_head(name: str):
    """A head by name: an object, else a collection (the batch may name one)."""
    return bpy.data.objects.get(name) or bpy.data.collections.get(name)


_job: Job | None = None
_lock = threading.Lock()


def current() -> Job | None:
    return _job


def is_running() -> bool:
    return _job is not None and _job.state == "running"


def _progress_props():
    wm = bpy.context.window_manager if bpy.context else None
    return getattr(wm, "timar_progress", None) if wm else None


def _show_progress(job: Job) -> None:
    """The panel's bar and line: progress while running, then how the run ended."""
    props = _progress_props()
    if props is not None:
        props.running = job.state == "running"
        props.factor = job.progress.factor
        props.text = job.progress.text() if job.state == "running" else job.outcome()
    for window in getattr(bpy.context.window_manager, "windows", []):
        for area in window.screen.areas:
            if area.type in {'VIEW_3D', 'PREFERENCES'}:
                area.tag_redraw()


def _in_window(op, **kwargs) -> None:
    """Call an operator from a timer with a window in the context (status bar reports,
    undo pushes); where that is impossible (not registered, no window) a console line
    says so instead."""
    try:
        windows = bpy.context.window_manager.windows
        if len(windows) and bpy.context.window is None:
            with bpy.context.temp_override(window=windows[0]):
                op(**kwargs)
        else:
            op(**kwargs)
    except (RuntimeError, AttributeError, TypeError) as exc:   # not registered, no context
        print(f"TIMAR: could not call {kwargs or 'an operator'} from the timer: {exc}")


def _report(kind: str, message: str) -> None:
    """A report in the status bar and Info editor from outside an operator."""
    print(f"TIMAR {kind}: {message}")
    _in_window(bpy.ops.timar.report_message, kind=kind, message=message)


def _finish(job: Job) -> None:
    global _job
    if job.state == "error":
        job.discard_empty_takes()
    _show_progress(job)
    if job.state == "error":
        _report('ERROR', job.outcome())
    elif job.state == "cancelled":
        _report('WARNING', job.outcome())
    else:
        for w in job.warnings:
            _report('WARNING', w)
        for line in job.head_summaries():
            _report('INFO', line)
        _report('INFO', job.summary())
    if job.writers and not bpy.app.background:
        # the operator pushed "Generate" before any key: this closes the step, so one
        # undo removes the whole generation
        _in_window(bpy.ops.ed.undo_push, message="TIMAR Generate")
    with _lock:
        if _job is job:
            _job = None
    props = _progress_props()
    if props is not None:
        props.running = False


def poll():
    """Timer callback: apply queued turns; returns the next interval, None when finished."""
    job = _job
    if job is None or job.worker is None:
        return None
    try:
        for msg in job.worker.messages():
            job.handle(msg)
    except Exception as exc:  # noqa: BLE001 - a head deleted mid-run, or a bug (traceback)
        job.worker.cancel()
        job.fail_with(exc)
    job.progress.elapsed = time.monotonic() - job.started
    if job.state != "running":
        if job.worker.thread.is_alive() and job.state == "error":
            job.worker.stop(timeout=5)
        _finish(job)
        return None
    _show_progress(job)
    return POLL_INTERVAL


def start(job: Job, use_timer: bool = True) -> Job:
    """Start the worker thread; with ``use_timer`` the app timer drains it (tests call
    ``poll()`` themselves)."""
    global _job
    with _lock:
        if is_running():
            raise GenerationError("a TIMAR generation is already running")
        _job = job
    job.started = time.monotonic()
    job.worker = generation.Worker(job.request).start()
    _show_progress(job)
    if use_timer and not bpy.app.timers.is_registered(poll):
        bpy.app.timers.register(poll, first_interval=POLL_INTERVAL, persistent=False)
    return job


def cancel() -> bool:
    job = _job
    if job is None or job.worker is None:
        return False
    job.worker.cancel()
    return True


def run_sync(job: Job) -> Job:
    """Generate in this thread, writing each turn at once (background mode, scripts)."""
    wm = bpy.context.window_manager
    job.started = time.monotonic()
    wm.progress_begin(0, 1000)

    def emit(msg):
        job.handle(msg)
        wm.progress_update(int(job.progress.factor * 1000))

    try:
        generation.run(job.request, emit, threading.Event())
    except Exception as exc:  # noqa: BLE001 - writing failed: a user error, or a bug (traceback)
        job.fail_with(exc)
    finally:
        if job.state == "error":
            job.discard_empty_takes()
        wm.progress_end()
        job.progress.elapsed = time.monotonic() - job.started
        _show_progress(job)
    return job


# The worker checks for cancel between turns, so stopping it waits out the turn in flight.
# That wait must cover a whole turn: a thread still inside torch when Python exits aborts
# Blender ("terminate called without an active exception"), and a turn of the official
# weights on a CPU, or of any model on a loaded one, can take well over 10 s.
SHUTDOWN_WAIT_S = 120.0


def shutdown() -> None:
    """Stop the worker and unregister the timer (unregister, new file, quit)."""
    global _job
    job = _job
    if job is not None and job.worker is not None:
        job.worker.stop(timeout=SHUTDOWN_WAIT_S)
    _job = None
    if bpy.app.timers.is_registered(poll):
        bpy.app.timers.unregister(poll)
