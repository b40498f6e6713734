# SPDX-License-Identifier: GPL-3.0-or-later
"""The real-window GUI test takes minutes and a Debian 13 folder: it runs when asked for
(``bash .ci/gui``, ``pytest tests/gui``, or TIMAR_GUI=1) and skips in a wider run."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _asked_for(config) -> bool:
    if os.environ.get("TIMAR_GUI") == "1":
        return True
    for arg in config.args:
        path = Path(str(arg).split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_collection_modifyitems(config, items):
    if _asked_for(config):
        return
    skip = pytest.mark.skip(reason="the real-window GUI test runs on its own: bash .ci/gui")
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(skip)
