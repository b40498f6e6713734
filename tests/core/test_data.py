"""The DualTalk-layout loader: the real demo dialogue from ../shared and a small corpus
made by the corpus synthesiser."""
from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf
import torch

from model_core.data import DualTalkDataset, find_dialogues, load_dialogue, segment_starts
from model_core.errors import TimarError

DEMO_ID = "UbjUDM1MiGE_sub_video_72"


def test_real_demo_dialogue(demo_dir):
    assert find_dialogues(demo_dir) == [DEMO_ID]
    d = load_dialogue(demo_dir, DEMO_ID)
    assert d.motion1 is None                       # speaker 1's FLAME was not released
    assert d.motion2.shape == (587, 56) and d.motion2.dtype == np.float32
    assert d.num_frames == 587
    assert d.audio1.shape == d.audio2.shape == (587 * 640,)
    assert d.audio1.dtype == np.float32
    with np.load(demo_dir / f"{DEMO_ID}_speaker2.npz") as z:
        exp, pose = z["exp"], z["pose"]
    np.testing.assert_array_equal(d.motion2[:, :50], exp)
    np.testing.assert_array_equal(d.motion2[:, 50:53], pose[:, 3:6])   # jaw
    np.testing.assert_array_equal(d.motion2[:, 53:56], pose[:, 0:3])   # neck
    # The audio is the file's, cut to whole frames.
    raw, sr = sf.read(demo_dir / f"{DEMO_ID}_speaker2.wav", dtype="float32")
    assert sr == 16000
    np.testing.assert_allclose(d.audio2, raw[: 587 * 640], atol=1e-6)
    # Only one speaker has motion: no training segment can be made from it.
    with pytest.raises(TimarError, match="both speakers"):
        DualTalkDataset(demo_dir)


def test_segment_starts_cover_every_frame():
    assert segment_starts(1000, 200, 50) == [0, 200, 400, 600, 800]
    assert segment_starts(1060, 200, 50) == [0, 200, 400, 600, 800, 860]
    assert segment_starts(1030, 200, 50) == [0, 200, 400, 600, 800]   # 30 < 50: dropped
    assert segment_starts(150, 200, 50) == []


def test_missing_folder_or_no_dialogues(tmp_path):
    assert find_dialogues(tmp_path / "nope") == []
    (tmp_path / "a_speaker1.wav").write_bytes(b"")          # no speaker2: not a dialogue
    assert find_dialogues(tmp_path) == []
    with pytest.raises(TimarError, match="no dialogues"):
        DualTalkDataset(tmp_path)


@pytest.fixture(scope="module")
def corpus_train(tmp_path_factory) -> str:
    from model_core.cli import main
    from model_core.corpus.voices import tool_missing

    missing = tool_missing()
    if missing:
        pytest.skip(f"speech synthesisers not installed: {', '.join(missing)} (run .ci/setup)")
    out = tmp_path_factory.mktemp("data") / "c"
    assert main(["corpus", "--out", str(out), "--hours", "0.02", "--test-minutes", "0",
                 "--ood-minutes", "0", "--jobs", "1", "--seed", "8"]) == 0
    return str(out / "train")


def test_dataset_on_generated_corpus(corpus_train):
    ids = find_dialogues(corpus_train)
    assert len(ids) >= 1
    ds = DualTalkDataset(corpus_train, segment_frames=200, min_frames=50)
    frames = {i: load_dialogue(corpus_train, i).num_frames for i in ids}
    assert len(ds) == 2 * sum(len(segment_starts(f, 200, 50)) for f in frames.values())
    item = ds[0]
    assert item["audio_agent"].shape == item["audio_user"].shape == (200 * 640,)
    assert item["motion_agent"].shape == item["motion_user"].shape == (200, 56)
    assert item["audio_agent"].dtype == torch.float32 and item["motion_agent"].dtype == torch.float32
    # Each segment twice, once per agent, with the roles swapped.
    a, b = ds[0], ds[1]
    assert (a["agent"], b["agent"]) == ("speaker1", "speaker2")
    assert a["start_frame"] == b["start_frame"] and a["dialogue_id"] == b["dialogue_id"]
    assert torch.equal(a["motion_agent"], b["motion_user"])
    assert torch.equal(a["audio_agent"], b["audio_user"])
    assert not torch.equal(a["audio_agent"], a["audio_user"])
    # Values are the files' (audio through int16 storage), at the right offset.
    last = ds[len(ds) - 1]
    d = load_dialogue(corpus_train, last["dialogue_id"])
    s = last["start_frame"]
    assert s + 200 == d.num_frames or s % 200 == 0
    np.testing.assert_array_equal(last["motion_agent"].numpy(), d.motion2[s:s + 200])
    np.testing.assert_allclose(last["audio_agent"].numpy(), d.audio2[s * 640:(s + 200) * 640],
                               atol=1.0 / 32767)
    # Batches with the default collate.
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4, shuffle=False)))
    assert batch["motion_agent"].shape == (4, 200, 56)
    assert os.path.basename(corpus_train) == "train"
