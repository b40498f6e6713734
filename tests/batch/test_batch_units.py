# SPDX-License-Identifier: GPL-3.0-or-later
"""The batch's parts one by one: manifests (CSV, JSON, errors), shards, when outputs count
as complete, the MP4 box reader, frame picking and the contact sheet (through Blender's
image API). Fast; no model, no render."""
from __future__ import annotations

import json
import os
import struct
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="timar_bl_"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

bpy = pytest.importorskip("bpy")

from timar_blender import batch  # noqa: E402
from timar_blender.batch import contact as batch_contact, manifest as batch_manifest, mp4 as batch_mp4, outputs as batch_outputs  # noqa: E402
from timar_blender.errors import ManifestError  # noqa: E402
from timar_blender.batch.progress import fmt_time  # noqa: E402
from timar_blender.batch.render import parse_resolution  # noqa: E402


# ------------------------------------------------------------------ manifests
def test_csv_manifest_resolves_paths_and_names(tmp_path):
    (tmp_path / "m.csv").write_text(
        "audio_a,audio_b,name,template,head_a,head_b,preset\n"
        "a/talk1_speaker1.wav,a/talk1_speaker2.wav,,,,,\n"
        "\n"
        "/abs/x.wav,/abs/y.wav,My take #2,scenes/t.blend,Alice,Bob,rigs/map.json\n")
    d = batch_manifest.load_manifest(tmp_path / "m.csv")
    assert [x.name for x in d] == ["talk1", "My_take_2"]
    assert d[0].audio_a == str(tmp_path / "a" / "talk1_speaker1.wav")
    assert d[1].audio_a == "/abs/x.wav" and d[1].template == str(tmp_path / "scenes" / "t.blend")
    assert d[1].preset == str(tmp_path / "rigs" / "map.json")
    assert (d[1].head_a, d[1].head_b) == ("Alice", "Bob")


def test_manifest_motion_column_is_a_file_compared_by_content(tmp_path):
    """motion_b: a FLAME npz for head B, resolved like the audio and, like the audio,
    compared by content on a re-run (replaced at the same path = redo)."""
    from timar_blender.batch.settings import input_contents

    (tmp_path / "m.csv").write_text("audio_a,audio_b,motion_b\nx.wav,y.wav,real/b.npz\n")
    (d,) = batch_manifest.load_manifest(tmp_path / "m.csv")
    assert d.motion_b == str(tmp_path / "real" / "b.npz") and d.motion_a == ""
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "b.npz").write_bytes(b"one")
    before = input_contents(d)["motion_b"]
    (tmp_path / "real" / "b.npz").write_bytes(b"two")
    assert input_contents(d)["motion_b"] != before


def test_json_manifest_and_shipped_preset_key(tmp_path):
    rows = [{"audio_a": "1.wav", "audio_b": "2.wav", "name": "one", "preset": "flame",
             "template": "t.blend", "head_a": "A", "head_b": "B"},
            {"audio_a": "3.wav", "audio_b": "4.wav"}]
    (tmp_path / "m.json").write_text(json.dumps({"dialogues": rows}))
    d = batch_manifest.load_manifest(tmp_path / "m.json")
    assert d[0].preset == "flame" and d[1].name == "3"
    (tmp_path / "l.json").write_text(json.dumps(rows))
    assert batch_manifest.load_manifest(tmp_path / "l.json") == d


@pytest.mark.parametrize("text, message", [
    ("audio_a,name\nx.wav,n\n", "header"),
    ("audio_a,audio_b\nx.wav,\n", "'audio_b' is empty"),
    ("audio_a,audio_b,colour\nx.wav,y.wav,red\n", "unknown column"),
    ("audio_a,audio_b,name\nx.wav,y.wav,n\nz.wav,w.wav,N\n", "two dialogues are named"),
    ("audio_a,audio_b,template\nx.wav,y.wav,t.blend\n", "needs head_a and head_b"),
    ("audio_a,audio_b,head_a,head_b\nx.wav,y.wav,A,B\n", "give the template"),
    ("audio_a,audio_b\nx.wav,y.wav,extra\n", "more fields"),
    ("audio_a,audio_b,motion_a,motion_b\nx.wav,y.wav,a.npz,b.npz\n", "not both"),
])
def test_manifest_errors_say_what_to_fix(tmp_path, text, message):
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(ManifestError, match=message):
        batch_manifest.load_manifest(tmp_path / "m.csv")


def test_manifest_file_errors(tmp_path):
    with pytest.raises(ManifestError, match="not found"):
        batch_manifest.load_manifest(tmp_path / "none.csv")
    (tmp_path / "m.yaml").write_text("x")
    with pytest.raises(ManifestError, match=".csv or .json"):
        batch_manifest.load_manifest(tmp_path / "m.yaml")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ManifestError, match="not valid JSON"):
        batch_manifest.load_manifest(tmp_path / "bad.json")
    (tmp_path / "empty.csv").write_text("audio_a,audio_b\n")
    with pytest.raises(ManifestError, match="no dialogues"):
        batch_manifest.load_manifest(tmp_path / "empty.csv")


def test_shards_partition_the_list():
    ds = [batch_manifest.DialogueSpec(f"d{i}", "a", "b") for i in range(7)]
    parts = [batch_manifest.select_shard(ds, i, 3) for i in range(3)]
    assert [i for i, _ in parts[1]] == [1, 4]
    assert sorted(i for p in parts for i, _ in p) == list(range(7))
    assert batch_manifest.parse_shard("2/4") == (2, 4)
    for bad in ("4/4", "1", "-1/2", "a/b", "0/0"):
        with pytest.raises(ManifestError, match="I/N"):
            batch_manifest.parse_shard(bad)


def test_default_names():
    assert batch_manifest.default_name("/x/talk_speaker1.wav") == "talk"
    assert batch_manifest.default_name("interview-A.flac") == "interview"
    assert batch_manifest.safe_name("  ../a b/c  ") == "a_b_c"


def test_command_line_choices(tmp_path, capsys):
    assert batch.main(["--out", str(tmp_path)]) == 2
    assert "choose one of" in capsys.readouterr().err
    assert batch.main(["--audio-a", "x.wav", "--out", str(tmp_path)]) == 2
    assert batch.main(["--sample", "--resolution", "big", "--out", str(tmp_path)]) == 2
    assert "WIDTHxHEIGHT" in capsys.readouterr().err
    assert batch.main(["--sample", "--shard", "3/3", "--out", str(tmp_path)]) == 2
    assert batch.main(["--sample", "--list", "--out", str(tmp_path)]) == 0
    assert "0\tsample\tnot done yet" in capsys.readouterr().out


def test_resolution_and_times():
    assert parse_resolution("480x270") == (480, 270)
    assert parse_resolution("641X361") == (640, 360)      # even sizes for H.264
    assert fmt_time(5) == "5s" and fmt_time(125) == "2m05s" and fmt_time(3700) == "1h01m"


# ------------------------------------------------------------------ completeness
def _settings(tmp_path, render=False):
    from timar_blender.batch.settings import BatchSettings
    return BatchSettings(out=tmp_path, checkpoint=str(tmp_path / "ck.pt"), render=render)


def test_completion_needs_ok_report_same_settings_and_files(tmp_path):
    d = batch_manifest.DialogueSpec("talk", "a.wav", "b.wav")
    out = batch_outputs.Outputs(tmp_path, "talk")
    s = _settings(tmp_path)
    assert batch_outputs.completion(out, s.describe(d), False) == "not done yet"
    report = {"status": "ok", "settings": s.describe(d)}
    batch_outputs.write_json(out.report, report)
    assert "talk.blend is missing" in batch_outputs.completion(out, s.describe(d), False)
    out.blend.write_bytes(b"BLENDER")
    assert batch_outputs.completion(out, s.describe(d), False) is None
    s.seed = 3
    assert "generation settings changed" in batch_outputs.completion(out, s.describe(d), False)
    s.seed = 0
    s.render = True
    assert "render settings" in batch_outputs.completion(out, s.describe(d), True)
    s.render = False
    batch_outputs.write_json(out.report, {**report, "status": "failed"})
    assert "failed" in batch_outputs.completion(out, s.describe(d), False)


def test_checkpoint_is_known_by_its_content(tmp_path):
    from timar_blender.batch.settings import BatchSettings
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "m.pt").write_bytes(b"weights 1")
    (tmp_path / "m.pt").write_bytes(b"weights 1")
    one = BatchSettings(out=tmp_path, checkpoint=str(tmp_path / "a" / "m.pt")).checkpoint_id()
    assert one.startswith("sha256:")
    assert BatchSettings(out=tmp_path, checkpoint=str(tmp_path / "m.pt")).checkpoint_id() == one
    (tmp_path / "m.pt").write_bytes(b"weights 2")
    assert BatchSettings(out=tmp_path, checkpoint=str(tmp_path / "m.pt")).checkpoint_id() != one


def test_partials_are_cleaned_for_that_dialogue_only(tmp_path):
    out = batch_outputs.Outputs(tmp_path, "talk")
    ours = [out.temp("blend"), out.temp("contact"), out.temp("report")]
    theirs = [batch_outputs.Outputs(tmp_path, n).temp(r)
              for n in ("talker", "talk.y", "talk_contact") for r in ("blend", "contact")]
    for p in ours + theirs:
        p.write_text("x")
    stills = out.temp("stills")
    stills.mkdir()
    (stills / "still_00001.png").write_text("x")
    assert [p.suffix for p in ours] == [".blend", ".png", ".json"]   # formats go by extension
    batch_outputs.clean_partials(tmp_path, "talk")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in theirs)


def test_publish_refuses_an_empty_file(tmp_path):
    tmp, final = tmp_path / ".x.partial.mp4", tmp_path / "x.mp4"
    tmp.write_bytes(b"")
    with pytest.raises(OSError, match="was not written"):
        batch_outputs.publish(tmp, final)
    assert not tmp.exists() and not final.exists()


# ------------------------------------------------------------------ MP4 boxes
def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _trak(handler: bytes, scale: int, duration: int) -> bytes:
    mdhd = _box(b"mdhd", bytes(12) + struct.pack(">II", scale, duration) + bytes(4))
    hdlr = _box(b"hdlr", bytes(8) + handler + bytes(12))
    return _box(b"trak", _box(b"tkhd", bytes(84)) + _box(b"mdia", mdhd + hdlr))


def test_mp4_reader_lists_tracks(tmp_path):
    path = tmp_path / "x.mp4"
    moov = _box(b"moov", _box(b"mvhd", bytes(100)) + _trak(b"vide", 25, 50)
                + _trak(b"soun", 48000, 96000))
    path.write_bytes(_box(b"ftyp", b"isom" + bytes(4)) + _box(b"mdat", bytes(1000)) + moov)
    tracks = batch_mp4.mp4_tracks(path)
    assert tracks == [{"kind": "video", "seconds": 2.0}, {"kind": "audio", "seconds": 2.0}]
    assert batch_mp4.has_picture_and_sound(path)
    path.write_bytes(_box(b"ftyp", b"isom") + _box(b"mdat", bytes(10))[:12])   # cut short
    assert batch_mp4.mp4_tracks(path) == []
    assert batch_mp4.mp4_tracks(tmp_path / "none.mp4") == []


# ------------------------------------------------------------------ contact sheet
def test_pick_frames():
    assert batch_contact.pick_frames(1, 625) == [1, 58, 114, 171, 228, 285, 341, 398, 455,
                                                 512, 568, 625]
    assert batch_contact.pick_frames(1, 100, step=25) == [1, 26, 51, 76]
    assert len(batch_contact.pick_frames(1, 10000, step=2)) == batch_contact.MAX_TILES
    assert batch_contact.pick_frames(1, 3) == [1, 2, 3]


def test_contact_range_gives_consecutive_frames():
    """One second of consecutive frames for judging motion, clipped to the scene."""
    assert batch_contact.parse_contact_range("100:124") == (100, 124)
    assert batch_contact.parse_contact_range(None) is None
    for bad in ("100", "a:b", "124:100", "-1:5"):
        with pytest.raises(ValueError, match="--contact-range"):
            batch_contact.parse_contact_range(bad)
    assert batch_contact.contact_frames(1, 625, only=(100, 124)) == list(range(100, 125))
    assert batch_contact.contact_frames(1, 625, step=2, only=(100, 110)) == [100, 102, 104, 106, 108, 110]
    assert batch_contact.contact_frames(1, 110, only=(100, 124)) == list(range(100, 111))
    assert batch_contact.contact_frames(1, 625) == batch_contact.pick_frames(1, 625)
    with pytest.raises(ValueError, match="outside"):
        batch_contact.contact_frames(1, 50, only=(100, 124))


def _write_png(path, rgb):
    batch_contact.save_png(np.full((20, 32, 3), rgb, dtype=np.float32), str(path))


def test_contact_sheet_grid_keeps_the_pictures(tmp_path):
    colours = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1), (0.5, 0.5, 0.5)]
    before = set(bpy.data.images.keys())
    paths = []
    for i, c in enumerate(colours):
        paths.append(str(tmp_path / f"f{i}.png"))
        _write_png(paths[-1], c)
    w, h = batch_contact.write_contact_sheet(paths, str(tmp_path / "sheet.png"))
    sheet = batch_contact._read_rgb(str(tmp_path / "sheet.png"))
    assert sheet.shape == (h, w, 3)
    cols = (w - batch_contact.GAP) // (32 + batch_contact.GAP)
    assert cols * ((len(colours) + cols - 1) // cols) >= len(colours)
    for i, c in enumerate(colours):
        r, col = divmod(i, cols)
        y = batch_contact.GAP + r * (20 + batch_contact.GAP) + 10
        x = batch_contact.GAP + col * (32 + batch_contact.GAP) + 16
        assert np.allclose(sheet[y, x], c, atol=1 / 255 + 1e-6), (i, sheet[y, x])
    assert np.allclose(sheet[0, 0], batch_contact.BACKGROUND, atol=1 / 255)
    assert set(bpy.data.images.keys()) == before     # nothing left in the open file


def test_contact_sheet_shrinks_wide_frames():
    tile = np.random.default_rng(0).random((300, 1000, 3)).astype(np.float32)
    small = batch_contact._shrink(tile, 480)
    assert small.shape == (100, 333, 3)
    assert np.isclose(small.mean(), tile[:300, :999].mean(), atol=1e-5)


# ------------------------------------------------------------------ render child
def test_render_child_failure_is_one_clear_line(tmp_path):
    from timar_blender.batch import render
    res = render.run_child(str(tmp_path / "none.blend"), render.RenderOptions(), None, [1],
                           str(tmp_path), stall_timeout=120)
    assert not res.ok and "render failed" in res.message and "none.blend" in res.message
    msg = render._failure("WORKBENCH", -6, False, 300, None, [])
    assert "crashed (signal 6)" in msg and "use --engine CYCLES" in msg
    assert "no progress for 300 s" in render._failure("CYCLES", -9, True, 300, None, [])


def test_readme_manifest_examples_parse(tmp_path):
    import re
    readme = (Path(batch.__file__).parents[2] / "README.md").read_text()
    section = readme.split("\n## Batch rendering")[1].split("\n## ")[0]
    blocks = dict(re.findall(r"```(csv|json)\n(.*?)```", section, re.S))
    for kind, text in blocks.items():
        (tmp_path / f"m.{kind}").write_text(text)
        ds = batch_manifest.load_manifest(tmp_path / f"m.{kind}")
        assert ds[0].name == "ep01" and ds[1].head_b == "Bob"
        assert ds[1].template == str(tmp_path / "stages" / "kitchen.blend")
    assert set(blocks) == {"csv", "json"}
