# SPDX-License-Identifier: GPL-3.0-or-later
"""Running the model, without bpy: a request, its checks, the take/turn loop and a worker
thread that sends typed messages (messages.py) through a queue. The main thread (jobs.py)
writes keys."""
from __future__ import annotations

import importlib.util
import os
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import core
from .errors import GenerationError
from .messages import Cancelled, Failed, Finished, Message, TakeDone, TurnDone

__all__ = ["GenerationError", "GenerationProgress", "Request", "Worker", "check_torch",
           "get_model", "prepare", "run", "torch_available"]


@dataclass
class Request:
    audio_a: np.ndarray                 # 16 kHz mono float32
    audio_b: np.ndarray
    motion_a: np.ndarray | None = None  # (T, 56): copied through instead of generated
    motion_b: np.ndarray | None = None
    checkpoint: str | None = None       # None: the bundled model
    device: str = "auto"
    context_turns: int = 7
    steps: int = 5
    temperature: float = 1.0
    seed: int = 0
    takes: int = 1
    model: object = None
    # wav2vec2 folder for official-layout weights (TIMAR.pth); None: $TIMAR_SPEECH_MODEL
    speech_model_dir: str | None = None
    # time constant (model frames) of the sampling noise; 0 = independent per frame (paper)
    noise_time_constant: float = 0.0


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def check_torch(device: str) -> None:
    """Raise GenerationError when torch is missing or CUDA is asked for and absent."""
    if not torch_available():
        raise GenerationError("PyTorch is not installed: open Preferences > Add-ons > "
                              "TIMAR for Blender and click Install PyTorch")
    if device == "cuda":
        import torch
        if not torch.cuda.is_available():
            raise GenerationError("CUDA was requested but is not available here "
                                  "(no NVIDIA GPU or a CPU-only PyTorch); choose Auto or CPU")


_MODELS: dict = {}


def get_model(checkpoint: str | None, device: str, speech_model_dir: str | None = None):
    """Load (once) and cache the model; raises core TimarError subclasses.

    ``speech_model_dir``: the wav2vec2 folder official-layout weights need (other
    checkpoints ignore it)."""
    stamp = os.path.getmtime(checkpoint) if checkpoint and os.path.isfile(checkpoint) else None
    # a retrained file on disk, or another speech folder, is reloaded
    key = (checkpoint or "", device, stamp, speech_model_dir or "")
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = core.checkpoint_module().load_model(checkpoint or None, device,
                                                           speech_model_dir)
    return _MODELS[key]


def prepare(request: Request) -> Request:
    """Everything that can fail before the first turn: torch, device, model."""
    check_torch(request.device)
    try:
        request.model = get_model(request.checkpoint, request.device,
                                  request.speech_model_dir)
    except ImportError as exc:
        raise GenerationError(f"the TIMAR core cannot load the model ({exc})") from None
    return request


def _stream(request: Request, take: int, cancel: threading.Event):
    gen_mod = core.generate_module()
    opts = gen_mod.GenerationOptions(
        context_turns=request.context_turns, steps=request.steps,
        temperature=request.temperature, seed=request.seed + take, device=request.device,
        use_cache=True, mask_agent_history=True,
        noise_time_constant=request.noise_time_constant)
    # Cancel is seen between the transformer's blocks, not only between turns: a turn of the
    # official weights takes seconds on a CPU.
    gen = gen_mod.DialogueGenerator(request.model, opts, should_stop=cancel.is_set)
    return gen.stream(request.audio_a, request.audio_b, motion_a=request.motion_a,
                      motion_b=request.motion_b), gen


def run(request: Request, emit: Callable[[Message], None], cancel: threading.Event) -> None:
    """Generate every take, emitting TurnDone per turn and TakeDone per take, then Finished,
    Cancelled or Failed (with the traceback when it is a bug)."""
    try:
        for take in range(request.takes):
            turns, gen = _stream(request, take, cancel)
            for turn in turns:
                emit(TurnDone(take, turn))
                if cancel.is_set():
                    emit(Cancelled())
                    return
            emit(TakeDone(take, list(gen.warnings)))
        emit(Finished())
    except core.errors.Stopped:         # Cancel landed inside a turn: the turns sent stand
        emit(Cancelled())
    except core.TimarError as exc:      # UserError included
        emit(Failed(str(exc)))
    except Exception as exc:  # noqa: BLE001 - a bug: the traceback goes to the console
        emit(Failed(f"generation failed: {exc!r}", traceback.format_exc()))


class Worker:
    """The model loop in a daemon thread; messages on ``self.queue``."""

    def __init__(self, request: Request):
        self.request = request
        self.queue: queue.Queue = queue.Queue()
        self.cancel_event = threading.Event()
        self.started = time.monotonic()
        self.thread = threading.Thread(target=run, name="TIMAR generation", daemon=True,
                                       args=(request, self.queue.put, self.cancel_event))

    def start(self):
        self.thread.start()
        return self

    def cancel(self):
        self.cancel_event.set()

    def stop(self, timeout: float = 10.0) -> bool:
        """Cancel and wait; True when the thread has ended."""
        self.cancel_event.set()
        if self.thread.is_alive():
            self.thread.join(timeout)
        return not self.thread.is_alive()

    def messages(self):
        """The messages queued so far (typed, messages.py), without waiting."""
        while True:
            try:
                yield self.queue.get_nowait()
            except queue.Empty:
                return


@dataclass
class GenerationProgress:
    """How far a generation is: turns, time, audio covered; ``text()`` is the panel's line."""
    turns_done: int = 0
    turns_total: int = 0
    elapsed: float = 0.0
    audio_done: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def factor(self) -> float:
        return self.turns_done / self.turns_total if self.turns_total else 0.0

    @property
    def eta(self) -> float:
        if not self.turns_done:
            return float("nan")
        return self.elapsed / self.turns_done * (self.turns_total - self.turns_done)

    @property
    def rtf(self) -> float:
        """Compute time / audio time (below 1 = faster than real time)."""
        return self.elapsed / self.audio_done if self.audio_done > 0 else float("nan")

    def text(self) -> str:
        t = f"{self.turns_done}/{self.turns_total} turns, {self.elapsed:.0f} s"
        if self.turns_done:
            t += f", {self.eta:.0f} s left"
        if self.audio_done > 0:
            t += f", RTF {self.rtf:.2f}"
        return t
