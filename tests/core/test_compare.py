"""Paired per-clip comparison of evaluate's JSON results."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from model_core import cli
from model_core.evaluation.compare import compare, load_methods


def _write(path: Path, methods: dict[str, list[float]], metric: str = "fd_exp") -> str:
    data = {"methods": {name: {"per_clip": [
        {"dialogue": f"d{i}", "agent": "speaker1", metric: v} for i, v in enumerate(values)]}
        for name, values in methods.items()}}
    path.write_text(json.dumps(data))
    return str(path)


def test_paired_difference_interval_and_relative(tmp_path: Path):
    ref = [1.0, 2.0, 3.0, 4.0]
    better = [0.5, 1.7, 2.4, 3.6]                       # diffs -0.5 -0.3 -0.6 -0.4
    path = _write(tmp_path / "r.json", {"ref": ref, "better": better, "same": ref})
    rows = {r.method: r for r in compare(load_methods([path]), "ref", ("fd_exp",))}
    b = rows["better"]
    assert b.clips == 4 and b.reference_mean == pytest.approx(2.5)
    assert b.diff_mean == pytest.approx(-0.45)
    sd = math.sqrt(sum((d + 0.45) ** 2 for d in (-0.5, -0.3, -0.6, -0.4)) / 3)
    assert b.diff_ci95 == pytest.approx(1.96 * sd / 2)
    assert b.relative == pytest.approx(-18.0) and b.significant
    assert not rows["same"].significant and rows["same"].diff_mean == 0.0


def test_scaled_as_published_and_only_shared_clips(tmp_path: Path):
    path = _write(tmp_path / "r.json", {"ref": [0.01, 0.02, 0.03], "m": [0.02, 0.03]},
                  metric="mse_exp")                     # MSE-exp is x10 in the table
    (row,) = compare(load_methods([path]), "ref", ("mse_exp",))
    assert row.clips == 2
    assert row.method_mean == pytest.approx(0.25) and row.diff_mean == pytest.approx(0.1)


def test_repeated_names_prefixed_with_file_stem(tmp_path: Path):
    a = _write(tmp_path / "base.json", {"TIMAR n=7": [1.0, 2.0]})
    b = _write(tmp_path / "full.json", {"TIMAR n=7": [2.0, 3.0]})
    rows = compare(load_methods([a, b]), "TIMAR n=7", ("fd_exp",))
    assert [r.method for r in rows] == ["full: TIMAR n=7"]
    assert rows[0].diff_mean == pytest.approx(1.0)


def test_command_prints_table_and_clear_errors(tmp_path: Path, capsys):
    path = _write(tmp_path / "r.json", {"DualTalk": [2.0, 2.2, 2.1], "TIMAR n=7": [1.0, 1.1, 1.3]})
    assert cli.main(["compare", path, "--reference", "DualTalk", "--metrics", "fd_exp"]) == 0
    out = capsys.readouterr().out
    assert "TIMAR n=7" in out and "-46.0%" in out
    assert cli.main(["compare", path, "--reference", "Nope"]) == 2
    assert "no method named 'Nope'" in capsys.readouterr().err
    (tmp_path / "junk.json").write_text("[1, 2]")
    assert cli.main(["compare", str(tmp_path / "junk.json"), "--reference", "x"]) == 2
    assert "not an evaluate --out file" in capsys.readouterr().err
    assert cli.main(["compare", str(tmp_path / "missing.json"), "--reference", "x"]) == 2
