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


def write_speech_pair(folder: Path, seconds: float, seed: int = 0) -> list[str]:
    """Two speech-like 16-bit wav tracks (speaker1, speaker2) in ``folder``."""
    import soundfile as sf
    from model_core.testing import speech_like

    paths = []
    for i in range(2):
        path = folder / f"speaker{i + 1}.wav"
        sf.write(path, speech_like(seconds, seed + i), 16000, subtype="PCM_16")
        paths.append(str(path))
    return paths


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


def pytest_configure(config):
    # Anything Blender marks for removal (5.2: "... is expected to be removed in Blender
    # 6.0") fails the test that used it: the newer form must be used where it exists.
    config.addinivalue_line("filterwarnings", "error:.*removed in Blender:DeprecationWarning")
