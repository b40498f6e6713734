"""The TIMAR model: turn tokens -> turn-causal transformer -> per-frame diffusion head.

Trainable pieces and the two inference primitives (``embed_turns`` and ``run``) live here;
the turn-by-turn loop that generates both heads lives in ``generate.py``.
"""
from __future__ import annotations

import dataclasses
import math
import os

import torch
from torch import nn

from .assets import assets_dir
from .config import TimarConfig
from .constants import MOTION_DIM, NUM_MARKERS, TOKENS_PER_TURN, TURN_FRAMES
from .diffusion import DiffusionHead, RegressionHead
from .errors import SpeechModelError
from .layout import MARKER_IDS, SLOTS, attention_mask, token_times, turn_ids
from .mouth import CONTEXT_FRAMES, MouthHead
from .speech.logmel import LogMelFrontEnd
from .speech.speech_model import SPEECH_MODEL_NAME
from .speech.wav2vec2 import Wav2Vec2FrontEnd
from .speech.whisper_mouth import WhisperMouthFrontEnd
from .trajectory import TrajectoryHead
from .transformer import Block, KVCache, rotary_tables


def make_frontend(config: TimarConfig, speech_model_dir: str | os.PathLike | None = None) -> nn.Module:
    """The parameter-free feature extractor the config names. ``speech_model_dir``: the
    wav2vec2 folder (else $TIMAR_SPEECH_MODEL), read only by the wav2vec2 front end."""
    if config.speech_frontend == "logmel":
        return LogMelFrontEnd(config.n_mels)
    if config.speech_frontend == "wav2vec2":
        return Wav2Vec2FrontEnd(speech_model_dir)
    raise ValueError(f"unknown speech front end {config.speech_frontend!r}")


class TimarModel(nn.Module):
    def __init__(self, config: TimarConfig, speech_model_dir: str | os.PathLike | None = None):
        """``speech_model_dir``: the wav2vec2 folder of a wav2vec2-front-end config (else
        $TIMAR_SPEECH_MODEL); the log-mel front end reads nothing. The caller's config is
        left as it was; ``self.config`` is a copy holding the front end's feature width."""
        super().__init__()
        self.frontend = make_frontend(config, speech_model_dir)
        feat_dim = self.frontend.feat_dim
        if config.speech_frontend == "wav2vec2" and config.speech_feat_dim not in (0, feat_dim):
            raise SpeechModelError(
                f"the weights expect {config.speech_feat_dim}-dim speech features but the speech "
                f"model in {self.frontend.model_dir} gives {feat_dim}: use {SPEECH_MODEL_NAME}")
        config = dataclasses.replace(config, speech_feat_dim=feat_dim)
        self.config = config
        d = config.width
        if config.speech_frontend == "logmel":
            fd = self.frontend.feat_dim
            self.speech_projection = nn.Sequential(
                nn.LayerNorm(fd), nn.Linear(fd, d), nn.GELU(), nn.Linear(d, d))
        else:  # wav2vec2 hidden states, as the reference: one linear projection
            self.speech_projection = nn.Linear(self.frontend.feat_dim, d)
        self.motion_encoder = nn.Sequential(
            nn.Linear(MOTION_DIM, d // 2), nn.ReLU(), nn.Linear(d // 2, d))
        if self.reference_tokens:   # the release's motion encoder ends in a ReLU too
            self.motion_encoder.append(nn.ReLU())
        self.sep_tok_emb = nn.Embedding(NUM_MARKERS, d)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, d))
        self.fake_latent = nn.Parameter(torch.zeros(1, d))      # "unknown / dropped user token"
        self.z_proj = nn.Linear(d, d)
        self.z_proj_ln = nn.LayerNorm(d, eps=1e-6)
        if config.positions == "rotary":
            self.turn_pos_embed = nn.Parameter(torch.zeros(1, TOKENS_PER_TURN, d))
        else:
            tokens = config.window_turns * TOKENS_PER_TURN
            self.encoder_pos_embed_learned = nn.Parameter(torch.zeros(1, tokens, d))
            self.diffusion_pos_embed_learned = nn.Parameter(torch.zeros(1, tokens, d))
        self.encoder_blocks = nn.ModuleList(
            Block(d, config.heads, config.mlp_ratio) for _ in range(config.depth))
        # A plain attribute, not a submodule: the Whisper encoder is never in the state dict.
        self.mouth_frontend = WhisperMouthFrontEnd(config.mouth_whisper_layer, config.mouth_whisper_window,
                                                   assets_dir()) \
            if config.mouth and config.mouth_frontend == "whisper" else None
        mouth_dim = self.mouth_frontend.feat_dim if self.mouth_frontend is not None else feat_dim
        self.mouth = MouthHead(mouth_dim, config.mouth_width, *CONTEXT_FRAMES[config.mouth_frontend]) \
            if config.mouth else None
        self.encoder_norm = nn.LayerNorm(d, eps=1e-6)
        if config.head == "trajectory":
            self.diffloss = TrajectoryHead(MOTION_DIM, d, config.diff_width, config.diff_depth,
                                           config.diff_heads, TURN_FRAMES, config.past_frames,
                                           config.diff_train_steps, config.diff_batch_mul)
        elif config.head == "diffusion":
            self.diffloss = DiffusionHead(MOTION_DIM, d, config.diff_width, config.diff_depth,
                                          config.diff_train_steps, config.diff_batch_mul)
        else:
            self.diffloss = RegressionHead(MOTION_DIM, d, config.diff_width, config.diff_depth)
        self.register_buffer("motion_mean", torch.zeros(MOTION_DIM))
        self.register_buffer("motion_std", torch.ones(MOTION_DIM))
        self._init_weights()

    def _init_weights(self) -> None:
        for p in (self.mask_token, self.fake_latent):
            nn.init.normal_(p, std=0.02)
        for name in ("turn_pos_embed", "encoder_pos_embed_learned", "diffusion_pos_embed_learned"):
            if hasattr(self, name):
                nn.init.normal_(getattr(self, name), std=0.02)
        nn.init.normal_(self.sep_tok_emb.weight, std=0.02)
        for module in self.modules():
            if isinstance(module, nn.Linear) and not any(module is m for m in self.diffloss.modules()):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    # ------------------------------------------------------------------ properties
    @property
    def device(self) -> torch.device:
        return self.motion_mean.device

    @property
    def reference_tokens(self) -> bool:
        """Learned-absolute-position models (the official release's architecture) also embed
        tokens exactly as the release does: the motion encoder ends in a ReLU, and the mask
        token replaces a hidden agent frame *after* ``z_proj`` (before positions and
        ``z_proj_ln``). Rotary models keep this project's order (mask token, then z_proj)."""
        return self.config.positions == "absolute"

    @property
    def cacheable(self) -> bool:
        """Exact key/value caching needs relative (rotary) positions and causal attention."""
        return self.config.positions == "rotary" and self.config.attention == "turn_causal"

    def set_motion_stats(self, mean, std) -> None:
        self.motion_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.motion_std.copy_(torch.as_tensor(std, dtype=torch.float32).clamp(min=1e-4))

    def normalize(self, motion: torch.Tensor) -> torch.Tensor:
        if not self.config.normalize_motion:
            return motion
        return (motion - self.motion_mean) / self.motion_std

    def denormalize(self, motion: torch.Tensor) -> torch.Tensor:
        if not self.config.normalize_motion:
            return motion
        return motion * self.motion_std + self.motion_mean

    # ------------------------------------------------------------------ tokens
    def speech_features(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, N) audio at 16 kHz -> (B, ceil(N / 640), feat) frame features."""
        return self.frontend(audio.to(self.device))

    def mouth_features(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, N) whole clips -> (B, ceil(N / 640), feat) features the mouth head reads."""
        if self.mouth_frontend is None:
            return self.speech_features(audio)
        return self.mouth_frontend(audio).to(self.device)

    def embed_turns(self, user_speech, agent_speech, user_motion, agent_motion,
                    user_speech_known, user_motion_known, agent_visible,
                    first_window_token: int = 0) -> torch.Tensor:
        """Build the token sequence of n consecutive turns.

        user_speech, agent_speech: (B, n, 25, feat) speech features
        user_motion, agent_motion: (B, n, 25, 56) normalised motion
        user_speech_known, user_motion_known: (B, n, 25) bool; False -> learned "unknown" token
        agent_visible: (B, n, 25) bool; False -> learned mask token (what gets predicted)
        first_window_token: offset into learned absolute positions (absolute models only)
        Returns (B, n * 110, D).
        """
        b, n = user_speech.shape[:2]
        d = self.config.width
        fake = self.fake_latent.view(1, 1, 1, d)
        us = torch.where(user_speech_known[..., None], self.speech_projection(user_speech), fake)
        um = torch.where(user_motion_known[..., None], self.motion_encoder(user_motion), fake)
        ag_s = self.speech_projection(agent_speech)
        am = self.motion_encoder(agent_motion)
        if not self.reference_tokens:
            am = torch.where(agent_visible[..., None], am, self.mask_token.view(1, 1, 1, d))
        markers = self.sep_tok_emb(MARKER_IDS.to(us.device)).view(1, 1, NUM_MARKERS, d)
        markers = markers.expand(b, n, NUM_MARKERS, d)
        m = [markers[:, :, i:i + 1] for i in range(NUM_MARKERS)]
        x = torch.cat([m[0], m[1], us, m[2], m[3], um, m[4], m[5], ag_s, m[6], m[7], am, m[8], m[9]],
                      dim=2)                                                  # (B, n, 110, D)
        x = self.z_proj(x.reshape(b, n * TOKENS_PER_TURN, d))
        if self.reference_tokens:   # the release swaps in the mask token after z_proj
            hide = torch.zeros(b, n, TOKENS_PER_TURN, dtype=torch.bool, device=x.device)
            hide[:, :, SLOTS["agent_motion"].to(x.device)] = ~agent_visible
            x = torch.where(hide.view(b, -1, 1), self.mask_token.to(x.dtype), x)
        if self.config.positions == "rotary":
            x = x + self.turn_pos_embed.repeat(1, n, 1)
        else:
            end = first_window_token + n * TOKENS_PER_TURN
            x = x + self.encoder_pos_embed_learned[:, first_window_token:end]
        return self.z_proj_ln(x)

    # ------------------------------------------------------------------ transformer
    def run(self, x: torch.Tensor, query_turns: torch.Tensor, context: int,
            cache: KVCache | None = None, outputs: torch.Tensor | None = None,
            between_blocks=None) -> tuple[torch.Tensor, list]:
        """Run the blocks over tokens x (B, L, D) of turns ``query_turns`` (L,).

        Keys: cached past turns (if any) then x itself. Returns the normalised output
        (B, L, D), or only at the token indices ``outputs`` when given (the last block then
        skips the rest), and, per layer, the new (k, v) of x for the caller to cache.
        ``between_blocks()``, when given, is called before each block: it may raise
        ``errors.Stopped`` (a big model's pass takes seconds on a CPU).
        """
        causal = self.config.attention == "turn_causal"
        key_turns = query_turns if cache is None or len(cache) == 0 else torch.cat(
            [cache.turns, query_turns])
        mask = attention_mask(query_turns, key_turns, context, causal)
        rope = None
        if self.config.positions == "rotary":
            # Rotary angles from each token's time in frames: attention depends on time
            # differences only, so cached keys stay valid as the window slides.
            rope = rotary_tables(token_times(query_turns), self.config.width // self.config.heads)
        new_kv = []
        last = len(self.encoder_blocks) - 1
        for i, block in enumerate(self.encoder_blocks):
            if between_blocks is not None:
                between_blocks()
            past = cache.layer(i) if cache is not None else None
            x, kv = block(x, mask, rope, past, outputs if i == last else None)
            new_kv.append(kv)
        return self.encoder_norm(x), new_kv

    def agent_conditions(self, hidden: torch.Tensor, num_turns: int,
                         first_window_token: int = 0) -> torch.Tensor:
        """Transformer output at the agent-motion slots: (B, n, 25, D)."""
        b, _, d = hidden.shape
        if self.config.positions == "absolute":
            end = first_window_token + num_turns * TOKENS_PER_TURN
            hidden = hidden + self.diffusion_pos_embed_learned[:, first_window_token:end]
        h = hidden.view(b, num_turns, TOKENS_PER_TURN, d)
        return h[:, :, SLOTS["agent_motion"].to(h.device)]

    def last_turn_agent_slots(self, num_turns: int, device=None) -> torch.Tensor:
        """Token indices of the agent-motion frames of the last of ``num_turns`` turns."""
        return (num_turns - 1) * TOKENS_PER_TURN + SLOTS["agent_motion"].to(device)

    def conditions_at(self, hidden: torch.Tensor, slots: torch.Tensor,
                      first_window_token: int = 0) -> torch.Tensor:
        """Diffusion conditions from outputs (B, len(slots), D) taken at token ``slots``."""
        if self.config.positions == "absolute":
            hidden = hidden + self.diffusion_pos_embed_learned[:, first_window_token + slots]
        return hidden

    # ------------------------------------------------------------------ training
    def forward(self, batch: dict):
        """The training loss (so DistributedDataParallel can wrap the model)."""
        return self.training_loss(batch)

    def training_loss(self, batch: dict) -> tuple[torch.Tensor, dict]:
        """Masked-autoregressive loss on a batch of clips (both tracks and motions).

        batch: audio_agent, audio_user (B, F * 640); motion_agent, motion_user (B, F, 56).
        """
        cfg = self.config
        device = self.device
        motion_agent = batch["motion_agent"].to(device).float()
        motion_user = batch["motion_user"].to(device).float()
        b, frames, _ = motion_agent.shape
        n = math.ceil(frames / TURN_FRAMES)
        padded = n * TURN_FRAMES

        def fit(x):  # (B, F', C) -> (B, padded, C), zero padded / trimmed
            x = x[:, :padded]
            return nn.functional.pad(x, (0, 0, 0, padded - x.shape[1]))

        feats_agent = fit(self.speech_features(batch["audio_agent"]))
        feats_user = fit(self.speech_features(batch["audio_user"]))
        ma = fit(self.normalize(motion_agent))
        mu = fit(self.normalize(motion_user))
        valid = (torch.arange(padded, device=device) < frames).expand(b, padded)

        # Agent motion masking: per clip a ratio ~ truncnorm(1, 0.25) on [min, 1].
        ratio = 1.0 - (torch.randn(b, device=device) * 0.25).abs()
        if cfg.mask_ratio_min >= 1.0:
            ratio = torch.ones(b, device=device)
        while bool((ratio < cfg.mask_ratio_min).any()):
            bad = ratio < cfg.mask_ratio_min
            ratio[bad] = 1.0 - (torch.randn(int(bad.sum()), device=device) * 0.25).abs()
        scores = torch.rand(b, padded, device=device).masked_fill(~valid, -1.0)
        ranks = scores.argsort(dim=1).argsort(dim=1)      # padded frames rank first
        pad_count = padded - frames
        num_masked = torch.ceil(ratio * frames).long() + pad_count
        masked = ranks < num_masked[:, None]
        agent_visible = ~masked

        # Condition dropout on user tokens, and whole turns of "partner motion unknown".
        drop = lambda: torch.rand(b, padded, device=device) >= cfg.cond_drop_prob  # noqa: E731
        user_speech_known = drop()
        turn_known = torch.rand(b, n, device=device) >= cfg.unknown_partner_prob
        user_motion_known = drop() & turn_known.repeat_interleave(TURN_FRAMES, dim=1)

        shape = (b, n, TURN_FRAMES)
        x = self.embed_turns(
            feats_user.view(*shape, -1), feats_agent.view(*shape, -1),
            mu.view(*shape, -1), ma.view(*shape, -1),
            user_speech_known.view(shape), user_motion_known.view(shape), agent_visible.view(shape))
        context = int(cfg.train_contexts[torch.randint(len(cfg.train_contexts), ()).item()])
        hidden, _ = self.run(x, turn_ids(0, n, device), context)
        if self.diffloss.sees_past:
            loss = self._turn_loss(self.agent_conditions(hidden, n), ma, masked & valid)
        else:
            z = self.agent_conditions(hidden, n).reshape(b * padded, -1)
            target = ma.reshape(b * padded, -1)
            keep = (masked & valid).reshape(-1)
            loss = self.diffloss.loss(z[keep], target[keep])
        return loss, {"loss": float(loss.detach()), "context": context,
                      "mask_ratio": float(ratio.mean())}

    def _turn_loss(self, z: torch.Tensor, motion: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """Trajectory-head loss on whole turns. z (B, n, 25, D) conditions, motion (B, n*25,
        56) the agent's normalised motion, counts (B, n*25) frames that enter the loss.

        Each turn continues from the agent's real previous ``past_frames`` frames with a
        little noise (at inference they are its own samples), or from none: the first turn
        of a clip, and a random ``past_drop_prob`` of the others, like a dialogue's start."""
        cfg = self.config
        b, n = z.shape[:2]
        p = cfg.past_frames
        turns = motion.view(b, n, TURN_FRAMES, MOTION_DIM)
        previous = torch.cat([torch.zeros_like(turns[:, :1]), turns[:, :-1]], dim=1)
        past = previous[:, :, TURN_FRAMES - p:]                            # (B, n, P, 56)
        past = past + cfg.past_noise * torch.randn_like(past)
        past_valid = torch.rand(b, n, device=z.device) >= cfg.past_drop_prob
        past_valid[:, 0] = False
        weight = counts.view(b, n, TURN_FRAMES)
        keep = weight.any(-1).view(-1)                                     # turns with a target
        flat = lambda x: x.reshape(b * n, *x.shape[2:])[keep]  # noqa: E731
        return self.diffloss.loss(flat(z), flat(turns), flat(past), flat(past_valid), flat(weight))
