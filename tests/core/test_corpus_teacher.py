"""The motion teacher, its real statistics, the sentence grammar and the voices, run on
the bundled sample dialogue (real synthesised speech in assets/sample)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model_core.corpus import stats as motion_stats
from model_core.corpus.features import speech_features
from model_core.speech.audio import load_audio
from model_core.corpus.teacher import (REACT_LAG, accents, dialogue_motion, head_motion,
                                       pause_onsets, random_style)

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample"


@pytest.fixture(scope="module")
def tracks() -> np.ndarray:
    a = [load_audio(SAMPLE / f"sample_speaker{i}.wav") for i in (1, 2)]
    return np.stack(a)


@pytest.fixture(scope="module")
def stats() -> dict:
    return motion_stats.load()


def test_bundled_stats_are_reproduced_from_the_real_clip(demo_dir, stats, tmp_path):
    from model_core.cli import main

    out = tmp_path / "stats.npz"
    assert main(["corpus", "--stats-from", str(demo_dir), "--stats-out", str(out)]) == 0
    fresh = motion_stats.load(out)
    for key in ("exp_mean", "exp_std", "jaw_mean", "neck_std", "exp_per_jaw", "exp_per_env",
                "resid_var", "pc_var"):
        np.testing.assert_allclose(fresh[key], stats[key], rtol=1e-4, atol=1e-5, err_msg=key)
    # No raw frames: only summaries of at most NUM_PCS x 50 numbers each.
    assert max(v.size for v in stats.values()) <= motion_stats.NUM_PCS * 50
    # The real jaw explains much of the expression: the regression is not empty.
    assert np.linalg.norm(stats["exp_per_jaw"]) > 10


def test_motion_shape_and_jaw_lead(tracks, stats):
    rng = np.random.default_rng(0)
    styles = (random_style(rng, stats), random_style(rng, stats))
    m1, m2 = dialogue_motion(tracks, styles, stats, np.random.SeedSequence(1))
    assert m1.shape == m2.shape == (tracks.shape[1] // 640, 56)
    assert m1.dtype == np.float32 and np.isfinite(m1).all()
    for m, a in ((m1, tracks[0]), (m2, tracks[1])):
        env = speech_features(a, len(m)).env
        jaw, n = m[:, 50], len(m)
        xc = [np.corrcoef(jaw[max(k, 0):n + min(k, 0)], env[max(-k, 0):n - max(k, 0)])[0, 1]
              for k in range(-8, 9)]
        assert int(np.argmax(xc)) - 8 == -2, xc


def test_listener_reacts_200_to_600_ms_after_partner_cues(tracks, stats):
    style = random_style(np.random.default_rng(5), stats)
    style.nod_rate = 1.0
    seed = np.random.SeedSequence(11)
    reactions = 0
    for own, partner in ((tracks[1], tracks[0]), (tracks[0], tracks[1])):
        heard = head_motion(own, partner, style, stats, seed)
        deaf = head_motion(own, np.zeros_like(partner), style, stats, seed)
        # Only the reaction stream depends on the partner: the difference is the nods alone.
        nod = heard[:, 53].astype(np.float64) - deaf[:, 53]
        np.testing.assert_array_equal(heard[:, 50], deaf[:, 50])       # own jaw unchanged
        fp = speech_features(partner, len(heard))
        cues = np.union1d(pause_onsets(fp.active), accents(fp))
        starts = np.flatnonzero((np.abs(nod[1:]) > 1e-6) & (np.abs(nod[:-1]) <= 1e-6)) + 1
        reactions += len(starts)
        for s in starts:
            lags = s - cues
            assert np.any((lags >= REACT_LAG[0]) & (lags <= REACT_LAG[1] + 1)), (s, cues)
        if len(starts):
            # The partner's cue train cross-correlated with the nods peaks after the cue by
            # the lag plus about half a nod (nods last 10-16 frames).
            train = np.zeros(len(nod))
            train[cues] = 1.0
            xc = [np.dot(train[: len(nod) - k], nod[k:]) for k in range(40)]
            assert REACT_LAG[0] <= int(np.argmax(xc)) <= REACT_LAG[1] + 10, xc
    assert reactions >= 3, "the listener hardly reacted"


def test_style_persists_and_differs_between_speakers(tracks, stats):
    rng = np.random.default_rng(2)
    a, b = random_style(rng, stats), random_style(rng, stats)
    ma = head_motion(tracks[0], tracks[1], a, stats, np.random.SeedSequence(3))
    mb = head_motion(tracks[0], tracks[1], b, stats, np.random.SeedSequence(3))
    # Same speech, same noise seeds, different persistent style: different head pose bias
    # over the whole clip, both halves.
    half = len(ma) // 2
    for part in (slice(0, half), slice(half, None)):
        diff = ma[part, 53:].mean(0) - mb[part, 53:].mean(0)
        assert np.allclose(diff, np.subtract(a.head_bias, b.head_bias), atol=0.06)


def test_sentences_vary():
    from model_core.corpus.text import Sentences

    s = Sentences(np.random.default_rng(0))
    texts = [s.utterance(12) for _ in range(300)]
    assert len(set(texts)) > 200
    assert all(1 <= len(t.split()) <= 12 for t in texts)
    other = Sentences(np.random.default_rng(1))
    assert [other.utterance(12) for _ in range(20)] != texts[:20]


@pytest.mark.parametrize("engine,name", [("espeak-ng", "en-us+f2"), ("flite", "slt"),
                                         ("festival", "kal_diphone")])
def test_each_engine_speaks(engine, name):
    from model_core.corpus.voices import random_voice, synthesize, tool_missing

    if engine in tool_missing():
        pytest.skip(f"{engine} not installed (run .ci/setup)")
    voice = random_voice(np.random.default_rng(0), (engine, name))
    audio = synthesize(voice, "Did you fix the car yesterday?")
    assert audio.dtype == np.float32 and 0.8 * 16000 < len(audio) < 4 * 16000
    assert speech_features(audio).voiced.mean() > 0.3


def test_test_split_uses_training_voices_and_plan_is_deterministic():
    from model_core.corpus.build import CorpusConfig, plan, voice_pair

    cfg = CorpusConfig(out="unused")                  # the default 3 h / 20 min / 20 min
    tasks = plan(cfg)
    assert tasks == plan(CorpusConfig(out="unused"))
    hours = {s: sum(t.duration_s for t in tasks if t.split == s) / 3600 for s in cfg.splits}
    assert hours["train"] >= 3.0 and hours["test"] >= 1 / 3 and hours["ood"] >= 1 / 3
    long = [t.duration_s for t in tasks if t.split == "train"][:-1]
    assert all(40 <= d <= 90 for d in long)
    train = {v for t in tasks if t.split == "train"
             for v in voice_pair(t, np.random.default_rng(0))}
    test = {v for t in tasks if t.split == "test"
            for v in voice_pair(t, np.random.default_rng(t.index))}
    assert test <= train
    assert {e for e, _ in train} == {"espeak-ng", "flite", "festival"}


def test_silent_head_rests_with_its_mouth_closed(tracks, stats):
    """FLAME's closed mouth is jaw 0: a head silent for a second has its jaw within a few
    hundredths of a radian of it, and it opens the jaw when it speaks."""
    for seed in range(4):
        style = random_style(np.random.default_rng(seed), stats)
        for own, partner in ((tracks[0], tracks[1]), (tracks[1], tracks[0])):
            m = head_motion(own, partner, style, stats, np.random.SeedSequence(seed))
            active = speech_features(own, len(m) + 2).active[2:] > 0.5
            # frames with no own speech in the second before or 200 ms after
            quiet = np.array([not active[max(0, i - 25):i + 5].any() for i in range(len(m))])
            assert quiet.sum() > 25
            assert np.median(m[quiet, 50]) < 0.03, np.median(m[quiet, 50])
            assert np.percentile(m[active, 50], 75) > 0.08
