"""What build.py puts into the zip for a Whisper mouth: the speech modules (found by the
import walk through model.py) and the encoder's first 4 layers with OpenAI's licence."""
from __future__ import annotations

from buildtools.runtime_files import runtime_files
from buildtools.whisper_assets import write_whisper_assets
from helpers import REPO
from model_core.speech.whisper_weights import BUNDLED_FILE, BUNDLED_LICENSE, load_encoder_npz


def test_the_zip_gets_the_whisper_modules_and_weights(tmp_path):
    arcs = {arc for _, arc in runtime_files(REPO)}
    for module in ("whisper_mouth", "whisper_stream", "whisper_encoder", "whisper_logmel",
                   "whisper_weights", "ct2_format", "__init__"):
        assert f"model_core/speech/{module}.py" in arcs, module
    assert not any("whisper_base_encoder" in a for a in arcs)     # never from the checkout
    written = write_whisper_assets(REPO, tmp_path / "assets")
    assert [p.name for p in written] == [BUNDLED_FILE, BUNDLED_LICENSE]
    assert 28.0e6 < written[0].stat().st_size < 29.5e6
    weights = load_encoder_npz(written[0])
    assert (weights.num_layers, weights.total_layers, weights.num_heads, weights.stored_dtype) == (4, 6, 8, "float16")
    assert "layer_3/ffn/linear_1/weight" in weights.arrays and "layer_4/ffn/linear_1/weight" not in weights.arrays
    notice = written[1].read_text()
    assert "MIT License" in notice and "Copyright (c) 2022 OpenAI" in notice
