"""TIMAR as a method of the benchmark protocol (``protocol.py``): it generates the agent's
head turn by turn through the generator's public streaming API, the partner's real motion
copied through (or generated when unknown)."""
from __future__ import annotations

import numpy as np

from ..constants import TURN_FRAMES
from ..errors import AudioError, TimarError
from ..generate import DialogueGenerator, GenerationOptions
from .protocol import AgentClip, stderr_log

AGENT_HISTORY = ("masked", "generated", "real")


class TimarMethod:
    """TIMAR generating the agent turn by turn with n previous turns of context, the partner's
    real motion copied through (or generated when unknown).

    ``agent_history`` is what the agent's own past turns hold in the context window:
    "masked" (the paper's protocol: the mask token, so errors cannot feed back), "generated"
    (its own samples, as the add-on can run) or "real" (its ground-truth past: a diagnostic
    of how much the history could tell the model, not a fair score)."""

    def __init__(self, model, context: int, steps: int = 5, seed: int = 0,
                 device: str = "auto", temperature: float = 1.0, name: str | None = None,
                 agent_history: str = "masked", turn_filter_sigma: float | None = None,
                 seam_blend_frames: float | None = None,
                 neck_filter_sigma: float | None = None):
        if agent_history not in AGENT_HISTORY:
            raise TimarError(f"agent_history must be one of {AGENT_HISTORY}, got {agent_history!r}")
        self.model = model
        self.context = int(context)
        self.agent_history = agent_history
        suffix = "" if agent_history == "masked" else f" ({agent_history} history)"
        self.name = name or f"TIMAR n={self.context}{suffix}"
        self.steps, self.seed, self.device, self.temperature = steps, seed, device, temperature
        self.turn_filter_sigma = turn_filter_sigma
        self.seam_blend_frames = seam_blend_frames
        self.neck_filter_sigma = neck_filter_sigma
        self.draw = 0                   # evaluate(draws=k) samples with seed + draw

    def predict(self, clip: AgentClip) -> np.ndarray | None:
        """The agent's generated motion; None (skipped) when the generator refuses a track
        (for example NaN samples). Silent tracks are allowed: a listener may never speak."""
        opts = GenerationOptions(context_turns=self.context, steps=self.steps,
                                 temperature=self.temperature, seed=self.seed + self.draw,
                                 device=self.device, use_cache=True,
                                 mask_agent_history=self.agent_history == "masked",
                                 turn_filter_sigma=self.turn_filter_sigma,
                                 seam_blend_frames=self.seam_blend_frames,
                                 neck_filter_sigma=self.neck_filter_sigma)
        parts = []
        try:
            stream = DialogueGenerator(self.model, opts).open(
                clip.audio_agent, clip.audio_user, motion_a=None, motion_b=clip.motion_user,
                allow_silent=True)
            for turn in stream:
                parts.append(turn.motion_a)
                real = clip.motion_agent[turn.start_frame:turn.start_frame + TURN_FRAMES]
                # teacher forcing: once a turn is emitted, its real motion replaces the
                # sample in the history, so later turns see the truth (a partial last turn
                # is never looked back at)
                if self.agent_history == "real" and len(real) == TURN_FRAMES:
                    stream.replace_last_turn(0, real)
        except AudioError as exc:
            stderr_log(f"{self.name}: skipping {clip.dialogue_id}/{clip.agent}: {exc}")
            return None
        return np.concatenate(parts).astype(np.float32)
