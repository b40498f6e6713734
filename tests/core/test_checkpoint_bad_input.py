"""Malformed and oversized checkpoints: one clear line, decided before any stored tensor is
read; the official release layout reads only the EMA weights; export writes a slim file."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from model_core import cli
from model_core.checkpoint import load_model
from model_core.errors import CheckpointError
from model_core.official_testing import TINY, random_release_state, release_args, write_release

from hostile_files import PEAK_MB

REPO = Path(__file__).resolve().parents[2]
PEAK_RSS = PEAK_MB + """
import sys, time
from model_core.checkpoint import load_model
from model_core.errors import CheckpointError
start = time.perf_counter()
try:
    load_model(sys.argv[1], "cpu", sys.argv[2] if len(sys.argv) > 2 else None)
    outcome = "loaded"
except CheckpointError as exc:
    outcome = "refused: " + str(exc)
print(peak_mb(), time.perf_counter() - start)
print(outcome)
"""


def load_in_child(*args) -> tuple[float, float, str]:
    """(peak RSS in MB, seconds spent loading, outcome) of loading a file in a fresh process."""
    result = subprocess.run([sys.executable, "-c", PEAK_RSS, *map(str, args)], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    figures, outcome = result.stdout.strip().splitlines()[-2:]
    rss, seconds = map(float, figures.split())
    return rss, seconds, outcome


def payload_of(checkpoint) -> dict:
    return torch.load(checkpoint, weights_only=True)


@pytest.mark.parametrize("case, expect", [
    ("no_state_dict", "has no 'state_dict'"),
    ("list_state_dict", "'state_dict' is not a dictionary of weights (found list)"),
    ("string_values", "holds entries that are not tensors (z_proj.weight)"),
    ("nan_weights", "weights hold NaN or infinite values"),
    ("huge_config", "config's width = 1000000 is outside"),
    ("no_config", "invalid config"),
])
def test_malformed_checkpoints_are_one_line(case, expect, tiny_checkpoint, tmp_path, capsys):
    payload = payload_of(tiny_checkpoint)
    if case == "no_state_dict":
        del payload["state_dict"]
    elif case == "list_state_dict":
        payload["state_dict"] = [1, 2, 3]
    elif case == "string_values":
        payload["state_dict"]["z_proj.weight"] = "weights"
    elif case == "nan_weights":
        payload["state_dict"]["z_proj.weight"][0, 0] = float("nan")
    elif case == "huge_config":
        payload["config"]["width"] = 1_000_000
    elif case == "no_config":
        del payload["config"]
    bad = tmp_path / f"{case}.pt"
    torch.save(payload, bad)
    with pytest.raises(CheckpointError, match=None) as info:
        load_model(bad, "cpu")
    assert expect in str(info.value) and str(bad) in str(info.value)
    # and on the command line: one line, status 2
    code = cli.main(["generate", "--audio-a", "a.wav", "--audio-b", "b.wav", "--out-dir",
                     str(tmp_path / "out"), "--checkpoint", str(bad)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and expect in err[0]


def test_a_header_claiming_a_huge_tensor_fails_fast_without_allocating(tiny_checkpoint, tmp_path):
    """A few-MB file whose pickled header claims a 400000 x 400000 half tensor (320 GB; 640 GB
    once widened to float32) under an unknown key and under a real key."""
    for key in ("huge.weight", "z_proj.weight"):
        payload = payload_of(tiny_checkpoint)
        payload["state_dict"][key] = torch.zeros(1, dtype=torch.float16).expand(400_000, 400_000)
        path = tmp_path / f"claims_{key}.pt"
        torch.save(payload, path)
        assert path.stat().st_size < 10e6
        rss, seconds, outcome = load_in_child(path)
        assert outcome.startswith("refused") and key in outcome
        assert ("unexpected" if key == "huge.weight" else "wrong shape") in outcome
        assert rss < 1500, f"peak RSS {rss:.0f} MB: the claimed tensor was materialised"
        assert seconds < 120


@pytest.fixture(scope="module")
def speech_dir(tmp_path_factory):
    pytest.importorskip("transformers", reason="the official weights' wav2vec2 front end "
                        "needs transformers (pip install transformers)")
    from model_core.official_testing import write_speech_model

    return write_speech_model(tmp_path_factory.mktemp("w2v") / "tiny", "tiny")


OPTIMIZER_MB = 400


def test_release_layout_reads_only_the_ema_weights(speech_dir, tmp_path):
    """The release holds model, EMA and (mostly) optimizer state: loading it costs about what
    loading the EMA weights alone costs, and export --half writes a slim file."""
    ema, model = random_release_state(seed=1, **TINY), random_release_state(seed=2, **TINY)
    slim = tmp_path / "ema_only.pth"
    write_release(slim, model, ema=ema, args=release_args(model="tiny"))
    full = tmp_path / "TIMAR.pth"
    n = OPTIMIZER_MB * 2**20 // 8             # exp_avg + exp_avg_sq, float32
    payload = {"model": model, "model_ema": ema, "epoch": 399, "args": release_args(model="tiny"),
               "optimizer": {"state": {0: {"step": torch.tensor(10.0),
                                           "exp_avg": torch.randn(n), "exp_avg_sq": torch.rand(n)}},
                             "param_groups": [{"lr": 1e-4, "params": [0]}]}}
    torch.save(payload, full)
    del payload
    assert full.stat().st_size > OPTIMIZER_MB * 2**20
    rss_slim, _, outcome_slim = load_in_child(slim, speech_dir)
    rss_full, _, outcome_full = load_in_child(full, speech_dir)
    assert outcome_slim == outcome_full == "loaded"
    assert rss_full - rss_slim < OPTIMIZER_MB / 4, (rss_slim, rss_full)

    out = tmp_path / "TIMAR_half.pt"
    assert cli.main(["export", str(full), str(out), "--half", "--speech-model", str(speech_dir)]) == 0
    assert out.stat().st_size < full.stat().st_size / 50
    exported, original = load_model(out, "cpu", speech_dir), load_model(full, "cpu", speech_dir)
    assert exported.meta["weights"] == "model_ema" and exported.meta["half"] is True
    a, b = exported.state_dict(), original.state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-3) for k in ema)
    assert not torch.equal(b["z_proj.weight"], model["z_proj.weight"])   # EMA, not model
