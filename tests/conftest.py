"""Shared test set-up: the repo root on sys.path, the real demo dialogue in ../shared (tests
that need it skip with a message where it is absent), a real tiny checkpoint, and the
one-thread switch of the tiny-model tests. Plain helpers that test modules import live in
``helpers.py``: a module named ``conftest`` is ambiguous once a sub-folder has its own."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from helpers import DEMO_DIR, DEMO_ID, REPO, write_speech_pair

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


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


@pytest.fixture(scope="session")
def audio_pair(tmp_path_factory) -> list[str]:
    """Two 3 s speech-like tracks."""
    return write_speech_pair(tmp_path_factory.mktemp("audio"), 3.0)


LONG_AUDIO_SECONDS = 150


@pytest.fixture(scope="session")
def long_audio_pair(tmp_path_factory) -> list[str]:
    """Two 150 s speech-like tracks: long enough that a run of the real tiny model (tens of
    ms a turn) can be cancelled or stopped midway."""
    return write_speech_pair(tmp_path_factory.mktemp("long_audio"), LONG_AUDIO_SECONDS, seed=100)


@pytest.fixture
def one_torch_thread():
    """Tiny models run fastest single-threaded; extra threads only contend on a shared CPU."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pytest_configure(config):
    # Anything Blender marks for removal (5.2: "... is expected to be removed in Blender
    # 6.0") fails the test that used it: the newer form must be used where it exists.
    config.addinivalue_line("filterwarnings", "error:.*removed in Blender:DeprecationWarning")
