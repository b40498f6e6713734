# SPDX-License-Identifier: GPL-3.0-or-later
"""The batch's plain parts: a real CSV manifest with good and bad rows, JSON manifests,
shards, the bundled sample, and the progress lines a farm's log shows. No Blender."""
from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from model_core.errors import TimarError  # noqa: E402
from timar_blender.batch import manifest  # noqa: E402
from timar_blender.batch.progress import BatchProgress, fmt_time  # noqa: E402
from timar_blender.errors import ManifestError  # noqa: E402
from timar_blender.generation import GenerationProgress  # noqa: E402


def test_csv_manifest_lists_every_bad_row_at_once(tmp_path):
    csv = tmp_path / "dialogues.csv"
    csv.write_text("audio_a,audio_b,name,template,head_a,head_b,preset\n"
                   "a1.wav,b1.wav,,,,,\n"                         # line 2: fine
                   ",b2.wav,two,,,,\n"                            # line 3: no audio_a
                   "a3.wav,b3.wav,three,scene.blend,,,\n"         # line 4: template without heads
                   "a4.wav,b4.wav,four,,Alice,,\n"                # line 5: heads without template
                   "a5.wav,b5.wav,five,,,,,extra\n"               # line 6: one field too many
                   "\n"
                   "a6.wav,b6.wav,six,,,,flame\n")                # line 8: fine
    with pytest.raises(ManifestError) as err:
        manifest.load_manifest(csv)
    text = str(err.value)
    assert isinstance(err.value, TimarError)
    assert text.startswith(f"{csv}: 4 of 6 dialogues cannot be used")
    for line, why in ((3, "'audio_a' is empty"), (4, "a template needs head_a and head_b"),
                      (5, "give the template .blend too"), (6, "more fields than the header")):
        assert any(r.strip().startswith(f"line {line}: ") and why in r
                   for r in text.splitlines()), (line, text)
    assert "line 2" not in text and "line 8" not in text


def test_csv_manifest_resolves_paths_names_and_presets(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("audio_a;audio_b;name;preset\n"
                   "talk01_speaker1.wav;talk01_speaker2.wav;;arkit\n"
                   "/abs/x.wav;y.wav;Scene 12!;rigs/map.json\n", encoding="utf-8-sig")
    d = manifest.load_manifest(csv)
    assert [x.name for x in d] == ["talk01", "Scene_12"]
    assert d[0].audio_a == str(tmp_path / "talk01_speaker1.wav") and d[0].preset == "arkit"
    assert d[1].audio_a == "/abs/x.wav" and d[1].preset == str(tmp_path / "rigs" / "map.json")


def test_json_manifest_and_duplicate_names(tmp_path):
    js = tmp_path / "m.json"
    js.write_text('{"dialogues": [{"audio_a": "a.wav", "audio_b": "b.wav", "name": "x"},'
                  ' {"audio_a": "c.wav", "audio_b": "d.wav", "name": "X"}]}')
    with pytest.raises(ManifestError, match="two dialogues are named 'X'"):
        manifest.load_manifest(js)
    js.write_text('[{"audio_a": "a.wav", "audio_b": "b.wav", "motion_a": "m.npz"}, 3]')
    with pytest.raises(ManifestError, match="entry 2: expected an object"):
        manifest.load_manifest(js)


@pytest.mark.parametrize("text, shard", [("0/1", (0, 1)), ("3/4", (3, 4)), (" 1 / 2 ", (1, 2))])
def test_shards_parse(text, shard):
    assert manifest.parse_shard(text) == shard


@pytest.mark.parametrize("bad", ["4/4", "1/0", "-1/3", "a/b", "2", ""])
def test_bad_shards_are_refused(bad):
    with pytest.raises(ManifestError, match="--shard must be I/N"):
        manifest.parse_shard(bad)


def test_shards_split_the_dialogues_without_overlap():
    ds = [manifest.DialogueSpec(f"d{i}", "a", "b") for i in range(10)]
    parts = [manifest.select_shard(ds, i, 3) for i in range(3)]
    assert [[i for i, _ in p] for p in parts] == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert sorted(d.name for p in parts for _, d in p) == sorted(d.name for d in ds)


def test_the_bundled_sample_is_a_dialogue():
    d = manifest.sample_dialogue()
    assert d.name == "sample" and Path(d.audio_a).is_file() and Path(d.audio_b).is_file()
    assert Path(d.audio_a).name == "sample_speaker1.wav"


def test_sample_missing_is_a_manifest_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TIMAR_ASSETS", str(tmp_path))
    with pytest.raises(ManifestError, match="sample dialogue is missing"):
        manifest.sample_dialogue()


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (59.4, "59s"), (61, "1m01s"),
                                           (3725, "1h02m"), (float("nan"), "?"), (-1, "?")])
def test_fmt_time(seconds, text):
    assert fmt_time(seconds) == text


def test_batch_progress_lines_and_counts():
    out = io.StringIO()
    p = BatchProgress(3, " shard 0/2", stream=out, every=3600)
    p.begin(1, "talk01")
    p.step("generating: turn 1/4")
    p.step("generating: turn 2/4")                 # throttled: within the hour
    p.step("generating: turn 4/4", force=True)
    p.end("ok", 12.0)
    p.begin(2, "talk02")
    p.end("failed", 3.0, "audio_a: file not found")
    p.begin(3, "talk03")
    p.end("skipped", 0.0, "outputs complete")
    lines = out.getvalue().splitlines()
    assert "[talk01] generating: turn 1/4" in lines and "[talk01] generating: turn 2/4" not in lines
    assert "[talk01] generating: turn 4/4" in lines and "[talk01] OK (12s)" in lines
    assert "[talk02] FAILED (3s): audio_a: file not found" in lines
    assert "[talk03] SKIPPED: outputs complete" in lines
    assert (p.ok, p.failed, p.skipped, p.finished) == (1, 1, 1, 3)
    assert lines[-1].startswith("[batch shard 0/2] 3/3 dialogues: 1 ok, 1 failed, 1 skipped")


def test_generation_progress_text():
    p = GenerationProgress(turns_done=0, turns_total=6, elapsed=0.4)
    assert p.text() == "0/6 turns, 0 s" and p.factor == 0.0
    p = GenerationProgress(turns_done=3, turns_total=6, elapsed=3.0, audio_done=3.1)
    assert p.text() == "3/6 turns, 3 s, 3 s left, RTF 0.97" and p.factor == 0.5
