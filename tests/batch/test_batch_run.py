# SPDX-License-Identifier: GPL-3.0-or-later
"""The batch end to end, as a studio runs it: ``python -m timar_blender.batch`` in a fresh
process with the real tiny checkpoint and real audio files. A manifest with a failing
dialogue and a template; MP4 with picture and sound, contact sheet and report; re-runs that
skip what is complete; shards; a batch killed mid-render that resumes; the Blender-style
``-- ARGS`` form; the missing bundled model; EEVEE/Workbench kept in a child process.
The .blend files are checked in another process so this one's Blender state is untouched."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="timar_bl_"))
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

bpy = pytest.importorskip("bpy")
sf = pytest.importorskip("soundfile")

from timar_blender.batch.mp4 import mp4_tracks  # noqa: E402

HAS_AUDIO = bpy.app.build_options.audaspace
SMALL = ["--resolution", "64x36", "--samples", "1"]


def tone(path: Path, seconds: float, freq: float) -> str:
    """Speech-like: a tone switched on and off at syllable rate."""
    t = np.arange(int(seconds * 16000)) / 16000
    on = np.sin(2 * np.pi * 3.0 * t + freq) > 0
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t) * on).astype(np.float32), 16000)
    return str(path)


def env(**extra) -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    e["BLENDER_USER_RESOURCES"] = os.environ["BLENDER_USER_RESOURCES"]
    e.update(extra)
    return e


def run_group(cmd: list[str], timeout: float, **kw) -> subprocess.CompletedProcess:
    """Run a command in its own process group; on timeout kill the whole group (the batch
    and its render child) and fail with what it printed. CI machines are slow and shared,
    so limits are generous: a hung run fails, a slow one passes."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kw)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(cmd[:4])}... ran over {timeout} s\n{out[-2000:]}\n{err[-2000:]}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def batch(*args, cwd=None, timeout=900, **extra_env) -> subprocess.CompletedProcess:
    proc = run_group([sys.executable, "-m", "timar_blender.batch", *map(str, args)],
                     timeout, cwd=cwd or REPO, env=env(**extra_env))
    print(proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains ``text`` (Linux /proc)."""
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = next((l for l in (d / "status").read_text().splitlines()
                              if l.startswith("State:")), "")
            except OSError:
                continue
            if text in cmd and "zombie" not in state:
                found.append(int(d.name))
    return found


INSPECT = r"""
import bpy, json, sys, numpy as np
bpy.ops.wm.open_mainfile(filepath=sys.argv[1], load_ui=False)
sc = bpy.context.scene
se = sc.sequence_editor
from timar_blender import sequencer
strips = [] if se is None else list(sequencer.strips(se))
def animated(o):
    ids = [o] + ([o.data.shape_keys] if o.type == 'MESH' and o.data.shape_keys else [])
    return [i.animation_data.action.name for i in ids if i.animation_data and i.animation_data.action]
out = {"frames": [sc.frame_start, sc.frame_end], "fps": sc.render.fps,
       "strips": sorted((s.name, s.type, sequencer.visible_start(s)) for s in strips),
       "animated": {o.name: animated(o) for o in bpy.data.objects if animated(o)},
       "engine": sc.render.engine, "res": [sc.render.resolution_x, sc.render.resolution_y],
       "output": sc.render.filepath, "objects": sorted(o.name for o in bpy.data.objects)}
if len(sys.argv) > 2:
    img = bpy.data.images.load(sys.argv[2])
    px = np.empty(img.size[0] * img.size[1] * 4, np.float32)
    img.pixels.foreach_get(px)
    out["movie"] = {"size": list(img.size), "frames": img.frame_duration,
                    "mean": float(px.reshape(-1, 4)[:, :3].mean())}
    if bpy.app.build_options.audaspace:
        import aud
        sound = aud.Sound(sys.argv[2])
        data = sound.data()
        out["sound"] = {"seconds": len(data) / sound.specs[0],
                        "rms": float(np.sqrt((data ** 2).mean()))}
print("RESULT" + json.dumps(out))
"""


def inspect(blend: Path, movie: Path | None = None) -> dict:
    proc = run_group([sys.executable, "-c", INSPECT, str(blend)] + ([str(movie)] if movie else []),
                     300, env=env())
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")]
    assert line, proc.stdout + proc.stderr
    return json.loads(line[-1][len("RESULT"):])


def report(folder: Path, name: str) -> dict:
    return json.loads((folder / f"{name}_report.json").read_text())


def partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "partial" in p.name)


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    d = tmp_path_factory.mktemp("audio")
    return {"a": tone(d / "one_speaker1.wav", 1.0, 220), "b": tone(d / "one_speaker2.wav", 0.9, 330),
            "c": tone(d / "two_speaker1.wav", 1.0, 180), "d": tone(d / "two_speaker2.wav", 1.0, 260),
            "dir": d}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A studio's .blend: the demo heads renamed Alice and Bob, and a prop."""
    from timar_blender import scene_setup
    path = tmp_path_factory.mktemp("template") / "stage.blend"
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = 30
    a, b = scene_setup.add_demo_heads(scene)
    a.name, b.name = "Alice", "Bob"
    bpy.ops.mesh.primitive_cube_add(size=0.1, location=(0, 0.5, 1.0))
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    return path


def test_manifest_batch_renders_reports_failures_and_resumes(tmp_path, audio, template,
                                                             tiny_checkpoint):
    missing = audio["dir"] / "late_speaker2.wav"
    manifest = tmp_path / "dialogues.csv"
    manifest.write_text(
        "audio_a,audio_b,name,template,head_a,head_b\n"
        f"{audio['a']},{audio['b']},,,,\n"
        f"{audio['c']},{missing},late,,,\n"
        f"{audio['c']},{audio['d']},staged,{template},Alice,Bob\n")
    out = tmp_path / "out"
    args = ["--manifest", manifest, "--out", out, "--checkpoint", tiny_checkpoint, "--render",
            *SMALL, "--frames-step", "5"]
    proc = batch(*args)
    assert proc.returncode == 1, proc.stderr
    assert "[late] FAILED" in proc.stdout and "dialogue 3/3" in proc.stdout
    assert "audio file not found" in proc.stdout

    # A good dialogue: .blend, MP4 with picture (and sound where Blender has audio), sheet.
    r = report(out, "one")
    assert r["status"] == "ok" and r["turns"] == 1 and r["audio_seconds"] == 1.0
    assert r["generation"]["realtime_factor"] > 0 and r["render"]["seconds_per_frame"] > 0
    assert any("shorter; padded" in w for w in r["warnings"])
    assert r["render"]["contact_sheet_frames"] == [1, 6, 11, 16, 21]
    kinds = {t["kind"]: t["seconds"] for t in mp4_tracks(out / "one.mp4")}
    assert kinds["video"] == pytest.approx(1.0, abs=0.05)
    assert ("audio" in kinds) == HAS_AUDIO
    info = inspect(out / "one.blend", out / "one.mp4")
    assert info["frames"] == [1, 25] and info["fps"] == 25
    assert {"TIMAR A rig", "TIMAR B rig", "TIMAR A", "TIMAR B"} <= set(info["animated"])
    assert len(info["strips"]) == (2 if HAS_AUDIO else 0)
    assert info["engine"] == "CYCLES" and info["res"] == [64, 36]
    assert info["output"] == str(out / "one.mp4")
    assert info["movie"]["size"] == [64, 36] and info["movie"]["frames"] == 25
    assert info["movie"]["mean"] > 0.02                     # a picture, not black
    if HAS_AUDIO:                                           # and the dialogue's sound
        assert info["sound"]["seconds"] == pytest.approx(1.0, abs=0.05)
        assert info["sound"]["rms"] > 0.02
    sheet = bpy.data.images.load(str(out / "one_contact.png"))
    assert tuple(sheet.size) == tuple(r["render"]["contact_sheet_size"])
    bpy.data.images.remove(sheet)

    # The failed dialogue: a report that says why, no outputs.
    bad = report(out, "late")
    assert bad["status"] == "failed" and "audio file not found" in bad["error"]
    assert not (out / "late.blend").exists() and not (out / "late.mp4").exists()

    # The template dialogue: its own heads and prop, its frame rate, the preset found.
    staged = report(out, "staged")
    assert staged["status"] == "ok" and staged["preset"] == "timar_demo"
    info = inspect(out / "staged.blend")
    assert "Cube" in info["objects"] and {"Alice", "Bob"} <= set(info["animated"])
    assert info["fps"] == 30 and info["frames"] == [1, 29]     # 1 s at 30 fps
    assert partials(out) == []
    summary = json.loads((out / "batch_summary.json").read_text())
    assert (summary["ok"], summary["failed"]) == (2, 1)

    # Re-run: the complete ones are skipped untouched, the failed one is tried again.
    stamp = (out / "one.mp4").stat().st_mtime_ns
    tone(missing, 1.0, 300)
    proc = batch(*args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("SKIPPED") == 2 and "[late] OK" in proc.stdout
    assert (out / "one.mp4").stat().st_mtime_ns == stamp
    assert report(out, "late")["status"] == "ok" and (out / "late.mp4").is_file()

    # Changed settings redo the work.
    proc = batch(*args[:-2], "--shard", "0/3", "--list")
    assert "0\tone\tnot rendered with these render settings" in proc.stdout


def test_shards_split_the_work_and_a_killed_batch_resumes(tmp_path, audio, tiny_checkpoint):
    rows = [{"audio_a": audio["a"], "audio_b": audio["b"], "name": f"d{i}"} for i in range(3)]
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps(rows))
    out = tmp_path / "out"
    common = ["--manifest", manifest, "--out", out, "--checkpoint", tiny_checkpoint]
    for shard in ("0/2", "1/2"):
        assert batch(*common, "--shard", shard).returncode == 0
    s0 = json.loads((out / "batch_summary_shard0of2.json").read_text())
    s1 = json.loads((out / "batch_summary_shard1of2.json").read_text())
    assert [d["name"] for d in s0["dialogues"]] == ["d0", "d2"]
    assert [d["name"] for d in s1["dialogues"]] == ["d1"]
    assert all((out / f"d{i}.blend").is_file() for i in range(3))

    # Kill the whole process group while d1 renders: no report, no movie, then resume.
    cmd = [sys.executable, "-m", "timar_blender.batch", *map(str, common), "--render", *SMALL,
           "--shard", "1/2"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env(), stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    guard = threading.Timer(900, os.killpg, (proc.pid, signal.SIGKILL))   # a hung batch
    guard.start()
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "[d1] rendering" in line:
            break
    time.sleep(0.5)
    guard.cancel()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert any("[d1] rendering" in x for x in seen), "".join(seen)
    # The render child (its own process group) dies with the batch, at once on Linux.
    deadline = time.monotonic() + 10
    while processes_mentioning(str(out)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_mentioning(str(out)) == [], "a render child outlived the killed batch"
    assert not (out / "d1.mp4").exists()
    assert "render" not in report(out, "d1")["settings"]       # still the earlier report

    proc = batch(*common, "--render", *SMALL)
    assert proc.returncode == 0
    assert all(report(out, f"d{i}")["status"] == "ok" for i in range(3))
    assert all((out / f"d{i}.mp4").is_file() for i in range(3))
    assert partials(out) == []


def test_blender_style_arguments_after_double_dash(tmp_path, audio, tiny_checkpoint):
    """The form used inside Blender: main() reads the arguments after '--'."""
    code = "import sys, timar_blender.batch as b; sys.exit(b.main())"
    proc = run_group([sys.executable, "-c", code, "--", "--audio-a", audio["c"],
                      "--audio-b", audio["d"], "--name", "take 7", "--out", str(tmp_path),
                      "--checkpoint", str(tiny_checkpoint), "--seed", "3", "--steps", "2",
                      "--context-turns", "1", "--temperature", "0.5", "--device", "cpu"],
                     900, cwd=tmp_path, env=env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r = report(tmp_path, "take_7")
    assert r["status"] == "ok" and r["settings"]["generation"]["seed"] == 3
    assert r["settings"]["generation"]["steps"] == 2 and (tmp_path / "take_7.blend").is_file()


def test_official_weights_take_their_speech_model_from_the_command_line(tmp_path, audio):
    """The release layout (TIMAR.pth) needs its wav2vec2 folder: without one the batch stops
    before any dialogue with the line that says how to give it; --speech-model gives it."""
    pytest.importorskip("transformers", reason="the official weights' wav2vec2 front end needs "
                        "the 'transformers' package, which this Python does not have")
    from model_core.official_testing import (TINY, random_release_state, release_args,
                                             write_release, write_speech_model)
    release = write_release(tmp_path / "TIMAR.pth", random_release_state(seed=1, **TINY),
                            args=release_args(model="tiny"))
    speech = write_speech_model(tmp_path / "wav2vec2", "tiny", seed=2)
    common = ("--audio-a", audio["a"], "--audio-b", audio["b"], "--name", "official",
              "--checkpoint", release, "--device", "cpu", "--context-turns", "1")
    out = tmp_path / "out"
    proc = batch(*common, "--out", out, TIMAR_SPEECH_MODEL="")
    assert proc.returncode == 2 and "--speech-model DIR" in proc.stderr
    assert not out.exists() or not list(out.glob("official*"))
    proc = batch(*common, "--out", out, "--speech-model", speech, TIMAR_SPEECH_MODEL="")
    assert proc.returncode == 0, proc.stderr
    r = report(out, "official")
    assert r["status"] == "ok" and r["settings"]["generation"]["speech_model"] == str(speech)
    assert (out / "official.blend").is_file()


def test_sample_without_a_model_says_what_to_do(tmp_path, tiny_checkpoint):
    """$TIMAR_ASSETS holds the sample dialogue but no bundled model (one asset locator for
    both: model_core.assets)."""
    assets = tmp_path / "assets"
    shutil.copytree(REPO / "assets" / "sample", assets / "sample")
    proc = batch("--sample", "--render", "--out", tmp_path, TIMAR_ASSETS=str(assets))
    assert proc.returncode == 2
    assert "the bundled model is missing" in proc.stderr and "--checkpoint" in proc.stderr
    assert not list(tmp_path.glob("sample*"))
    proc = batch("--sample", "--list", "--out", tmp_path, "--checkpoint", tiny_checkpoint)
    assert proc.returncode == 0 and "0\tsample\tnot done yet" in proc.stdout


# EEVEE on a CPU-only machine (Mesa llvmpipe) takes minutes to compile its shaders (Mesa's
# shader cache is turned off so that a cache left by an earlier run does not skip that): a
# short no-progress limit makes the test stop it, as a hung GPU driver would be stopped.
@pytest.mark.parametrize("engine, limit", [("WORKBENCH", 60), ("EEVEE", 3)])
def test_gpu_engines_cannot_take_the_batch_down(tmp_path, audio, tiny_checkpoint, engine, limit):
    """Without a working EGL driver these engines abort or hang: the child is stopped and
    the dialogue fails with a message; where they work, the MP4 is made."""
    a, b = tone(tmp_path / "s1.wav", 0.4, 200), tone(tmp_path / "s2.wav", 0.4, 300)
    proc = batch("--audio-a", a, "--audio-b", b, "--name", "two", "--out", tmp_path,
                 "--checkpoint", tiny_checkpoint, "--render", "--engine", engine.lower(),
                 *SMALL, "--frames-step", "10", "--render-timeout", limit,
                 MESA_SHADER_CACHE_DISABLE="true")
    assert proc.returncode in (0, 1), proc.stderr
    r = report(tmp_path, "two")
    if r["status"] == "ok":
        assert (tmp_path / "two.mp4").is_file() and r["render"]["engine"] == engine
    else:
        assert f"{engine} render failed" in r["error"] and "--engine CYCLES" in r["error"]
        assert not (tmp_path / "two.mp4").exists()
        assert (tmp_path / "two.blend").is_file()
    assert partials(tmp_path) == []
