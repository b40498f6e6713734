"""The official TIMAR release layout: safe loading, config inference, refusing tampered files,
and the reference forward order, on checkpoints made locally with the release's key names."""
import argparse
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from model_core import model as model_module
from model_core.checkpoint import load_model, model_from_payload, read_checkpoint
from model_core.errors import CheckpointError, TimarError
from model_core.generate import DialogueGenerator, GenerationOptions
from model_core.speech.speech_model import SPEECH_MODEL_ENV
from model_core.official_testing import (LARGE, TINY, release_args, release_layout,
                                         random_release_state, write_release)

SPEC = __import__("pathlib").Path(__file__).resolve().parents[3] / "shared" / "spec" / \
    "official_timar_large_keys.txt"
SR = 16000


class RunsCode:
    """Unpickling this would write a file: what a tampered release must not get to do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


class StubFrontEnd(torch.nn.Module):
    """Stands in for wav2vec2 where only shapes matter (no transformers needed)."""

    def __init__(self, directory=None):
        super().__init__()
        self.feat_dim = 1024
        self.model_dir = "stub"


def speech(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(round(seconds * SR))
    env = np.clip(np.sin(2 * np.pi * (2 + seed) * np.arange(n) / SR + seed), 0, None)
    return (0.2 * env * rng.standard_normal(n)).astype(np.float32)


# ----------------------------------------------------------------------------- layout, safety
def test_layout_builder_matches_the_published_key_list():
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is not beside the checkout")
    rows = [line.rstrip("\n").split("\t") for line in SPEC.read_text().splitlines()
            if line and not line.startswith("#")]
    spec = [(name, tuple(int(x) for x in shape.strip("[]").split(","))) for name, shape in rows]
    layout = release_layout(**LARGE)
    assert layout == spec
    assert sum(math.prod(s) for _, s in layout) == 427_936_368


def test_full_size_release_maps_onto_the_model_shapes_only(monkeypatch):
    """timar_large end to end through the loader on the meta device: shapes, no data."""
    monkeypatch.setattr(model_module, "Wav2Vec2FrontEnd", StubFrontEnd)
    with torch.device("meta"):
        state = {k: torch.empty(s) for k, s in release_layout(**LARGE)}
        model = model_from_payload({"model_ema": state, "args": release_args()})
    c = model.config
    assert (c.width, c.depth, c.heads, c.window_turns, c.diff_width, c.diff_depth) == \
        (1024, 32, 16, 8, 1024, 3)
    assert (c.positions, c.speech_frontend, c.normalize_motion, model.cacheable) == \
        ("absolute", "wav2vec2", False, False)
    assert sum(p.numel() for p in model.parameters()) == 427_936_368
    assert set(model.state_dict()) - set(state) == {"motion_mean", "motion_std"}


def test_base_sized_release_infers_its_config(monkeypatch):
    monkeypatch.setattr(model_module, "Wav2Vec2FrontEnd", StubFrontEnd)
    sizes = dict(width=768, depth=24, diff_width=1024, diff_depth=3, feat_dim=1024)
    with torch.device("meta"):
        state = {k: torch.empty(s) for k, s in release_layout(**sizes)}
        model = model_from_payload({"model": state})
    assert (model.config.width, model.config.depth, model.config.heads) == (768, 24, 12)
    assert model.meta["weights"] == "model"


def test_release_with_numpy_args_loads_through_the_allow_list(tmp_path):
    path = tmp_path / "TIMAR.pth"
    write_release(path, {"z_proj.weight": torch.zeros(2, 2)})
    with pytest.raises(Exception):                     # what plain weights_only refuses
        torch.load(path, weights_only=True)
    payload = read_checkpoint(path)
    assert isinstance(payload["args"], argparse.Namespace)
    assert payload["args"].data_stats.shape == (2, 56) and payload["epoch"] == 399
    assert list(payload["args"].clip_ids) == ["a", "b"]


@pytest.mark.parametrize("where", ["args", "namespace_field", "object_array"])
def test_tampered_release_is_refused_and_never_runs_code(tmp_path, where):
    marker = tmp_path / "pwned"
    evil = RunsCode(str(marker))
    args = release_args()
    payload = {"model": {"z_proj.weight": torch.zeros(2, 2)}, "epoch": 1}
    if where == "args":
        payload["args"] = evil
    elif where == "namespace_field":
        args.hook = evil
        payload["args"] = args
    else:
        args.table = np.array([evil, 1], dtype=object)
        payload["args"] = args
    path = tmp_path / "TIMAR.pth"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="refused"):
        load_model(path, device="cpu")
    assert not marker.exists()


def test_wrong_layout_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(model_module, "Wav2Vec2FrontEnd", StubFrontEnd)
    state = random_release_state(**dict(TINY, feat_dim=1024))
    del state["encoder_norm.bias"]
    with pytest.raises(CheckpointError, match="missing: encoder_norm.bias"):
        model_from_payload({"model": state}, "x.pth")
    with pytest.raises(CheckpointError, match="neither 'model_ema' nor 'model'"):
        model_from_payload({"model_ema": {}, "optimizer": {}}, "x.pth")
    state = random_release_state(**dict(TINY, feat_dim=1024))
    state["z_proj.weight"] = torch.zeros(128, 64)
    with pytest.raises(CheckpointError, match="token width"):
        model_from_payload({"model": state}, "x.pth")


# ----------------------------------------------------------------------------- with wav2vec2
@pytest.fixture(scope="module")
def speech_dir(tmp_path_factory):
    pytest.importorskip("transformers", reason="the official weights' wav2vec2 front end "
                        "needs transformers (pip install transformers)")
    from model_core.official_testing import write_speech_model

    return write_speech_model(tmp_path_factory.mktemp("w2v") / "tiny", "tiny")


@pytest.fixture
def use_speech(speech_dir, monkeypatch):
    """The speech model found through $TIMAR_SPEECH_MODEL (load_model's fallback)."""
    monkeypatch.setenv(SPEECH_MODEL_ENV, str(speech_dir))
    return speech_dir


@pytest.fixture(scope="module")
def release_file(tmp_path_factory):
    """A small release: 'model' and 'model_ema' differ; optimizer, scaler and numpy args."""
    path = tmp_path_factory.mktemp("rel") / "TIMAR.pth"
    write_release(path, random_release_state(seed=2, **TINY),
                  ema=random_release_state(seed=1, **TINY), args=release_args(model="tiny"))
    return path


def test_release_loads_its_ema_weights(release_file, use_speech):
    model = load_model(release_file, device="cpu")
    ema = random_release_state(seed=1, **TINY)
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in ema.items())
    assert model.meta["weights"] == "model_ema" and model.meta["epoch"] == 399
    assert model.meta["train_args"]["model"] == "tiny"
    assert not any(k.startswith("frontend") for k in state)     # wav2vec2 stays out
    assert model.config.heads == 2


def test_module_prefixed_model_only_release_loads(tmp_path, use_speech):
    state = random_release_state(seed=4, **TINY)
    path = tmp_path / "ddp.pth"
    torch.save({"model": {"module." + k: v.half() for k, v in state.items()}, "epoch": 3}, path)
    model = load_model(path, device="cpu")
    assert model.meta["weights"] == "model"
    assert torch.allclose(model.z_proj.weight, state["z_proj.weight"], atol=1e-3)


def test_speech_model_width_must_match(tmp_path, use_speech):
    path = tmp_path / "wide.pth"
    write_release(path, random_release_state(**dict(TINY, feat_dim=48)), full=False)
    with pytest.raises(TimarError, match="wide.pth: the weights expect 48-dim speech features"):
        load_model(path, device="cpu")


def test_missing_speech_model_says_what_to_get(release_file, monkeypatch, tmp_path):
    monkeypatch.delenv(SPEECH_MODEL_ENV, raising=False)
    with pytest.raises(TimarError, match="wav2vec2-large-960h-lv60-self.*--speech-model"):
        load_model(release_file, device="cpu")
    monkeypatch.setenv(SPEECH_MODEL_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(TimarError, match="speech model folder not found"):
        load_model(release_file, device="cpu")


def reference_conditions(state: dict, heads: int, feats_user, feats_agent, motion_user,
                         turns: range) -> torch.Tensor:
    """The release's encoder-only forward, written from its description with raw weights:
    tokens -> z_proj -> mask token at every agent-motion slot -> + positions from 0 ->
    z_proj_ln -> turn-causal blocks -> encoder_norm -> + diffusion positions. Returns the
    conditions at the last turn's agent-motion slots (25, D)."""
    w = state
    lin = lambda x, name: F.linear(x, w[name + ".weight"], w[name + ".bias"])  # noqa: E731
    ln = lambda x, name: F.layer_norm(x, x.shape[-1:], w[name + ".weight"], w[name + ".bias"], 1e-6)  # noqa: E731
    sep = w["sep_tok_emb.weight"]
    rows, hide, tid = [], [], []
    for k, t in enumerate(turns):
        s_u = lin(feats_user[t * 25:(t + 1) * 25], "speech_projection")
        s_a = lin(feats_agent[t * 25:(t + 1) * 25], "speech_projection")
        m_u = F.relu(lin(F.relu(lin(motion_user[t * 25:(t + 1) * 25], "motion_encoder.0")),
                         "motion_encoder.2"))
        zero = torch.zeros_like(s_u)
        parts = [sep[0:2], s_u, sep[2:4], m_u, sep[4:6], s_a, sep[6:8], zero, sep[8:10]]
        turn = torch.cat(parts)
        rows.append(turn)
        flags = torch.zeros(len(turn), dtype=torch.bool)
        flags[83:108] = True                                   # agent motion frames
        hide.append(flags)
        tid.append(torch.full((len(turn),), k))
    x = lin(torch.cat(rows), "z_proj")
    x = torch.where(torch.cat(hide)[:, None], w["mask_token"].view(1, -1), x)
    x = ln(x + w["encoder_pos_embed_learned"][0, :len(x)], "z_proj_ln")
    tid = torch.cat(tid)
    allowed = tid[None, :] <= tid[:, None]
    d = x.shape[-1]
    for i in range(sum(1 for k in w if k.endswith(".attn.qkv.weight"))):
        p = f"encoder_blocks.{i}."
        qkv = lin(ln(x, p + "norm1"), p + "attn.qkv").view(len(x), 3, heads, d // heads)
        q, k, v = qkv.permute(1, 2, 0, 3)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        x = x + lin(att.transpose(0, 1).reshape(len(x), d), p + "attn.proj")
        x = x + lin(F.gelu(lin(ln(x, p + "norm2"), p + "mlp.fc1")), p + "mlp.fc2")
    x = ln(x, "encoder_norm") + w["diffusion_pos_embed_learned"][0, :len(x)]
    return x[-110:][83:108]


@pytest.mark.parametrize("context", [1, 3])
def test_generator_matches_the_reference_forward_order(release_file, use_speech, context):
    """Windows shorter than, equal to and sliding past context + 1 turns, positions from 0."""
    model = load_model(release_file, device="cpu")
    ema = random_release_state(seed=1, **TINY)
    a, b = speech(6, 1), speech(6, 2)
    partner = np.random.default_rng(0).normal(scale=0.3, size=(150, 56)).astype(np.float32)
    captured = []
    sample = model.diffloss.sample

    def spy(z, *args, **kw):
        captured.append(z.clone())
        return sample(z, *args, **kw)

    model.diffloss.sample = spy
    DialogueGenerator(model, GenerationOptions(context_turns=context, device="cpu")).run(
        a, b, motion_b=partner)
    assert len(captured) == 6 and captured[0].shape == (25, 128)
    with torch.no_grad():
        feats = model.speech_features(torch.from_numpy(np.stack([a, b])))
        for t in range(6):
            ref = reference_conditions(ema, 2, feats[1], feats[0], torch.from_numpy(partner),
                                       range(max(0, t - context), t + 1))
            assert torch.allclose(captured[t], ref, atol=1e-4), t


def test_release_generates_a_dialogue(release_file, use_speech):
    model = load_model(release_file, device="cpu")
    a, b = speech(3.5, 3), speech(3.5, 4)
    opts = GenerationOptions(context_turns=7, seed=3, device="cpu")
    first = DialogueGenerator(model, opts).run(a, b)
    again = DialogueGenerator(model, opts).run(a, b)
    assert first.motion_a.shape == first.motion_b.shape == (88, 56)
    assert np.isfinite(first.motion_a).all() and np.isfinite(first.motion_b).all()
    assert np.array_equal(first.motion_a, again.motion_a)
    assert np.abs(first.motion_a - first.motion_b).max() > 1e-3


def test_cli_generate_and_bench_with_a_release(release_file, speech_dir, tmp_path, capsys,
                                               monkeypatch):
    import soundfile as sf

    from model_core.cli import main

    sf.write(tmp_path / "d_speaker1.wav", speech(2.2, 5), SR)
    sf.write(tmp_path / "d_speaker2.wav", speech(2.2, 6), SR)
    assert main(["generate", "--checkpoint", str(release_file), "--speech-model", speech_dir,
                 "--audio-a", str(tmp_path / "d_speaker1.wav"),
                 "--audio-b", str(tmp_path / "d_speaker2.wav"),
                 "--out-dir", str(tmp_path / "out"), "--device", "cpu"]) == 0
    assert (tmp_path / "out" / "d_speaker2.npz").is_file()
    assert main(["bench", "--checkpoint", str(release_file), "--speech-model", speech_dir,
                 "--device", "cpu", "--contexts", "0,2", "--turns", "3",
                 "--dialogue-seconds", "2"]) == 0
    out = capsys.readouterr().out
    assert "recompute" in out and "real-time factor" in out
    # --speech-model reached the loader as an argument: nothing stays set for later loads
    monkeypatch.delenv(SPEECH_MODEL_ENV, raising=False)
    with pytest.raises(TimarError, match="no folder is set"):
        load_model(release_file, device="cpu")
