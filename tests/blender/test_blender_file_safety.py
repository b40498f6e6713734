# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 19, class 8 in the extension, in real Blender with the real tiny model: the same
head for speakers A and B is refused before any scene change; a head deleted while the
worker runs stops the run with a message (never "Done"). The extension writes no files
(its results are keys in the open scene), so classes 1-3 have nothing to check here."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

if "bpy" not in sys.modules:  # isolate prefs and extensions from the user's own
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="timar_bl_")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pytest  # noqa: E402

bpy = pytest.importorskip("bpy")

from timar_blender import jobs, ops_generate  # noqa: E402
from timar_blender.errors import GenerationError  # noqa: E402
from timar_blender.messages import Finished  # noqa: E402

from blender_setup import addon, quick_scene  # noqa: E402,F401  (fixtures: scene)


def _drain(job, remove_after: int | None = None, head: str = "TIMAR B"):
    for _ in range(20000):
        if remove_after is not None and job.progress.turns_done >= remove_after \
                and head in bpy.data.objects:
            bpy.data.objects.remove(bpy.data.objects[head])
        if jobs.poll() is None:
            return
        job.worker.thread.join(0.02)
    raise AssertionError("the run did not end")


def test_the_same_head_for_a_and_b_is_refused(scene):
    s = scene.timar
    s.speaker_b.head = s.speaker_a.head
    actions = sorted(a.name for a in bpy.data.actions)
    with pytest.raises(RuntimeError, match="speakers A and B both use the head 'TIMAR A'"):
        bpy.ops.timar.generate()                 # the operator reports the error, cancels
    with pytest.raises(GenerationError, match="choose a different head object for each"):
        ops_generate.build_job(scene, 'A')       # a preview with B given is refused too
    assert sorted(a.name for a in bpy.data.actions) == actions and jobs.current() is None


def test_a_head_deleted_mid_run_stops_the_run(scene, long_audio_pair):
    scene.timar.speaker_a.audio, scene.timar.speaker_b.audio = long_audio_pair
    job = ops_generate.build_job(scene)
    jobs.start(job, use_timer=False)
    _drain(job, remove_after=2)
    p = job.progress
    assert job.state == "error" and p.turns_done < p.turns_total, job.outcome()
    assert "the head 'TIMAR B' was removed (or renamed) while it was generated" in job.error
    line = bpy.context.window_manager.timar_progress.text
    assert line.startswith("Failed: the head 'TIMAR B' was removed"), line
    assert not line.startswith("Done")


def test_a_head_deleted_after_the_last_turn_is_not_done(scene):
    """Between the last turn and the worker's Finished: the job still does not say done."""
    job = ops_generate.build_job(scene)
    bpy.data.objects.remove(bpy.data.objects["TIMAR A"])
    with pytest.raises(GenerationError, match="'TIMAR A' was removed"):
        job.handle(Finished())
    assert job.state == "running"
