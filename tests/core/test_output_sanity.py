"""Issue 19, class 6: output sanity. Every generated turn is checked against four times the
FLAME ranges the motion-file loader already enforces (finite, |exp| <= 200, |pose| <= 12.8
rad; real motion peaks at 4.3) before it is handed out: a checkpoint whose weights are scaled
by 50 (|exp| 3e7 was written with exit 0) fails naming the checkpoint and writes nothing;
int64 weights (loaded as zeros) are refused when loaded."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from hostile_files import run_cli
from model_core.checkpoint import load_model
from model_core.errors import CheckpointError
from model_core.face.flame import EXP_LIMIT, POSE_LIMIT
from model_core.generate import DialogueGenerator, GenerationOptions
from model_core.output_check import (GENERATED_EXP_LIMIT, GENERATED_POSE_LIMIT, ModelOutputError,
                                     check_generated_motion)
from model_core.testing import speech_like


def scaled_checkpoint(source, path, factor: float = 50.0):
    payload = torch.load(source, weights_only=True)
    payload["state_dict"] = {k: v * factor if v.is_floating_point() else v
                             for k, v in payload["state_dict"].items()}
    torch.save(payload, path)
    return path


def test_real_weights_generate_within_the_ranges(tiny_checkpoint, one_torch_thread):
    model = load_model(tiny_checkpoint, "cpu")
    result = DialogueGenerator(model, GenerationOptions(context_turns=1, steps=1)).run(
        speech_like(3, 1), speech_like(3, 2))
    for motion in (result.motion_a, result.motion_b):
        assert np.abs(motion[:, :50]).max() < EXP_LIMIT and np.abs(motion[:, 50:]).max() < POSE_LIMIT
    assert (GENERATED_EXP_LIMIT, GENERATED_POSE_LIMIT) == (4 * EXP_LIMIT, 4 * POSE_LIMIT)


def test_weights_scaled_by_50_fail_naming_the_checkpoint(tiny_checkpoint, tmp_path, one_torch_thread):
    bad = scaled_checkpoint(tiny_checkpoint, tmp_path / "scaled.pt")
    model = load_model(bad, "cpu")
    stream = DialogueGenerator(model, GenerationOptions(context_turns=1, steps=1)).open(
        speech_like(3, 1), speech_like(3, 2))
    with pytest.raises(ModelOutputError) as info:
        next(stream)
    text = str(info.value)
    assert "far outside FLAME's ranges at turn 1" in text and str(bad) in text


def test_scaled_weights_on_the_command_line_write_nothing(tiny_checkpoint, tmp_path, audio_pair):
    bad = scaled_checkpoint(tiny_checkpoint, tmp_path / "scaled.pt")
    out = tmp_path / "out"
    code, _, err = run_cli("generate", "--audio-a", audio_pair[0], "--audio-b", audio_pair[1],
                           "--out-dir", out, "--checkpoint", bad, "--steps", "1")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "far outside FLAME's ranges" in err and "scaled.pt" in err and "nothing was written" in err
    assert not out.exists() or not list(out.iterdir())


def test_int64_weights_are_refused_when_loaded(tiny_checkpoint, tmp_path):
    payload = torch.load(tiny_checkpoint, weights_only=True)
    payload["state_dict"] = {k: (v * 50).long() if v.is_floating_point() else v
                             for k, v in payload["state_dict"].items()}
    torch.save(payload, tmp_path / "int64.pt")
    with pytest.raises(CheckpointError, match="not floating point"):
        load_model(tmp_path / "int64.pt", "cpu")


@pytest.mark.parametrize("value, expect", [
    (np.nan, "NaN or infinite motion at turn 3"), (np.inf, "NaN or infinite motion"),
    (GENERATED_EXP_LIMIT * 1.01, "largest expression coefficient 202")])
def test_the_check_itself(value, expect):
    motion = np.zeros((25, 56), np.float32)
    motion[3, 7] = value
    with pytest.raises(ModelOutputError, match=expect):
        check_generated_motion(motion, "ckpt.pt", 2)
    motion[3, 7] = 0
    motion[4, 52] = GENERATED_POSE_LIMIT * 1.01
    with pytest.raises(ModelOutputError, match="jaw/neck rotation"):
        check_generated_motion(motion, "ckpt.pt", 2)
    motion[4, 52] = GENERATED_POSE_LIMIT * 0.99
    check_generated_motion(motion, "ckpt.pt", 2)
