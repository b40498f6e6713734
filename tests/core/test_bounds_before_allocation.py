"""Issue 19, class 4: bounds before allocation. Every size an input claims (a checkpoint's
config, an audio header, an npz's zip directory, a preset's repeats) is checked against a
limit before anything of that size is allocated, and every oddity is one clear line. The
hostile files are about 1 MB; each is refused in a fresh process within well under a second
and 100 MB of memory growth."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import torch

from hostile_files import peak_in_child, run_cli, write_npz_bomb, write_wav
from model_core.checkpoint import load_model
from model_core.config import PRESETS, preset
from model_core.errors import AudioError, CheckpointError, MotionFileError
from model_core.face.flame import load_motion_npz
from model_core.model import TimarModel
from model_core.model_size import MAX_MODEL_BYTES, model_bytes, parameter_count
from model_core.speech.audio import MAX_AUDIO_SECONDS, load_audio
from model_core.speech.audio_stream import open_audio

MEMORY_BOUND_MB = 100


# ----------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("name, overrides", [(n, {}) for n in PRESETS] + [
    ("tiny", {"head": "diffusion"}), ("tiny", {"head": "mlp"}),
    ("tiny", {"positions": "absolute", "window_turns": 3})])
def test_the_size_from_the_config_is_the_models_size(name, overrides):
    """parameter_count is computed from the config alone and equals what the model holds."""
    config = preset(name, **overrides)
    model = TimarModel(config)
    held = sum(v.numel() for v in model.state_dict().values())
    assert parameter_count(config) == held


def test_a_small_checkpoint_with_a_huge_config_is_refused_fast_with_little_memory(
        tiny_checkpoint, tmp_path):
    """Width 8192 x depth 256 (each field within its own limit): 206 G parameters. Refused
    from the config's product before the model is built."""
    payload = torch.load(tiny_checkpoint, weights_only=True)
    payload["config"].update(width=8192, depth=256, heads=64)
    bad = tmp_path / "huge_config.pt"
    torch.save(payload, bad)
    assert bad.stat().st_size < 2_000_000
    growth, _, seconds, outcome = peak_in_child(
        "from model_core.checkpoint import load_model", f"load_model({str(bad)!r}, 'cpu')")
    assert outcome.startswith("CheckpointError") and "G parameters" in outcome, outcome
    assert "width 8192 x depth 256" in outcome and str(bad) in outcome
    assert seconds < 0.5 and growth < MEMORY_BOUND_MB, (seconds, growth)


def test_a_config_within_the_limit_but_far_beyond_the_file_is_refused_before_building(
        tiny_checkpoint, tmp_path):
    """Width 2048 x depth 32: under the size limit (about 7.6 GB), but the 1 MB file cannot
    hold its 1.6 G weights: refused before gigabytes are allocated."""
    payload = torch.load(tiny_checkpoint, weights_only=True)
    payload["config"].update(width=2048, depth=32, heads=16)
    assert model_bytes(preset("tiny", width=2048, depth=32, heads=16)) < MAX_MODEL_BYTES
    bad = tmp_path / "big_config.pt"
    torch.save(payload, bad)
    growth, _, seconds, outcome = peak_in_child(
        "from model_core.checkpoint import load_model", f"load_model({str(bad)!r}, 'cpu')")
    assert outcome.startswith("CheckpointError") and "the file holds" in outcome, outcome
    assert seconds < 0.5 and growth < MEMORY_BOUND_MB, (seconds, growth)


def _odd(payload: dict, case: str) -> None:
    state, config = payload["state_dict"], payload["config"]
    key = "z_proj.weight"
    if case == "heads 0":
        config["heads"] = 0
    elif case == "string version":
        payload["version"] = "1"
    elif case == "int keys":
        state[7] = state.pop(key)
    elif case == "negative width":
        config["width"] = -64
    elif case == "float width":
        config["width"] = 64.0
    elif case == "string heads":
        config["heads"] = "2"
    elif case == "meta tensor":
        state[key] = torch.empty(state[key].shape, device="meta")
    elif case == "sparse tensor":
        state[key] = state[key].float().to_sparse()
    elif case == "int64 weights":
        state[key] = state[key].long()
    elif case == "complex weights":
        state[key] = state[key].to(torch.complex64)


ODD_CASES = {
    "heads 0": "heads must be a whole number of at least 1, got 0",
    "string version": "format version '1' is not a whole number",
    "int keys": "has names that are not text (7)",
    "negative width": "width must be a whole number of at least 1, got -64",
    "float width": "width must be a whole number, got 64.0",
    "string heads": "heads must be a whole number, got '2'",
    "meta tensor": "no values (meta tensors): z_proj.weight",
    "sparse tensor": "holds sparse tensors (z_proj.weight)",
    "int64 weights": "not floating point: z_proj.weight",
    "complex weights": "not floating point: z_proj.weight",
}


@pytest.mark.parametrize("case", ODD_CASES)
def test_checkpoint_oddities_are_one_clear_line(case, tiny_checkpoint, tmp_path):
    payload = torch.load(tiny_checkpoint, weights_only=True)
    _odd(payload, case)
    bad = tmp_path / f"{case.replace(' ', '_')}.pt"
    torch.save(payload, bad)
    with pytest.raises(CheckpointError) as info:
        load_model(bad, "cpu")
    assert ODD_CASES[case] in str(info.value) and str(bad) in str(info.value)
    assert "\n" not in str(info.value)


def test_checkpoint_oddities_on_the_command_line_exit_2_without_traceback(
        tiny_checkpoint, tmp_path, audio_pair):
    payload = torch.load(tiny_checkpoint, weights_only=True)
    _odd(payload, "heads 0")
    bad = tmp_path / "heads0.pt"
    torch.save(payload, bad)
    code, _, err = run_cli("generate", "--audio-a", audio_pair[0], "--audio-b", audio_pair[1],
                           "--out-dir", tmp_path / "out", "--checkpoint", bad)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


# ----------------------------------------------------------------- audio headers
@pytest.mark.parametrize("rate", [1, 4_000, 500_000, 40_000_000, 2**31 - 1])
def test_sample_rates_outside_8k_to_384k_are_refused_from_the_header(rate, tmp_path):
    wav = write_wav(tmp_path / f"r{rate}.wav", rate)
    for read in (load_audio, open_audio):
        with pytest.raises(AudioError, match=f"its header says {rate:,} samples per second"):
            read(wav)


def test_a_1hz_wav_of_1mb_is_refused_in_a_child_without_memory(tmp_path):
    """The issue's case: 500000 samples at 1 Hz planned 500000 turns and took 5.8 GB."""
    wav = write_wav(tmp_path / "one_hz.wav", 1)
    for call in ("load_audio", "open_audio"):
        growth, _, seconds, outcome = peak_in_child(
            "from model_core.speech.audio import load_audio\n"
            "from model_core.speech.audio_stream import open_audio",
            f"{call}({str(wav)!r})")
        assert outcome.startswith("AudioError") and "1 samples per second" in outcome
        assert growth < MEMORY_BOUND_MB and seconds < 0.5, (call, growth, seconds)


@pytest.mark.parametrize("rate", [40_000_000, 1])
def test_absurd_rates_on_the_command_line_are_one_line(rate, tmp_path, audio_pair):
    """No ZeroDivisionError (above 32 MHz the resampling ratio became 0)."""
    wav = write_wav(tmp_path / "a.wav", rate)
    code, _, err = run_cli("generate", "--audio-a", wav, "--audio-b", audio_pair[1],
                           "--out-dir", tmp_path / "out")
    assert code == 2 and "Traceback" not in err and "ZeroDivision" not in err, err
    assert len(err.strip().splitlines()) == 1 and "samples per second" in err


def test_a_header_longer_than_the_duration_limit_is_refused_before_reading(tmp_path):
    """A sparse file (no disk space) whose header says 4 h 10 min at 8 kHz."""
    seconds = MAX_AUDIO_SECONDS + 600
    wav = write_wav(tmp_path / "long.wav", 8000, samples=4000,
                    apparent_bytes=44 + seconds * 8000 * 2)
    with pytest.raises(AudioError, match=r"at most 4 h can be generated at once"):
        open_audio(wav)
    with pytest.raises(AudioError, match=r"turns\); at most 4 h"):
        load_audio(wav)


def test_array_input_with_an_absurd_rate_is_refused():
    with pytest.raises(AudioError, match="samples per second"):
        open_audio(np.ones(1000, np.float32), 40_000_000)
    with pytest.raises(AudioError, match="samples per second"):
        load_audio(np.ones(1000, np.float32), 1)


# ----------------------------------------------------------------- npz members
def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


T = 30
GOOD_EXP, GOOD_POSE = np.zeros((T, 50), np.float32), np.zeros((T, 6), np.float32)
NPZ_CASES = {
    "text": (dict(exp=np.full((T, 50), "1.0"), pose=GOOD_POSE), "'exp' holds text"),
    "bytes": (dict(exp=np.full((T, 50), b"1"), pose=GOOD_POSE), "'exp' holds bytes"),
    "structured": (dict(exp=np.zeros((T, 50), [("a", "<f4")]), pose=GOOD_POSE),
                   "'exp' holds structured records"),
    "complex": (dict(exp=np.zeros((T, 50), np.complex64), pose=GOOD_POSE),
                "'exp' holds complex numbers"),
    "datetime": (dict(exp=GOOD_EXP, pose=np.zeros((T, 6), "datetime64[s]")), "'pose' holds dates"),
    "timedelta": (dict(exp=GOOD_EXP, pose=np.zeros((T, 6), "timedelta64[s]")),
                  "'pose' holds time spans"),
    "int": (dict(exp=np.zeros((T, 50), np.int64), pose=GOOD_POSE), "'exp' holds integers"),
    "bool": (dict(exp=np.zeros((T, 50), bool), pose=GOOD_POSE), "'exp' holds true/false"),
}


@pytest.mark.parametrize("case", NPZ_CASES)
def test_npz_members_of_the_wrong_kind_are_refused_before_loading(case, tmp_path):
    arrays, expect = NPZ_CASES[case]
    path = _npz(tmp_path / f"{case}.npz", **arrays)
    with pytest.raises(MotionFileError, match="FLAME coefficients must be floating point") as info:
        load_motion_npz(path)
    assert expect in str(info.value)


def test_object_arrays_and_non_array_members_are_refused(tmp_path):
    objects = tmp_path / "objects.npz"
    np.savez(objects, exp=np.array([[None] * 50] * T, dtype=object), pose=GOOD_POSE)
    with pytest.raises(MotionFileError, match="'exp' holds Python objects"):
        load_motion_npz(objects)
    raw = tmp_path / "raw.npz"                    # members that are not .npy arrays
    with zipfile.ZipFile(raw, "w") as zf:
        zf.writestr("exp", b"not an array")
        zf.writestr("pose.npy", b"junk")
    with pytest.raises(MotionFileError, match="'exp' missing"):
        load_motion_npz(raw)
    junk = tmp_path / "junk.npz"
    with zipfile.ZipFile(junk, "w") as zf:
        zf.writestr("exp.npy", b"junk")
        zf.writestr("pose.npy", b"junk")
    with pytest.raises(MotionFileError, match="'exp.npy' is not a numpy array"):
        load_motion_npz(junk)


def test_an_npz_that_would_inflate_to_gigabytes_is_refused_from_its_directory(tmp_path):
    bomb = write_npz_bomb(tmp_path / "bomb.npz")
    assert bomb.stat().st_size < 5_000_000
    growth, _, seconds, outcome = peak_in_child(
        "from model_core.face.flame import load_motion_npz", f"load_motion_npz({str(bomb)!r})")
    assert outcome.startswith("MotionFileError") and "would inflate to 3,242 MB" in outcome, outcome
    assert growth < MEMORY_BOUND_MB and seconds < 0.5, (growth, seconds)


def test_an_npz_whose_header_claims_more_than_it_holds_is_refused(tmp_path):
    path = tmp_path / "claims.npz"
    with zipfile.ZipFile(path, "w") as zf:
        with zf.open("exp.npy", "w") as fh:
            np.lib.format.write_array_header_1_0(
                fh, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 50)})
            fh.write(b"\0" * 400)
        with zf.open("pose.npy", "w") as fh:
            np.lib.format.write_array(fh, GOOD_POSE)
    with pytest.raises(MotionFileError, match="claims shape .* the file is damaged"):
        load_motion_npz(path)


def test_wrong_npz_dtype_on_the_command_line_is_one_line(tmp_path, audio_pair, tiny_checkpoint):
    path = _npz(tmp_path / "text.npz", exp=np.full((T, 50), "x"), pose=GOOD_POSE)
    code, _, err = run_cli("generate", "--audio-a", audio_pair[0], "--audio-b", audio_pair[1],
                           "--out-dir", tmp_path / "out", "--checkpoint", tiny_checkpoint,
                           "--motion-b", path)
    assert code == 2 and "Traceback" not in err and "'exp' holds text" in err, err
