"""Audio read in blocks and speech features computed per turn equal the whole-file path
bit for bit, and hold only a few turns at a time (memory flat in the dialogue's length)."""
import numpy as np
import pytest
import soundfile as sf
import torch

from model_core.generate import DialogueGenerator, GenerationOptions
from model_core.speech.audio import load_audio, pad_pair
from model_core.speech.audio_stream import BLOCK, open_audio, truncation_warning, wav_shortfall
from model_core.speech.feature_stream import TurnFeatures
from model_core.testing import make_tiny_model, speech_like


def write(path, seconds, sr, channels=1, seed=0, subtype="PCM_16"):
    x = np.stack([np.interp(np.arange(int(seconds * sr)) / sr, np.arange(int(seconds * 16000)) / 16000,
                            speech_like(seconds, seed + c)) for c in range(channels)], 1)
    sf.write(path, x, sr, subtype=subtype)
    return str(path)


def read_all(stream, step=16000):
    parts, left = [], stream.length
    while left > 0:
        parts.append(stream.read(min(step, left)))
        left -= len(parts[-1])
    return np.concatenate(parts)


@pytest.mark.parametrize("sr, channels", [(16000, 1), (44100, 2), (8000, 1), (48000, 1)])
def test_blocks_equal_the_whole_file(sr, channels, tmp_path):
    # longer than one decoding block, so block joins (and resampler state) are crossed
    seconds = 1.5 * BLOCK / sr
    path = write(tmp_path / "a.wav", seconds, sr, channels)
    whole = load_audio(path)
    stream = open_audio(path)
    assert stream.length == len(whole)
    assert np.array_equal(read_all(stream), whole)
    assert np.array_equal(stream.read(100), np.zeros(100, np.float32))   # silence past the end


def test_per_turn_features_equal_the_whole_file_features(tmp_path):
    model = make_tiny_model()
    a = write(tmp_path / "a.wav", 7.3, 44100, 2, seed=1)
    b = write(tmp_path / "b.flac", 5.1, 16000, 1, seed=2)
    wa, wb, _ = pad_pair(load_audio(a), load_audio(b))
    whole = model.speech_features(torch.from_numpy(np.stack([wa, wb])))   # (2, F, feat)
    n_turns = 8
    feats = TurnFeatures(model, open_audio(a), open_audio(b), n_turns)
    assert feats.shape == (2, n_turns, 25, whole.shape[-1])
    got = torch.cat([feats[[0, 1], t:t + 1].flatten(1, 2) for t in range(n_turns)], dim=1)
    assert torch.equal(got[:, :whole.shape[1]], whole)
    assert torch.equal(got[:, whole.shape[1]:], torch.zeros_like(got[:, whole.shape[1]:]))


def test_only_the_turns_still_needed_are_kept(tmp_path):
    model = make_tiny_model()
    a = write(tmp_path / "a.wav", 40, 16000, seed=3)
    feats = TurnFeatures(model, open_audio(a), open_audio(a), 40)
    for t in range(40):
        block = feats[[1, 0], max(0, t - 1):t + 1]
        assert block.shape[:2] == (2, min(t + 1, 2))
        feats.drop_before(t)             # what the reader will not read again
        assert len(feats._turns) <= 1
    with pytest.raises(IndexError, match="already dropped"):
        feats[[0], 0:1]


def test_generation_from_files_equals_generation_from_arrays(tmp_path):
    model = make_tiny_model()
    a = write(tmp_path / "a.wav", 4.2, 22050, seed=4)
    b = write(tmp_path / "b.wav", 3.0, 16000, seed=5)
    opts = GenerationOptions(context_turns=2, steps=2, seed=3)
    from_files = DialogueGenerator(model, opts).run(a, b)
    from_arrays = DialogueGenerator(model, opts).run(load_audio(a), load_audio(b))
    assert np.array_equal(from_files.motion_a, from_arrays.motion_a)
    assert np.array_equal(from_files.motion_b, from_arrays.motion_b)
    assert any("shorter" in w for w in from_files.warnings)


def test_a_wav_cut_short_is_detected(tmp_path):
    path = write(tmp_path / "cut.wav", 2.0, 16000)
    assert wav_shortfall(path) is None and truncation_warning(path, "speaker A") is None
    data = open(path, "rb").read()
    open(path, "wb").write(data[:len(data) - 16000])      # 0.5 s of 16-bit mono missing
    assert wav_shortfall(path) == pytest.approx(0.5, abs=1e-3)
    warning = truncation_warning(path, "speaker A's audio")
    assert "ends early" in warning and "0.50 s" in warning and "cut.wav" in warning
    assert open_audio(path).length == 24000                  # what is there is still read
