"""Turn-by-turn generation of both heads of a dialogue.

Each turn, every generated head is the agent once with the other head as its user, all in
one batch. The partner's current-turn motion is not known yet (both heads are generated at
the same time), so the learned "unknown" token stands in; once a turn is generated it is
committed to the history with both heads' motion. A head whose motion is given (a FLAME
file) is copied through and serves as the other head's known partner, which is the paper's
benchmark protocol.

Two exact paths:
- cached: each turn runs one pass over [previous turn, committed] ++ [current turn, masked]
  against the cached keys/values of older turns, so a turn costs the same at any context;
- recompute: no cache; the current turn is recomputed from its whole receptive field
  (``context * depth`` turns back), the reference the cache is tested against.
A model with learned absolute positions or full attention (the official weights, the
attention ablation) cannot be cached; it recomputes a cropped window of ``context + 1``
turns every turn, as the reference implementation does.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch

from .speech.audio import pad_warning_for
from .speech.audio_stream import AudioStream, open_audio, truncation_warning
from .constants import FPS, JAW, MOTION_DIM, NECK, SAMPLES_PER_FRAME, TOKENS_PER_TURN, TURN_FRAMES
from .devices import resolve_device
from .errors import MotionFileError, Stopped, TimarError
from .speech.feature_stream import TurnFeatures
from .face.channels import ARKIT_INDEX, face_from_flame, jaw_rad_from_open
from .upper_face_stream import HeardAudio, UpperFaceStream
from .layout import turn_ids
from .limits import check_generation_options
from .face.motion_files import load_motion
from .mouth import SILENCE_FEATURE, pad_context
from .output_check import check_generated_motion
from .transformer import KVCache
from .turn_joins import SeamBlend, TurnFilter


@dataclass
class GenerationOptions:
    context_turns: int = 7          # previous turns each turn may attend to (0..window-1)
    steps: int = 5                  # diffusion sampling steps
    temperature: float = 1.0
    seed: int = 0
    device: str = "auto"            # auto | cpu | cuda | mps
    use_cache: bool = True
    mask_agent_history: bool = True  # the agent's own past motion is masked, as in training
    # Time constant (frames) of the sampling noise along time. 0 = independent per frame
    # (the paper). > 0 = an AR(1) process: each frame's noise is still standard normal, so
    # every frame's distribution is unchanged, but neighbouring frames deviate together
    # instead of jittering independently.
    noise_time_constant: float = 0.0
    # Per-frame heads only (the paper's head, the official weights): Gaussian smoothing of
    # each new turn, sigma in frames, joined to the frames already emitted (causal across
    # turns: emitted frames never change). None = 1.5 for per-frame heads; the trajectory
    # head samples whole smooth turns and needs none (0).
    turn_filter_sigma: float | None = None
    # The same for the neck channels; None = the head's own default (see below).
    neck_filter_sigma: float | None = None
    # Inertialisation of each new turn onto the emitted frames (see turn_joins.SeamBlend):
    # the spring's time constant in frames, 0 = off, None = DEFAULT_SEAM_BLEND_FRAMES.
    seam_blend_frames: float | None = None
    # Brows on the speaker's pitch accents, a smile and brow raise with the listener's nods
    # (model_core.face.upper), added to every generated head's face frames.
    upper_face: bool = True


@dataclass
class TurnResult:
    index: int
    total_turns: int
    start_frame: int                # at 25 fps
    motion_a: np.ndarray            # (n, 56) float32, n = 25 except maybe the last turn
    motion_b: np.ndarray
    elapsed_s: float                # since generation started
    audio_seconds_done: float
    # (n, 67) face frames (model_core.face.channels: ARKit-52 then 15 viseme probabilities):
    # the mouth head's where the model has one, else what the FLAME motion implies.
    face_a: np.ndarray | None = None
    face_b: np.ndarray | None = None

    @property
    def realtime_factor(self) -> float:
        return self.elapsed_s / max(self.audio_seconds_done, 1e-9)


@dataclass
class DialogueResult:
    motion_a: np.ndarray            # (T, 56)
    motion_b: np.ndarray
    wall_time_s: float
    duration_s: float
    warnings: list[str] = field(default_factory=list)
    face_a: np.ndarray | None = None    # (T, 67), see TurnResult
    face_b: np.ndarray | None = None

    @property
    def realtime_factor(self) -> float:
        return self.wall_time_s / max(self.duration_s, 1e-9)


def _as_motion(value, frames: int, name: str, warnings: list[str]) -> np.ndarray | None:
    """A given head's motion (a FLAME npz or Live Link Face CSV path, or a (T, 56) array)
    fitted to ``frames`` frames."""
    if value is None:
        return None
    motion = load_motion(value) if isinstance(value, (str, bytes)) or hasattr(value, "__fspath__") \
        else np.asarray(value, dtype=np.float32)
    if motion.ndim != 2 or motion.shape[1] != MOTION_DIM:
        raise MotionFileError(f"{name}: motion must be (T, {MOTION_DIM}), got {motion.shape}")
    if len(motion) != frames:
        warnings.append(f"{name} has {len(motion)} frames, the audio {frames}; "
                        f"{'trimmed' if len(motion) > frames else 'held its last frame'}")
        if len(motion) > frames:
            motion = motion[:frames]
        else:
            motion = np.concatenate([motion, np.repeat(motion[-1:], frames - len(motion), 0)])
    return motion.astype(np.float32)


@dataclass
class StreamState:
    """Everything one dialogue's generation carries from turn to turn."""
    start: float                    # perf_counter at the start
    n_turns: int
    frames: int                     # output frames (the last turn may be partial)
    feats: TurnFeatures             # [heads, turns] -> (.., 25, feat) speech features
    motion: torch.Tensor            # (2, n_turns, 25, 56) normalised motion, filled per turn
    given: list                     # per head: (T, 56) motion copied through, or None
    agents: list                    # heads generated, each the agent of one batch row
    users: list                     # the partner of each agent
    partner_known: list             # per agent: is its partner's motion given?
    noise: "TemporalNoise"
    cache: KVCache
    upper: UpperFaceStream | None = None   # the generated heads' upper face, or None (off)


class TemporalNoise:
    """Standard-normal sampling noise for one turn at a time, optionally AR(1)-correlated
    along time (carried across turns), from one seeded generator."""

    def __init__(self, seed: int, device, draws: int, heads: int, time_constant: float):
        self.gen = torch.Generator(device=device).manual_seed(int(seed))
        self.device, self.shape = device, (draws, heads, TURN_FRAMES, MOTION_DIM)
        self.rho = math.exp(-1.0 / time_constant) if time_constant > 0 else 0.0
        self.state: torch.Tensor | None = None

    def next_turn(self) -> torch.Tensor:
        """(draws, heads * 25, 56) noise for the next turn, frames in time order."""
        white = torch.randn(self.shape, generator=self.gen, device=self.device)
        if self.rho > 0:
            keep, fresh = self.rho, math.sqrt(1.0 - self.rho ** 2)
            for f in range(TURN_FRAMES):
                if self.state is not None:
                    white[:, :, f] = keep * self.state + fresh * white[:, :, f]
                self.state = white[:, :, f]
        d, h, f, c = self.shape
        return white.reshape(d, h * f, c)


# Per-frame heads (the paper's, the official weights) are smoothed everywhere. A trajectory
# head samples smooth turns; only its neck is smoothed: real necks carry almost no energy
# above 4 Hz (0.3% on the real DualTalk dialogue, the face 5-6%), and the bundled model's
# neck had 2.4% and 2.9x the real acceleration unsmoothed (0.2% and 0.4x with sigma 1.5,
# velocity 0.7x, the face unchanged; assets/MODEL_CARD.md). Every head's turns are
# inertialised onto the emitted frames.
DEFAULT_TURN_FILTER_SIGMA = 1.5
TRAJECTORY_FILTER_SIGMAS = (0.0, 1.5)       # (face, neck)
DEFAULT_SEAM_BLEND_FRAMES = 3.0


class DialogueStream:
    """One dialogue being generated, a turn per ``next()``; made by
    :meth:`DialogueGenerator.open`. Its progress is public (``turns_done``, ``n_turns``,
    ``frames``), and :meth:`replace_last_turn` changes what the context holds for the turn
    just emitted: teacher forcing, for diagnostics that feed the real past back in.

    Inference mode is entered around each turn, never across a ``next()``: it is
    thread-local state and must not leak into the caller's code between turns."""

    def __init__(self, generator: "DialogueGenerator", state: StreamState):
        self._generator, self._state = generator, state
        self.turns_done = 0
        self._broken = False        # a turn raised (Stopped, an error): its state is partial

    @property
    def n_turns(self) -> int:
        return self._state.n_turns

    @property
    def frames(self) -> int:
        return self._state.frames

    def __iter__(self) -> "DialogueStream":
        return self

    def __next__(self) -> TurnResult:
        if self._broken:
            raise TimarError("this dialogue stream was stopped or failed; open a new one")
        if self.turns_done >= self._state.n_turns:
            raise StopIteration
        try:
            with torch.inference_mode():
                turn = self._generator._turn(self.turns_done, self._state)
        except BaseException:
            self._broken = True
            raise
        self.turns_done += 1
        return turn

    def replace_last_turn(self, head: int, motion) -> None:
        """Put ``motion`` ((25, 56), FLAME units) in head ``head``'s (0 = A, 1 = B) turn
        just emitted, as the following turns will see it (the emitted TurnResult is not
        changed). Only the last turn can be replaced: older turns are already in the
        key/value cache."""
        if self.turns_done == 0:
            raise TimarError("no turn has been emitted yet")
        if head not in (0, 1):
            raise TimarError(f"head must be 0 (A) or 1 (B), got {head!r}")
        values = torch.as_tensor(np.asarray(motion, dtype=np.float32))
        if tuple(values.shape) != (TURN_FRAMES, MOTION_DIM):
            raise TimarError(f"a turn's motion is ({TURN_FRAMES}, {MOTION_DIM}), got {tuple(values.shape)}")
        model, s = self._generator.model, self._state
        with torch.inference_mode():
            s.motion[head, self.turns_done - 1] = model.normalize(values.to(s.motion.device))


class DialogueGenerator:
    """Streams both heads of a dialogue, one 1 s turn at a time (see module docstring)."""

    def __init__(self, model, options: GenerationOptions | None = None, should_stop=None):
        """``should_stop()``, when given, is asked between the parts of every turn (and
        between the transformer's blocks); once it returns True the stream raises
        ``errors.Stopped`` and the turn in flight is dropped. A Cancel button passes
        ``threading.Event.is_set``: stopping then takes a block's time, not a turn's."""
        self.should_stop = should_stop
        self.options = options or GenerationOptions()
        self.device = resolve_device(self.options.device)
        self.model = model.to(self.device).eval()
        o = self.options
        check_generation_options(seed=o.seed, temperature=o.temperature, steps=o.steps,
                                 context_turns=o.context_turns,
                                 window_turns=model.config.window_turns,
                                 noise_time_constant=o.noise_time_constant)
        self.turn_filter = TurnFilter(self._filter_sigmas(model.diffloss.sees_past))
        blend = self.options.seam_blend_frames
        blend = DEFAULT_SEAM_BLEND_FRAMES if blend is None else blend
        if not 0.0 <= blend <= TURN_FRAMES:
            raise TimarError(f"seam blend must be between 0 and {TURN_FRAMES} frames, got {blend}")
        self.seam_blend = SeamBlend(blend)
        self.warnings: list[str] = []

    def _filter_sigmas(self, smooth_head: bool) -> torch.Tensor:
        """Per-channel turn-filter sigma: the face's and the neck's, each the option or the
        head's default."""
        face, neck = self.options.turn_filter_sigma, self.options.neck_filter_sigma
        defaults = TRAJECTORY_FILTER_SIGMAS if smooth_head else (DEFAULT_TURN_FILTER_SIGMA,) * 2
        face = defaults[0] if face is None else face
        neck = (defaults[1] if self.options.turn_filter_sigma is None else face) \
            if neck is None else neck
        for name, value in (("turn filter", face), ("neck filter", neck)):
            if not 0.0 <= value <= 10.0:
                raise TimarError(f"{name} sigma must be between 0 and 10 frames, got {value}")
        sigmas = torch.full((MOTION_DIM,), float(face))
        sigmas[NECK] = float(neck)
        return sigmas

    # ---------------------------------------------------------------- public API
    def run(self, audio_a, audio_b, motion_a=None, motion_b=None, *, sample_rate=None,
            allow_silent: bool = False) -> DialogueResult:
        turns, start = [], time.perf_counter()
        for turn in self.stream(audio_a, audio_b, motion_a, motion_b, sample_rate=sample_rate,
                                allow_silent=allow_silent):
            turns.append(turn)

        def joined(name):
            return np.concatenate([getattr(turn, name) for turn in turns])
        return DialogueResult(joined("motion_a"), joined("motion_b"), time.perf_counter() - start,
                              turns[-1].audio_seconds_done, list(self.warnings),
                              joined("face_a"), joined("face_b"))

    def stream(self, audio_a, audio_b, motion_a=None, motion_b=None, *,
               sample_rate=None, allow_silent: bool = False) -> Iterator[TurnResult]:
        """Yield one TurnResult per 1 s turn (the inputs are checked at the first one); see
        :meth:`open`."""
        yield from self.open(audio_a, audio_b, motion_a, motion_b, sample_rate=sample_rate,
                             allow_silent=allow_silent)

    def open(self, audio_a, audio_b, motion_a=None, motion_b=None, *,
             sample_rate=None, allow_silent: bool = False) -> "DialogueStream":
        """Check the inputs and start a dialogue; iterate the result for one TurnResult per
        1 s turn. Inputs: paths or arrays (16 kHz unless ``sample_rate``);
        ``motion_a``/``motion_b``: a FLAME npz path or (T, 56) array of a head to copy
        through instead of generating. A silent track is refused (usually the wrong file)
        unless ``allow_silent`` (a listener who never speaks)."""
        self.warnings = []
        # Audio is checked in one pass and then read turn by turn (bounded memory).
        a = open_audio(audio_a, sample_rate, name="speaker A audio", allow_silent=allow_silent)
        b = open_audio(audio_b, sample_rate, name="speaker B audio", allow_silent=allow_silent)
        for source, label in ((audio_a, "speaker A's audio"), (audio_b, "speaker B's audio")):
            warning = truncation_warning(source, label)
            if warning:
                self.warnings.append(warning)
        pad_warning = pad_warning_for(a.length, b.length)
        if pad_warning:
            self.warnings.append(pad_warning)
        frames = max(1, round(max(a.length, b.length) / SAMPLES_PER_FRAME))
        given = [_as_motion(motion_a, frames, "speaker A motion", self.warnings),
                 _as_motion(motion_b, frames, "speaker B motion", self.warnings)]
        if given[0] is not None and given[1] is not None:
            raise TimarError("both heads' motion is given: nothing to generate")
        with torch.inference_mode():
            state = self._start(a, b, given, frames)
        return DialogueStream(self, state)

    # ---------------------------------------------------------------- internals
    def _check_stop(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise Stopped("generation stopped")


    def _start(self, a: AudioStream, b: AudioStream, given: list, frames: int) -> "StreamState":
        model, opt, dev = self.model, self.options, self.device
        start = time.perf_counter()
        n_turns = math.ceil(frames / TURN_FRAMES)
        padded = n_turns * TURN_FRAMES
        upper = None
        if opt.upper_face:      # the generated heads' tracks are also heard by the upper face
            tracks = {h: HeardAudio(stream) for h, stream in enumerate((a, b)) if given[h] is None}
            a, b = tracks.get(0, a), tracks.get(1, b)
            upper = UpperFaceStream(tracks)
        feats = TurnFeatures(model, a, b, n_turns)       # (2, n_turns, 25, feat), per turn

        # Normalised motion of both heads; given heads filled now, generated ones per turn.
        motion = torch.zeros(2, padded, MOTION_DIM, device=dev)
        for h in (0, 1):
            if given[h] is not None:
                g = torch.from_numpy(given[h]).to(dev)
                g = torch.cat([g, g[-1:].expand(padded - frames, -1)]) if padded > frames else g
                motion[h] = model.normalize(g)
        motion = motion.view(2, n_turns, TURN_FRAMES, MOTION_DIM)
        agents = [h for h in (0, 1) if given[h] is None]          # heads to generate
        users = [1 - h for h in agents]
        partner_known = [given[u] is not None for u in users]

        noise = TemporalNoise(opt.seed, dev, model.diffloss.noise_draws(opt.steps),
                              len(agents), opt.noise_time_constant)
        return StreamState(start, n_turns, frames, feats, motion, given, agents, users,
                           partner_known, noise, KVCache(), upper)

    def _turn(self, t: int, s: "StreamState") -> TurnResult:
        """Generate turn t of the dialogue whose state ``_start`` made."""
        model, opt = self.model, self.options
        motion, agents, given, frames = s.motion, s.agents, s.given, s.frames
        self._check_stop()
        face = self._mouth(t, s)          # first: it reads turn t - 1's features, kept till now
        cond = self._conditions(t, s.feats, motion, agents, s.users, s.partner_known,
                                s.cache)                                   # (A, 25, D)
        # what turn t + 1 reads: the transformer's window, and the mouth turn t's features
        s.feats.drop_before(min(self._window_start(t + 1), t))
        self._check_stop()
        noise = s.noise.next_turn()                               # (draws, A * 25, 56)
        previous = motion[agents, t - 1] if t > 0 else None       # (A, 25, 56) emitted
        head = model.diffloss
        if head.sees_past:
            p = model.config.past_frames
            past = previous[:, TURN_FRAMES - p:] if previous is not None else \
                torch.zeros(len(agents), p, MOTION_DIM, device=cond.device)
            valid = torch.full((len(agents),), previous is not None, device=cond.device)
            sample = head.sample(cond, past, valid, opt.temperature, opt.steps,
                                 noise=noise.view(-1, len(agents), TURN_FRAMES, MOTION_DIM))
        else:
            sample = head.sample(cond.reshape(-1, cond.shape[-1]), opt.temperature,
                                 opt.steps, noise=noise)
        sample = sample.view(len(agents), TURN_FRAMES, MOTION_DIM)
        motion[agents, t] = self.seam_blend(self.turn_filter(sample, previous), previous)
        out = model.denormalize(motion[:, t]).cpu().numpy()
        if face is not None:            # the mouth head's jaw articulates the FLAME jaw too
            out[:, :, JAW.start] = jaw_rad_from_open(face[:, :, ARKIT_INDEX["jawOpen"]])
        for h in (0, 1):
            if given[h] is not None:    # copy the given motion through unchanged
                seg = given[h][t * TURN_FRAMES:(t + 1) * TURN_FRAMES]
                out[h, :len(seg)] = seg
        n = min(TURN_FRAMES, frames - t * TURN_FRAMES)
        for h in agents:                # what the model made, before anyone uses it
            check_generated_motion(out[h, :n], getattr(model, "source", "in memory"), t)
        faces = [face_from_flame(out[h, :n]) if face is None or given[h] is not None
                 else face[h, :n] for h in (0, 1)]
        if s.upper is not None:
            faces = s.upper.turn(t, faces, out[:, :n])
        done = (t * TURN_FRAMES + n) / FPS
        return TurnResult(t, s.n_turns, t * TURN_FRAMES, out[0, :n].astype(np.float32),
                          out[1, :n].astype(np.float32), time.perf_counter() - s.start, done,
                          faces[0], faces[1])

    def _mouth(self, t: int, s: "StreamState") -> np.ndarray | None:
        """(2, 25, 67) face frames of turn t from the mouth head, or None without one. The
        log-mel head reads the features of frames 25 t - 8 .. 25 t + 26: the next turn's
        first two frames are the 80 ms lookahead. The Whisper head reads frames 25 t - 4 ..
        25 t + 24 of features whose windows end 80 ms after their turn (computed when turn
        t + 1's audio is read). Before the start and past the end: ``SILENCE_FEATURE``."""
        mouth = self.model.mouth
        if mouth is None:
            return None
        first, stop = max(0, t - 1), min(s.n_turns, t + 1 + (mouth.ahead > 0))
        if self.model.mouth_frontend is None:
            block = s.feats[:, first:stop].reshape(2, (stop - first) * TURN_FRAMES, -1)
        else:
            block = s.feats.mouth_turns(first, stop)
        block = block.clone()       # past the audio's last (partial) frame: silence
        heard = math.ceil(s.feats.length / SAMPLES_PER_FRAME)
        block[:, max(0, heard - first * TURN_FRAMES):] = SILENCE_FEATURE
        at = (t - first) * TURN_FRAMES
        window = pad_context(block[:, at:at + TURN_FRAMES], block[:, :at],
                             block[:, at + TURN_FRAMES:], mouth.past, mouth.ahead)
        return mouth.predict(window).cpu().numpy()

    def _turn_tokens(self, turns: range, feats, motion, agents, users, partner_known,
                     current: int, first_window_token: int = 0) -> torch.Tensor:
        """Tokens of consecutive ``turns`` for every agent; turn ``current`` (if included)
        has the agent's motion masked and, unless given, the partner's motion unknown."""
        model, opt = self.model, self.options
        sel = slice(turns.start, turns.stop)
        n = len(turns)
        dev = motion.device
        is_current = (torch.arange(turns.start, turns.stop, device=dev) == current)
        is_current = is_current[:, None].expand(n, TURN_FRAMES)
        known = torch.stack([~is_current | k for k in partner_known])          # (A, n, 25)
        if opt.mask_agent_history:
            visible = torch.zeros(len(agents), n, TURN_FRAMES, dtype=torch.bool, device=dev)
        else:
            visible = (~is_current).expand(len(agents), n, TURN_FRAMES)
        speech_known = torch.ones(len(agents), n, TURN_FRAMES, dtype=torch.bool, device=dev)
        return model.embed_turns(feats[users, sel].to(dev), feats[agents, sel].to(dev),
                                 motion[users, sel], motion[agents, sel],
                                 speech_known, known, visible, first_window_token)

    def _window_start(self, t: int) -> int:
        """The first turn whose tokens the transformer reads to predict turn t."""
        model, ctx = self.model, self.options.context_turns
        if not model.cacheable:
            return max(0, t - ctx)                          # cropped window, recomputed
        if not self.options.use_cache:
            return max(0, t - ctx * model.config.depth)     # whole receptive field
        # Cached: commit turn t-1 (now complete) and predict turn t in one pass. At
        # context 0 no turn ever looks back, so there is nothing to commit.
        return max(0, t - 1) if ctx > 0 else t

    def _conditions(self, t, feats, motion, agents, users, partner_known, cache) -> torch.Tensor:
        """Transformer output at the agent-motion slots of turn t: (A, 25, D)."""
        model, opt = self.model, self.options
        ctx = opt.context_turns
        args = (feats, motion, agents, users, partner_known, t)
        first = self._window_start(t)
        x = self._turn_tokens(range(first, t + 1), *args)
        slots = model.last_turn_agent_slots(t + 1 - first, x.device)
        hidden, new_kv = model.run(x, turn_ids(first, t + 1 - first, x.device), ctx,
                                   cache if model.cacheable and opt.use_cache else None, slots,
                                   self._check_stop if self.should_stop is not None else None)
        if model.cacheable and opt.use_cache and first < t:
            committed = [(k[:, :, :TOKENS_PER_TURN], v[:, :, :TOKENS_PER_TURN]) for k, v in new_kv]
            cache.append(committed, turn_ids(t - 1, 1, x.device))
            cache.drop_before(t - ctx)     # turn t's commit needs turns >= t - ctx
        return model.conditions_at(hidden, slots)
