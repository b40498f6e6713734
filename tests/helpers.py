"""Plain helpers the test modules import (``from helpers import ...``); fixtures live in
conftest.py."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO_DIR = REPO.parent / "shared" / "data" / "dualtalk_demo"
DEMO_ID = "UbjUDM1MiGE_sub_video_72"


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
