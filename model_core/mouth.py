"""The mouth head: speech features -> per-frame ARKit-52 weights and viseme probabilities.

Lip sync is a function of the phones being said, not of the conversation, so it is a small
deterministic network beside the turn-level transformer, reading the same causal log-mel
features. Frame t sees the features of frames t - 8 .. t + 2: 320 ms of past and 80 ms of
lookahead (0 -> 80 ms of lookahead raised unseen-voice viseme accuracy 0.58 -> 0.66 and
p/b/m recall 0.70 -> 0.80 here; 160 ms added nothing). The lookahead comes from the audio
file, so generation's latency is one turn plus 80 ms; before the dialogue and past its end
the features are those of digital silence. Regressed, not sampled: every frame whose most
likely viseme is PP has its lips sealed (``face.visemes.seal_lips``), so p/b/m close in
every sample.

With ``mouth_frontend = "whisper"`` the head reads Whisper base's layer-4 features
(``speech.whisper_mouth``) instead: each turn's features come from a window that already
ends 80 ms after the turn, so the head takes 4 frames of past and no lookahead of its own
(a frame of the next turn would hear 1 s further). The latency is the same.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .face.channels import ARKIT_DIM, FACE_DIM, VISEME_INDEX
from .face.visemes import part_lips, seal_lips

PAST_FRAMES = 8
LOOKAHEAD_FRAMES = 2
# (past, lookahead) frames each mouth front end's head reads.
CONTEXT_FRAMES = {"logmel": (PAST_FRAMES, LOOKAHEAD_FRAMES), "whisper": (4, 0)}
# A frame's ARKit weights are scaled by min(1, SILENCE_GATE (1 - P(sil))): 0 where the head is
# sure of silence, untouched below P(sil) = 1 - 1 / SILENCE_GATE.
SILENCE_GATE = 2.0
# Lips part on every frame whose most likely viseme is not PP and whose P(sil) is below this:
# a frame the head is unsure is silent (word edges, real speech's weak consonants) is speech.
PART_BELOW_SIL = 0.7
# The causal log-mel of digital silence: log(1e-8) less any speech level, clamped at -12,
# divided by 4 (logmel.LogMelStream).
SILENCE_FEATURE = -3.0


def kernel_sizes(context: int) -> tuple[int, int, int]:
    """Three valid convolutions' kernels spanning ``context`` + 1 frames: 10 -> (5, 5, 3),
    the log-mel head's; 4 -> (3, 3, 1)."""
    a = min((context + 2) // 3, context // 2)
    return a + 1, a + 1, context - 2 * a + 1


class MouthHead(nn.Module):
    """(B, past + T + ahead, feat) features -> (B, T, 67) raw outputs (ARKit logits, viseme
    logits); three valid convolutions span exactly the frames t - past .. t + ahead
    (8 and 2 for the log-mel front end: 11 frames)."""

    def __init__(self, feat_dim: int, width: int = 128, past: int = PAST_FRAMES,
                 ahead: int = LOOKAHEAD_FRAMES):
        super().__init__()
        self.past, self.ahead = past, ahead
        k1, k2, k3 = kernel_sizes(past + ahead)
        self.norm = nn.LayerNorm(feat_dim)
        self.project = nn.Linear(feat_dim, width)
        # training only (train-mouth --dropout sets p; eval mode ignores it): the head learned
        # the synthetic voices' fine detail and heard real speech worse the longer it trained
        self.dropout = nn.Dropout(0.0)
        self.convs = nn.Sequential(
            nn.Conv1d(width, width, k1), nn.GELU(),
            nn.Conv1d(width, width, k2), nn.GELU(),
            nn.Conv1d(width, width, k3), nn.GELU())
        self.out = nn.Linear(width, FACE_DIM)

    @property
    def context(self) -> int:
        return self.past + self.ahead

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        x = self.dropout(nn.functional.gelu(self.project(self.norm(feats))))
        x = self.convs(x.transpose(1, 2)).transpose(1, 2)
        return self.out(x)

    @torch.no_grad()
    def predict(self, feats: torch.Tensor) -> torch.Tensor:
        """(B, past + T + ahead, feat) -> (B, T, 67) face frames: ARKit weights in [0, 1], viseme
        probabilities, the lips sealed where PP is the most likely viseme, and the face at
        rest where silence is: the ARKit weights scaled by min(1, 2 (1 - P(sil))), so a frame
        the head is sure is silent has the teacher's silent target (all 0), which regression
        alone only approaches (a listener's jaw hovered at jawOpen 0.1 over background noise)."""
        raw = self(feats)
        face = torch.cat([torch.sigmoid(raw[..., :ARKIT_DIM]),
                          torch.softmax(raw[..., ARKIT_DIM:], dim=-1)], dim=-1)
        speech = (SILENCE_GATE * (1.0 - face[..., ARKIT_DIM + VISEME_INDEX["sil"]])).clamp(max=1.0)
        face[..., :ARKIT_DIM] *= speech[..., None]
        face_np = face.cpu().numpy()
        for b in range(face_np.shape[0]):
            likely = face_np[b, :, ARKIT_DIM:].argmax(-1)
            seal_lips(face_np[b, :, :ARKIT_DIM], np.flatnonzero(likely == VISEME_INDEX["PP"]))
            unsure = face_np[b, :, ARKIT_DIM + VISEME_INDEX["sil"]] < PART_BELOW_SIL
            part_lips(face_np[b, :, :ARKIT_DIM], np.flatnonzero((likely != VISEME_INDEX["PP"]) & unsure))
        return torch.from_numpy(face_np).to(face.device)


def pad_context(feats: torch.Tensor, before: torch.Tensor | None, after: torch.Tensor | None,
                past: int = PAST_FRAMES, ahead: int = LOOKAHEAD_FRAMES) -> torch.Tensor:
    """Features of the frames to predict, (B, T, feat), with the ``past`` frames before and
    the ``ahead`` after taken from ``before`` / ``after`` where given, ``SILENCE_FEATURE``
    elsewhere (digital silence for the log-mel; for any front end a constant vector, which
    the head's LayerNorm turns into one "nothing heard" input)."""
    b, _, d = feats.shape

    def side(extra, n, take_last):
        if extra is None:
            have = feats.new_zeros(b, 0, d)
        else:
            have = extra[:, extra.shape[1] - min(n, extra.shape[1]):] if take_last else extra[:, :n]
        fill = feats.new_full((b, n - have.shape[1], d), SILENCE_FEATURE)
        return torch.cat([fill, have], 1) if take_last else torch.cat([have, fill], 1)

    return torch.cat([side(before, past, True), feats, side(after, ahead, False)], dim=1)


def loss(raw: torch.Tensor, target: torch.Tensor, channel_weights: torch.Tensor) -> torch.Tensor:
    """Weighted MSE on the ARKit weights plus cross-entropy on the viseme distribution
    (soft targets). ``raw``, ``target``: (B, T, 67); ``channel_weights``: (52,)."""
    arkit = torch.sigmoid(raw[..., :ARKIT_DIM])
    mse = ((arkit - target[..., :ARKIT_DIM]).square() * channel_weights).mean()
    logp = torch.log_softmax(raw[..., ARKIT_DIM:], dim=-1)
    ce = -(target[..., ARKIT_DIM:] * logp).sum(-1).mean()
    return mse * 10.0 + ce * 0.5
