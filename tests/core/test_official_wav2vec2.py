"""The wav2vec2 front end of the official weights, on a tiny randomly initialised wav2vec2
saved to a temporary folder (a real ``transformers`` model, toy sizes)."""
import sys

import numpy as np
import pytest
import torch

from model_core.errors import TimarError
from model_core.speech.speech_model import setup_problems

SR = 16000


@pytest.fixture(scope="module")
def speech_dir(tmp_path_factory):
    pytest.importorskip("transformers", reason="the official weights' wav2vec2 front end "
                        "needs transformers (pip install transformers)")
    from model_core.official_testing import write_speech_model

    return write_speech_model(tmp_path_factory.mktemp("w2v") / "tiny", "tiny", seed=1)


@pytest.fixture(scope="module")
def frontend(speech_dir):
    from model_core.speech.wav2vec2 import Wav2Vec2FrontEnd

    return Wav2Vec2FrontEnd(directory=speech_dir)


def audio(seconds: float, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy((0.3 * rng.standard_normal(int(seconds * SR))).astype(np.float32))


def test_features_are_25_per_second_cropped_to_the_audio(frontend):
    x = torch.stack([audio(2.05, 1), audio(2.05, 2)])       # 32800 samples -> 52 frames
    feats = frontend(x)
    assert feats.shape == (2, 52, 32) and torch.isfinite(feats).all()
    assert not torch.allclose(feats[0], feats[1])


def test_level_is_normalised_over_the_whole_file(frontend):
    x = audio(2.0, 3)[None]
    assert torch.allclose(frontend(4.0 * x + 0.05), frontend(x), atol=1e-4)


def test_each_second_is_encoded_on_its_own(frontend):
    """Reversing second 2 keeps the file's mean and variance: second 1 must not change."""
    x = audio(2.0, 4)
    y = torch.cat([x[:SR], x[SR:].flip(0)])
    fx, fy = frontend(x[None]), frontend(y[None])
    assert torch.allclose(fx[:, :25], fy[:, :25], atol=1e-5)
    assert not torch.allclose(fx[:, 25:], fy[:, 25:], atol=1e-3)


def test_chunk_batching_does_not_change_features(speech_dir, frontend):
    from model_core.speech.wav2vec2 import Wav2Vec2FrontEnd

    x = torch.stack([audio(3.0, 5), audio(3.0, 6)])
    one = Wav2Vec2FrontEnd(directory=speech_dir, chunk_batch=1)
    assert torch.allclose(one(x), frontend(x), atol=1e-5)


def test_speech_model_is_outside_the_state_dict_but_follows_the_model(speech_dir):
    from model_core.config import TimarConfig
    from model_core.model import TimarModel

    config = TimarConfig(width=64, heads=1, depth=1, positions="absolute",
                         speech_frontend="wav2vec2", normalize_motion=False)
    model = TimarModel(config, speech_dir)
    assert config.speech_feat_dim == 0          # the caller's config is left as it was
    assert model.config.speech_feat_dim == 32 and model.speech_projection.in_features == 32
    assert not [k for k in model.state_dict() if k.startswith("frontend")]
    w2v_params = set(map(id, model.frontend.speech_model.parameters()))
    assert not w2v_params & set(map(id, model.parameters()))
    model.double()
    assert next(model.frontend.speech_model.parameters()).dtype == torch.float64
    assert model.speech_features(audio(1.0, 7)[None]).dtype == torch.float64
    model.float().train()
    assert not model.frontend.speech_model.training       # frozen, always in eval mode


def test_folder_problems_say_what_is_missing(tmp_path, speech_dir, monkeypatch):
    from model_core.speech.wav2vec2 import load_speech_model

    with pytest.raises(TimarError, match="folder not found.*huggingface.co"):
        load_speech_model(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TimarError, match="no config.json"):
        load_speech_model(tmp_path / "empty")
    (tmp_path / "empty" / "config.json").write_text("{}")
    with pytest.raises(TimarError, match="holds no weights"):
        load_speech_model(tmp_path / "empty")
    monkeypatch.setitem(sys.modules, "transformers", None)   # as if not installed
    with pytest.raises(TimarError, match="need the Python package 'transformers'"):
        load_speech_model(speech_dir)


def test_setup_checklist_names_each_missing_piece(tmp_path, speech_dir, monkeypatch):
    ckpt = tmp_path / "TIMAR.pth"
    ckpt.write_bytes(b"x")
    assert setup_problems(ckpt, speech_dir) == []
    problems = setup_problems(None, tmp_path / "nope")
    assert len(problems) == 2 and "TIMAR.pth" in problems[0] and "not found" in problems[1]
    monkeypatch.setitem(sys.modules, "transformers", None)
    problems = setup_problems(ckpt, None)
    assert len(problems) == 2 and "no speech model folder" in problems[0]
    assert "transformers" in problems[1]
