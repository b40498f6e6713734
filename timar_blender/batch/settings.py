# SPDX-License-Identifier: GPL-3.0-or-later
"""A batch's settings (generation and render options shared by every dialogue) and what a
dialogue's outputs depend on: its input files by content hash and those settings, so a
re-run redoes exactly the dialogues whose inputs or settings changed."""
from __future__ import annotations

import functools
import hashlib
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import core
from .manifest import FILE_COLUMNS, DialogueSpec
from .render import RenderOptions


@dataclass
class BatchSettings:
    out: Path
    checkpoint: str | None = None
    speech_model_dir: str | None = None   # official weights' wav2vec2 (None: $TIMAR_SPEECH_MODEL)
    device: str = "auto"
    seed: int = 0
    context_turns: int = 7
    steps: int = 5
    temperature: float = 1.0
    render: bool = False
    render_options: RenderOptions = field(default_factory=RenderOptions)
    frames_step: int = 0
    contact_range: tuple[int, int] | None = None
    stall_timeout: float = 300.0
    live_link_csv: bool = False           # also write each head as a Live Link Face CSV take

    def checkpoint_id(self) -> str:
        """The checkpoint's content hash, so a retrained model redoes the batch while a
        copy of the same file on another machine does not."""
        path = Path(self.checkpoint) if self.checkpoint else core.assets.bundled_checkpoint()
        return content_id(str(path))

    def describe(self, dialogue: DialogueSpec) -> dict:
        """What the outputs depend on; a re-run redoes a dialogue when this changed."""
        described = {
            "inputs": input_contents(dialogue),
            "generation": {"checkpoint": self.checkpoint_id(), "device": self.device,
                           "seed": self.seed, "context_turns": self.context_turns,
                           "steps": self.steps, "temperature": self.temperature}}
        if self.speech_model_dir:   # only official-layout weights read it
            described["generation"]["speech_model"] = self.speech_model_dir
        if self.live_link_csv:
            described["live_link_csv"] = True
        if self.render:
            described["render"] = {**asdict(self.render_options),
                                   "samples": self.render_options.samples_used(),
                                   "frames_step": self.frames_step,
                                   "contact_range": self.contact_range}
        return described


# The most a re-run check hashes: the largest input of any kind (the official checkpoint is
# 6.85 GB). Only regular files are hashed (a FIFO or /dev/zero would never end).
MAX_HASH_BYTES = max(core.input_files.MAX_INPUT_BYTES.values())


def content_id(path: str) -> str:
    """A file's content hash (cached while its size and time stamp stay the same); for an
    input that cannot be hashed (missing, not a regular file, too large, unreadable) a
    description instead, so the dialogue is never taken for complete and nothing blocks."""
    try:
        st = os.stat(path)
    except OSError:
        return f"missing: {path}"
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_HASH_BYTES:
        return f"not a file of at most {MAX_HASH_BYTES >> 30} GB: {path}"
    try:
        return _file_hash(os.path.realpath(path), st.st_size, st.st_mtime_ns)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc}): {path}"


def input_contents(dialogue: DialogueSpec) -> dict:
    """The dialogue's inputs as a re-run compares them: files (audio, template, a mapping
    .json) by content, so audio replaced at the same path is redone and a moved copy is not."""
    inputs = dialogue.inputs()
    for key in FILE_COLUMNS:
        if inputs[key]:
            inputs[key] = content_id(inputs[key])
    if inputs["preset"].lower().endswith(".json"):
        inputs["preset"] = content_id(inputs["preset"])
    return inputs


@functools.lru_cache(maxsize=16)
def _file_hash(path: str, _size: int, _mtime: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        left = _size + 1               # never more than the size it had when checked
        for block in iter(lambda: fh.read(min(1 << 20, left)), b""):
            digest.update(block)
            left -= len(block)
            if left <= 0:
                break
    return "sha256:" + digest.hexdigest()[:16]
