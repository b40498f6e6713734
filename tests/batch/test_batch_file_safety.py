# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 19, classes 1, 2, 3 and 8 in the batch: no output is any input (template, audio,
motion npz, mapping .json, checkpoint, manifest; by resolved path and file identity),
checked before any work; the lock, temporaries and outputs are never written through a
link or over a non-file, and a dialogue cleans only its own temporaries; one dialogue's
.blend, movie and contact sheet are one set (a failed re-run leaves the earlier set whole,
the report says which take each file belongs to); the same head for A and B is refused."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="timar_bl_"))
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import pytest  # noqa: E402

pytest.importorskip("bpy")

from helpers import write_speech_pair  # noqa: E402
from timar_blender import batch  # noqa: E402
from timar_blender.batch.outputs import Outputs  # noqa: E402

FAST = ["--steps", "1", "--context-turns", "1"]
SMALL = ["--resolution", "64x36", "--samples", "1", "--frames-step", "25"]


def run_batch(*args, timeout=900):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "timar_blender.batch", *map(str, args)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    log = proc.stdout + proc.stderr
    assert "Traceback" not in log, log
    return proc.returncode, log


def in_process(capsys, *args) -> tuple[int, str]:
    """The batch's main here (checks that stop before any Blender work); a traceback fails."""
    capsys.readouterr()
    code = batch.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def one_error_line(code: int, log: str) -> str:
    assert code == 2, log
    lines = [ln for ln in log.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("timar batch: error: "), log
    return lines[0]


def report(out: Path, name: str) -> dict:
    return json.loads((out / f"{name}_report.json").read_text())


def snapshot(folder: Path) -> dict:
    return {p.name: (("link", os.readlink(p)) if p.is_symlink() else
                     ("dir",) if p.is_dir() else p.read_bytes())
            for p in sorted(folder.iterdir())}


@pytest.fixture
def pair(tmp_path):
    (tmp_path / "in").mkdir()
    return write_speech_pair(tmp_path / "in", 2.0)


# ----------------------------------------------------------------------- 1. inputs are sacred
@pytest.mark.parametrize("how", ["same_path", "hard_link"])
def test_a_template_where_the_blend_goes_is_refused(capsys, tmp_path, pair, tiny_checkpoint, how):
    """A batch whose --out held its --template under the dialogue's name once overwrote the
    template with the result."""
    out = tmp_path / "out"
    out.mkdir()
    template = out / "talk.blend" if how == "same_path" else tmp_path / "studio.blend"
    template.write_bytes(b"BLENDER-v500 the studio's template")
    if how == "hard_link":
        os.link(template, out / "talk.blend")
    before = template.read_bytes()
    line = one_error_line(*in_process(
        capsys, "--audio-a", pair[0], "--audio-b", pair[1], "--name", "talk",
        "--template", template, "--head-a", "A", "--head-b", "B", "--out", out,
        "--checkpoint", tiny_checkpoint))
    assert "the dialogue's blend ('talk')" in line and f"dialogue 'talk's template {template}" in line
    assert "inputs are never written" in line
    assert template.read_bytes() == before and not (out / ".talk.lock").exists()


def test_every_input_kind_is_compared(capsys, tmp_path, pair, tiny_checkpoint):
    out = tmp_path / "out"
    out.mkdir()
    from model_core.face.flame import write_motion_npz
    import numpy as np
    npz = tmp_path / "b.npz"
    write_motion_npz(npz, np.zeros((50, 56), np.float32))
    mapping = tmp_path / "rig.json"
    mapping.write_text("{}")
    cases = [  # (output name that is made the same file as the input, extra arguments, label)
        ("talk.mp4", ["--motion-b", npz], "dialogue 'talk's motion_b"),
        ("talk_contact.png", ["--preset", mapping], "dialogue 'talk's preset"),
        ("talk_report.json", [], "dialogue 'talk's audio_a"),
        (".talk.lock", [], "--checkpoint"),
    ]
    for output, extra, label in cases:
        victim = {"dialogue 'talk's motion_b": npz, "dialogue 'talk's preset": mapping,
                  "dialogue 'talk's audio_a": Path(pair[0]),
                  "--checkpoint": Path(tiny_checkpoint)}[label]
        (out / output).unlink(missing_ok=True)
        os.link(victim, out / output)
        before = victim.read_bytes()
        line = one_error_line(*in_process(
            capsys, "--audio-a", pair[0], "--audio-b", pair[1], "--name", "talk", "--out", out,
            "--checkpoint", tiny_checkpoint, *extra))
        assert f"would overwrite {label}" in line, line
        assert victim.read_bytes() == before
        (out / output).unlink()


def test_manifest_rows_and_the_manifest_itself_are_inputs(capsys, tmp_path, pair, tiny_checkpoint):
    out = tmp_path / "out"
    out.mkdir()
    # row 2's template is row 1's result
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps([
        {"audio_a": pair[0], "audio_b": pair[1], "name": "one"},
        {"audio_a": pair[0], "audio_b": pair[1], "name": "two", "template": str(out / "one.blend"),
         "head_a": "A", "head_b": "B"}]))
    line = one_error_line(*in_process(capsys, "--manifest", manifest, "--out", out,
                                      "--checkpoint", tiny_checkpoint))
    assert "('one')" in line and "dialogue 'two's template" in line
    # the manifest where the summary goes
    inside = out / "batch_summary.json"
    inside.write_text(json.dumps([{"audio_a": pair[0], "audio_b": pair[1], "name": "x"}]))
    before = inside.read_bytes()
    line = one_error_line(*in_process(capsys, "--manifest", inside, "--out", out,
                                      "--checkpoint", tiny_checkpoint))
    assert "the batch summary" in line and "would overwrite the manifest" in line
    assert inside.read_bytes() == before


# ----------------------------------------------------------------------- 8. the same head twice
def test_the_same_head_for_a_and_b_is_refused(capsys, tmp_path, pair):
    (tmp_path / "t.blend").write_bytes(b"BLENDER")
    line = one_error_line(*in_process(
        capsys, "--audio-a", pair[0], "--audio-b", pair[1], "--template", tmp_path / "t.blend",
        "--head-a", "Face", "--head-b", "Face", "--out", tmp_path / "out"))
    assert "head_a and head_b are both 'Face'" in line and "two different head objects" in line
    manifest = tmp_path / "m.csv"
    manifest.write_text("audio_a,audio_b,template,head_a,head_b\n"
                        f"{pair[0]},{pair[1]},t.blend,Ann,Bob\n"
                        f"{pair[0]},{pair[1]},t.blend,Ann,Ann\n")
    # a manifest row with one head twice fails on its own, reported before any work; the
    # other rows go on (issue 19, class 5: every bad row reported, the good ones made)
    code, log = in_process(capsys, "--manifest", manifest, "--out", tmp_path / "out")
    assert code == 1 and "1 of 2 dialogues have bad input and will fail" in log, (code, log)
    assert "line 3: cannot be made: head_a and head_b are both 'Ann'" in log
    assert "line 2: cannot be made" not in log
    summary = json.loads((tmp_path / "out" / "batch_summary.json").read_text())
    assert [d["status"] for d in summary["dialogues"]] == ["failed", "failed"]
    assert "both 'Ann'" in summary["dialogues"][1]["error"]


# ----------------------------------------------------------------------- 2. only plain files of ours
@pytest.mark.parametrize("dangling", [False, True])
def test_a_linked_lock_file_is_refused_and_the_rest_goes_on(capsys, tmp_path, pair,
                                                            tiny_checkpoint, dangling):
    """With out/.n.lock -> /tmp/victim a batch once overwrote the victim with the lock's
    text; a dangling link created a file elsewhere."""
    out, victim = tmp_path / "out", tmp_path / "victim"
    out.mkdir()
    if not dangling:
        victim.write_text("precious")
    (out / ".talk.lock").symlink_to(victim)
    code, log = in_process(capsys, "--audio-a", pair[0], "--audio-b", pair[1], "--name", "talk",
                           "--out", out, "--checkpoint", tiny_checkpoint, "--list")
    assert code == 0                                          # listing takes no lock
    code, log = in_process(capsys, "--audio-a", pair[0], "--audio-b", pair[1], "--name", "talk",
                           "--out", out, "--checkpoint", tiny_checkpoint)
    assert code == 1, log
    assert ".talk.lock is a symbolic link" in log and "remove it" in log
    assert (victim.read_text() == "precious") if not dangling else not victim.exists()
    summary = json.loads((out / "batch_summary.json").read_text())
    assert summary["failed"] == 1 and "symbolic link" in summary["dialogues"][0]["error"]
    assert sorted(p.name for p in out.iterdir()) == [".talk.lock", "batch_summary.json"]


def test_links_at_output_names_and_other_dialogues_temporaries(tmp_path, pair, tiny_checkpoint):
    """A link where x.blend goes fails dialogue x with a message (the victim untouched);
    x's run cleans only its own temporaries, never those of x.y or x_contact (another
    shard may be writing them); dialogue y in the same batch is made."""
    out, victim = tmp_path / "out", tmp_path / "victim.blend"
    out.mkdir()
    victim.write_bytes(b"precious")
    (out / "x.blend").symlink_to(victim)
    others = [Outputs(out, n).temp(r) for n in ("x.y", "x_contact") for r in ("blend", "report")]
    mine = [Outputs(out, "x").temp(r) for r in ("blend", "mp4", "report")]
    for p in others + mine:
        p.write_bytes(b"partial")
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"audio_a,audio_b,name\n{pair[0]},{pair[1]},x\n{pair[0]},{pair[1]},y\n")
    code, log = run_batch("--manifest", manifest, "--out", out, "--checkpoint", tiny_checkpoint,
                          *FAST)
    assert code == 1, log
    rep = report(out, "x")
    assert rep["status"] == "failed" and "x.blend is a symbolic link" in rep["error"]
    assert victim.read_bytes() == b"precious" and (out / "x.blend").is_symlink()
    assert report(out, "y")["status"] == "ok" and (out / "y.blend").is_file()
    assert all(p.read_bytes() == b"partial" for p in others)
    assert not any(p.exists() for p in mine)


# ----------------------------------------------------------------------- 3. one set per take
def test_a_failed_rerun_leaves_the_earlier_set_whole(tmp_path, pair, tiny_checkpoint):
    """A re-run whose render fails after the .blend is saved once replaced n.blend while
    the old seed's n.mp4 and contact sheet stayed beside it. Now the render reads a
    temporary .blend and nothing is published until the whole set is made."""
    out = tmp_path / "out"
    common = ["--audio-a", pair[0], "--audio-b", pair[1], "--name", "n", "--out", out,
              "--checkpoint", tiny_checkpoint, *FAST]
    code, log = run_batch(*common, "--render", *SMALL)
    assert code == 0, log
    first = report(out, "n")
    take = first["take"]["id"]
    assert first["take"]["seed"] == 0 and len(take) == 12
    assert first["files"] == {r: {"name": n, "take": take} for r, n in
                              (("blend", "n.blend"), ("mp4", "n.mp4"),
                               ("contact", "n_contact.png"))}
    files = {n: (out / n).read_bytes() for n in ("n.blend", "n.mp4", "n_contact.png")}

    # seed 5, and a render that is stopped at once (no progress within 0.01 s; the watchdog
    # looks once a second, so the render is made too long to be over by then)
    code, log = run_batch(*common, "--render", "--resolution", "320x180", "--samples", "16",
                          "--frames-step", "1", "--seed", "5", "--render-timeout", "0.01")
    assert code == 1, log
    failed = report(out, "n")
    assert failed["status"] == "failed" and failed["take"]["seed"] == 5
    assert failed["take"]["id"] != take and failed["outputs"] == {}
    assert failed["files"] == first["files"]          # what is on disk: the earlier take
    assert {n: (out / n).read_bytes() for n in files} == files
    assert not [p.name for p in out.iterdir() if ".partial" in p.name]

    # seed 7 without --render: the new .blend, and the earlier take's movie and sheet go
    code, log = run_batch(*common, "--seed", "7")
    assert code == 0, log
    third = report(out, "n")
    assert third["status"] == "ok"
    assert third["files"] == {"blend": {"name": "n.blend", "take": third["take"]["id"]}}
    assert (out / "n.blend").read_bytes() != files["n.blend"]
    assert not (out / "n.mp4").exists() and not (out / "n_contact.png").exists()
    inspect = ("import bpy, sys; bpy.ops.wm.open_mainfile(filepath=sys.argv[1]); "
               "print(bpy.context.scene['timar_take'])")
    seen = subprocess.run([sys.executable, "-c", inspect, str(out / "n.blend")],
                          capture_output=True, text=True, timeout=300)
    assert seen.stdout.strip().splitlines()[-1] == third["take"]["id"], seen.stderr


def test_a_run_killed_while_publishing_is_redone(tmp_path):
    """The report says "publishing" from before the first rename to the final report: a
    batch killed in between leaves a dialogue that the next run redoes, never skips."""
    from timar_blender.batch import outputs as batch_outputs
    from timar_blender.batch.manifest import DialogueSpec
    from timar_blender.batch.settings import BatchSettings
    d = DialogueSpec("talk", str(tmp_path / "a.wav"), str(tmp_path / "b.wav"))
    s = BatchSettings(out=tmp_path, checkpoint=str(tmp_path / "ck.pt"))
    out = Outputs(tmp_path, "talk")
    out.blend.write_bytes(b"BLENDER")
    batch_outputs.write_json(out.report, {"status": "publishing", "settings": s.describe(d)},
                             out.temp("report"))
    assert batch_outputs.completion(out, s.describe(d), False) == \
        "the last run stopped while it replaced the files"
    batch_outputs.write_json(out.report, {"status": "ok", "settings": s.describe(d)})
    assert batch_outputs.completion(out, s.describe(d), False) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["talk.blend", "talk_report.json"]
