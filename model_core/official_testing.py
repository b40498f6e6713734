"""Stand-ins for the official TIMAR release, made locally: a state dict with the release's key
names and shapes (built from the layout alone, independent of ``TimarModel``), saved in the
release's structure, and a randomly initialised wav2vec2 folder. For tests and timing only:
the weights are random.

    python -m model_core.official_testing --out /tmp/TIMAR.pth --speech-out /tmp/w2v
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from .constants import MOTION_DIM, NUM_MARKERS, TOKENS_PER_TURN

LARGE = dict(width=1024, depth=32, diff_width=1024, diff_depth=3, feat_dim=1024)
# The release's structure at test size: 2 attention heads of 64, speech features as wide as
# the "tiny" wav2vec2's hidden size (SPEECH_CONFIGS below).
TINY = dict(width=128, depth=2, diff_width=64, diff_depth=2, feat_dim=32)
# wav2vec2-large-960h-lv60-self's architecture; "tiny" keeps its structure at toy sizes.
SPEECH_CONFIGS = {
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                  intermediate_size=4096, num_conv_pos_embeddings=128,
                  num_conv_pos_embedding_groups=16),
    "tiny": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=64, num_conv_pos_embeddings=16,
                 num_conv_pos_embedding_groups=2, conv_dim=(32,) * 7),
}


def release_layout(width: int, depth: int, diff_width: int, diff_depth: int,
                   feat_dim: int, window_turns: int = 8, mlp_ratio: int = 4
                   ) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of every weight of a release-layout state dict, in the release's order."""
    d, w, tokens = width, diff_width, window_turns * TOKENS_PER_TURN
    keys: list[tuple[str, tuple[int, ...]]] = [
        ("fake_latent", (1, d)), ("mask_token", (1, 1, d)),
        ("encoder_pos_embed_learned", (1, tokens, d)),
        ("diffusion_pos_embed_learned", (1, tokens, d)),
        ("motion_encoder.0.weight", (d // 2, MOTION_DIM)), ("motion_encoder.0.bias", (d // 2,)),
        ("motion_encoder.2.weight", (d, d // 2)), ("motion_encoder.2.bias", (d,)),
        ("speech_projection.weight", (d, feat_dim)), ("speech_projection.bias", (d,)),
        ("sep_tok_emb.weight", (NUM_MARKERS, d)),
        ("z_proj.weight", (d, d)), ("z_proj.bias", (d,)),
        ("z_proj_ln.weight", (d,)), ("z_proj_ln.bias", (d,))]
    for i in range(depth):
        p = f"encoder_blocks.{i}."
        keys += [(p + "norm1.weight", (d,)), (p + "norm1.bias", (d,)),
                 (p + "attn.qkv.weight", (3 * d, d)), (p + "attn.qkv.bias", (3 * d,)),
                 (p + "attn.proj.weight", (d, d)), (p + "attn.proj.bias", (d,)),
                 (p + "norm2.weight", (d,)), (p + "norm2.bias", (d,)),
                 (p + "mlp.fc1.weight", (mlp_ratio * d, d)), (p + "mlp.fc1.bias", (mlp_ratio * d,)),
                 (p + "mlp.fc2.weight", (d, mlp_ratio * d)), (p + "mlp.fc2.bias", (d,))]
    keys += [("encoder_norm.weight", (d,)), ("encoder_norm.bias", (d,))]
    n = "diffloss.net."
    keys += [(n + "time_embed.mlp.0.weight", (w, 256)), (n + "time_embed.mlp.0.bias", (w,)),
             (n + "time_embed.mlp.2.weight", (w, w)), (n + "time_embed.mlp.2.bias", (w,)),
             (n + "cond_embed.weight", (w, d)), (n + "cond_embed.bias", (w,)),
             (n + "input_proj.weight", (w, MOTION_DIM)), (n + "input_proj.bias", (w,))]
    for i in range(diff_depth):
        p = f"{n}res_blocks.{i}."
        keys += [(p + "in_ln.weight", (w,)), (p + "in_ln.bias", (w,)),
                 (p + "mlp.0.weight", (w, w)), (p + "mlp.0.bias", (w,)),
                 (p + "mlp.2.weight", (w, w)), (p + "mlp.2.bias", (w,)),
                 (p + "adaLN_modulation.1.weight", (3 * w, w)), (p + "adaLN_modulation.1.bias", (3 * w,))]
    keys += [(n + "final_layer.linear.weight", (2 * MOTION_DIM, w)),
             (n + "final_layer.linear.bias", (2 * MOTION_DIM,)),
             (n + "final_layer.adaLN_modulation.1.weight", (2 * w, w)),
             (n + "final_layer.adaLN_modulation.1.bias", (2 * w,))]
    return keys


def random_release_state(seed: int = 0, **sizes) -> dict[str, torch.Tensor]:
    """Random weights in the release layout: LayerNorm weights 1, other 1-D weights 0.02 noise,
    matrices N(0, 0.02) (the diffusion head gets a larger spread so its output varies)."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in release_layout(**sizes):
        if name.endswith("ln.weight") or ("norm" in name and name.endswith(".weight")):
            value = torch.ones(shape)
        else:
            std = 0.1 if name.startswith("diffloss.") else 0.02
            value = torch.randn(shape, generator=gen) * std
        state[name] = value
    return state


def release_args(**extra) -> argparse.Namespace:
    """An ``args`` Namespace shaped like a training run's, numpy arrays included."""
    values = dict(
        model="timar_large", epochs=400, warmup_epochs=100, lr=1e-4, ema_rate=0.9999,
        num_sampling_steps="5", temperature=1.0, cfg=1.0, max_context_time=8,
        mask_history_agent=True, diffloss_d=3, diffloss_w=1024, seed=np.int64(1),
        grad_clip=np.float64(3.0), motion_fps=25, data_stats=np.zeros((2, MOTION_DIM), np.float32),
        clip_ids=np.array(["a", "b"]))
    return argparse.Namespace(**{**values, **extra})


def write_release(path, state: dict, ema: dict | None = None, full: bool = True,
                  args: argparse.Namespace | None = None) -> str:
    """Save ``state`` in the release's structure (``full``: with optimizer, scaler, args)."""
    payload: dict = {"model": state, "model_ema": ema if ema is not None else state}
    if full:
        payload.update(
            optimizer={"state": {0: {"step": torch.tensor(10.0),
                                     "exp_avg": torch.zeros(3), "exp_avg_sq": torch.zeros(3)}},
                       "param_groups": [{"lr": 1e-4, "betas": (0.9, 0.95), "params": [0]}]},
            epoch=399, scaler={"scale": 65536.0, "growth_factor": 2.0, "_growth_tracker": 7},
            args=args if args is not None else release_args())
    torch.save(payload, path)
    return str(path)


def write_speech_model(directory, size: str = "tiny", seed: int = 0) -> str:
    """Save a randomly initialised ``Wav2Vec2Model`` (needs ``transformers``) to a folder."""
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    torch.manual_seed(seed)
    config = Wav2Vec2Config(feat_extract_norm="layer", do_stable_layer_norm=True,
                            conv_bias=True, **SPEECH_CONFIGS[size])
    Wav2Vec2Model(config).eval().save_pretrained(str(directory))
    return str(directory)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="where to write the random TIMAR.pth")
    p.add_argument("--speech-out", default=None, help="also write a random wav2vec2 folder")
    p.add_argument("--speech-size", default="large", choices=sorted(SPEECH_CONFIGS))
    a = p.parse_args(argv)
    sizes = dict(LARGE, feat_dim=SPEECH_CONFIGS[a.speech_size]["hidden_size"])
    write_release(Path(a.out), random_release_state(**sizes), full=False,
                  args=release_args())
    if a.speech_out:
        write_speech_model(a.speech_out, a.speech_size)


if __name__ == "__main__":
    main()
