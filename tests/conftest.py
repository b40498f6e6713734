"""Shared test set-up: the repo root on sys.path, the real demo dialogue in ../shared (tests
that need it skip with a message where it is absent), and a real tiny checkpoint."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEMO_DIR = REPO.parent / "shared" / "data" / "dualtalk_demo"
DEMO_ID = "UbjUDM1MiGE_sub_video_72"


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    if not (DEMO_DIR / f"{DEMO_ID}_speaker1.wav").is_file():
        pytest.skip(f"the real DualTalk demo dialogue is not at {DEMO_DIR} "
                    "(it lives in ../shared beside the checkout)")
    return DEMO_DIR


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    from model_core.testing import make_tiny_checkpoint

    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    make_tiny_checkpoint(path)
    return path
