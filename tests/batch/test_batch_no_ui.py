# SPDX-License-Identifier: GPL-3.0-or-later
"""The headless batch never imports the add-on's UI layer (preferences, panel, operators,
scene properties): a fresh interpreter runs the batch's entry point and lists what got
imported."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UI_MODULES = ("prefs", "ui", "ops_generate", "ops_scene", "props", "model_choice")


def test_batch_imports_no_ui_module(tmp_path):
    pytest.importorskip("bpy")
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from timar_blender import batch\n"
        "import timar_blender.batch.cli, timar_blender.batch.dialogue\n"
        f"status = batch.main(['--sample', '--list', '--out', {str(tmp_path / 'out')!r}])\n"
        "print(json.dumps({'status': status, 'loaded': sorted(m for m in sys.modules\n"
        "                  if m.startswith('timar_blender'))}))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["status"] == 0
    assert "timar_blender.batch.dialogue" in seen["loaded"]     # the whole batch was imported
    ui = [m for m in seen["loaded"] if m.rsplit(".", 1)[-1] in UI_MODULES]
    assert ui == [], f"the batch imported UI modules: {ui}"
