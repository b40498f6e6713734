"""Issue 19, classes 4 to 7 in the extension, in real Blender with the real tiny model: a
hostile audio header, a FIFO, broken weights and malformed preset JSON are one-line operator
errors that change nothing; an unexpected exception (a bug) in an operator or the worker is
one line, ``internal error: ...; details in <log>``, with the traceback in that log."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

if "bpy" not in sys.modules:  # isolate prefs and extensions from the user's own
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="timar_bl_")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pytest  # noqa: E402
import torch  # noqa: E402

bpy = pytest.importorskip("bpy")

from timar_blender import jobs, ops_generate  # noqa: E402
from model_core.last_resort import LOG_DIR_ENV  # noqa: E402

from blender_setup import addon, quick_scene  # noqa: E402,F401  (fixtures: scene)
from hostile_files import write_wav  # noqa: E402


def actions():
    return sorted(a.name for a in bpy.data.actions)


def generate_error() -> str:
    with pytest.raises(RuntimeError) as info:
        bpy.ops.timar.generate()
    return str(info.value)


@pytest.mark.parametrize("rate", [40_000_000, 1])
def test_an_absurd_sample_rate_is_one_line_and_changes_nothing(rate, scene, tmp_path):
    scene.timar.speaker_a.audio = str(write_wav(tmp_path / "a.wav", rate))
    before = actions()
    text = generate_error()
    assert "samples per second" in text and "ZeroDivision" not in text and "Traceback" not in text
    assert actions() == before


def test_a_fifo_as_audio_is_refused_at_once(scene, tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    scene.timar.speaker_b.audio = str(fifo)
    assert "is a FIFO (named pipe), not a file" in generate_error()


def test_weights_scaled_by_50_are_an_error_naming_the_checkpoint(scene, tiny_checkpoint, tmp_path):
    payload = torch.load(tiny_checkpoint, weights_only=True)
    payload["state_dict"] = {k: v * 50 if v.is_floating_point() else v
                             for k, v in payload["state_dict"].items()}
    torch.save(payload, tmp_path / "scaled.pt")
    scene.timar.checkpoint = str(tmp_path / "scaled.pt")
    before = actions()
    text = generate_error()
    assert "far outside FLAME's ranges at turn 1" in text and "scaled.pt" in text
    assert actions() == before


def test_malformed_preset_json_is_one_line(scene, tmp_path):
    mapping = tmp_path / "map.json"
    mapping.write_text('{"bones": [1], "shape_keys": [{"name": "x", "repeat": 3000000}]}')
    scene.timar.speaker_a.preset = 'CUSTOM'
    scene.timar.speaker_a.mapping_file = str(mapping)
    text = generate_error()
    assert "map.json: invalid rig mapping (" in text and "Traceback" not in text


def test_a_bug_in_an_operator_is_one_line_naming_its_log(scene, tmp_path, monkeypatch):
    monkeypatch.setenv(LOG_DIR_ENV, str(tmp_path / "logs"))

    def broken(*_args):
        raise IndexError("injected bug")
    monkeypatch.setattr(ops_generate, "build_job", broken)
    before = actions()
    text = generate_error()
    assert "internal error: IndexError: injected bug; details in " in text
    log = Path(text.rpartition("details in ")[2].strip())
    assert log.parent == tmp_path / "logs" and "in broken" in log.read_text()
    assert actions() == before


def test_a_bug_in_the_worker_is_one_line_naming_its_log(tmp_path, monkeypatch):
    monkeypatch.setenv(LOG_DIR_ENV, str(tmp_path / "logs"))
    job = jobs.Job.__new__(jobs.Job)
    job.fail("generation failed: KeyError('x')", "Traceback (most recent call last):\n  ...\nKeyError: 'x'\n")
    assert job.state == "error"
    assert job.error.startswith("internal error: generation failed: KeyError('x'); details in ")
    log = Path(job.error.rpartition("details in ")[2])
    assert "KeyError: 'x'" in log.read_text()
