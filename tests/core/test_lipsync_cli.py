"""``python -m model_core lipsync-eval`` on a tiny flite utterance with a tiny checkpoint."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "model_core", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def utterances(tmp_path_factory) -> Path:
    """One flite utterance with its exact phones (``-psdur`` prints phone:end_time)."""
    if shutil.which("flite") is None:
        pytest.skip("flite is not installed (.ci/setup installs it)")
    folder = tmp_path_factory.mktemp("utterances")
    out = subprocess.run(["flite", "-voice", "slt", "-psdur", "-t", "Bob bought a blue map.",
                          "-o", str(folder / "bob.wav")],
                         capture_output=True, text=True, check=True).stdout
    phones, start = [], 0.0
    for token in out.split():
        label, _, end = token.rpartition(":")
        phones.append([label, start, float(end)])
        start = float(end)
    (folder / "bob.json").write_text(json.dumps(phones))
    return folder


def test_lipsync_eval_prints_the_metrics_with_targets_and_writes_json(
        utterances, tiny_checkpoint, tmp_path):
    out = tmp_path / "lipsync.json"
    result = cli("lipsync-eval", "--utterances", utterances, "--checkpoint", tiny_checkpoint,
                 "--steps", "2", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "closure_recall" in result.stdout and ">= 0.9" in result.stdout
    assert "face_from_flame" in result.stdout          # the tiny model has no mouth head
    report = json.loads(out.read_text())
    row, = report["utterances"]
    phones = json.loads((utterances / "bob.json").read_text())
    assert row["utterance"] == "bob"
    assert row["bilabials"] == sum(p[0] in ("p", "b", "m") for p in phones) >= 4
    assert 0.0 <= row["closure_recall"] <= 1.0 and 0.0 <= row["jaw_auc"] <= 1.0
    assert row["listener_sealed_fraction"] is not None
    assert report["targets"]["false_closures_per_min"] == {"op": "<=", "value": 10.0}


def test_lipsync_eval_refuses_a_folder_without_utterances(tiny_checkpoint, tmp_path):
    (tmp_path / "x.wav").write_bytes(b"")
    result = cli("lipsync-eval", "--utterances", tmp_path, "--checkpoint", tiny_checkpoint)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "NAME.json" in result.stderr
