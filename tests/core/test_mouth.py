"""The mouth head inside generation: face frames per turn, exact streaming, 80 ms of
lookahead and no more, the FLAME jaw following the mouth, sealed lips on PP, the npz."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import torch

from helpers import REPO
from model_core.constants import JAW, SAMPLES_PER_FRAME
from model_core.face.channels import ARKIT_INDEX, ARKIT_NAMES, FACE_DIM, VISEME_INDEX, VISEME_NAMES, \
    face_from_flame, jaw_rad_from_open
from model_core.face.visemes import sealed
from model_core.generate import DialogueGenerator, GenerationOptions
from model_core.mouth import LOOKAHEAD_FRAMES, pad_context
from model_core.testing import make_tiny_checkpoint, make_tiny_model, speech_like


def generate(model, a, b, **options):
    return DialogueGenerator(model, GenerationOptions(**options)).run(a, b, allow_silent=True)


def test_streamed_face_frames_equal_the_whole_clip_and_the_jaw_follows_them(one_torch_thread):
    model = make_tiny_model(mouth=True)
    a, b = speech_like(3.3, seed=1), speech_like(3.3, seed=2)
    result = generate(model, a, b, context_turns=1, upper_face=False)   # the mouth head's own
    assert result.face_a.shape == (len(result.motion_a), FACE_DIM)
    feats = model.frontend(torch.from_numpy(np.stack([a, b])))
    n = len(result.face_a)
    offline = model.mouth.predict(pad_context(feats[:, :n], None, feats[:, n:])).numpy()
    assert np.array_equal(offline[0], result.face_a) and np.array_equal(offline[1], result.face_b)
    for motion, face in ((result.motion_a, result.face_a), (result.motion_b, result.face_b)):
        assert np.allclose(motion[:, JAW.start], jaw_rad_from_open(face[:, ARKIT_INDEX["jawOpen"]]))
        assert (face[:, :52] >= 0).all() and (face[:, :52] <= 1).all()
        assert np.allclose(face[:, 52:].sum(1), 1.0, atol=1e-5)
        likely = face[:, 52:].argmax(1)
        pp = likely == VISEME_INDEX["PP"]
        assert sealed(face[:, :52])[pp].all()
        # and only p/b/m close the lips while talking: every other speech viseme parts them
        talking = ~pp & (likely != VISEME_INDEX["sil"])
        assert talking.any() and not sealed(face[:, :52])[talking].any()


def test_a_frame_reads_80_ms_of_audio_after_it_and_no_more(one_torch_thread):
    model = make_tiny_model(mouth=True, seed=3)
    a = speech_like(4.0, seed=4)
    silent = np.zeros_like(a)
    base = generate(model, a, silent, context_turns=1).face_a
    t = 30                                      # a frame in the middle of turn 1
    later = a.copy()
    start = (t + LOOKAHEAD_FRAMES + 1) * SAMPLES_PER_FRAME
    # below the level statistic's threshold (-55 dBFS) so only the spectra change
    later[start:] = np.random.default_rng(0).standard_normal(len(a) - start).astype(np.float32) * 1e-4
    changed = generate(model, later, silent, context_turns=1).face_a
    # (equal up to float rounding: the convolutions' kernels may sum in another order)
    assert np.abs(changed[:t + 1] - base[:t + 1]).max() < 1e-6
    assert np.abs(changed[t + 1] - base[t + 1]).max() > 1e-4
    near = a.copy()                             # other sounds from frame t + 2 on
    near[(t + LOOKAHEAD_FRAMES) * SAMPLES_PER_FRAME:] = \
        speech_like(4.0, seed=9)[(t + LOOKAHEAD_FRAMES) * SAMPLES_PER_FRAME:]
    assert np.abs(generate(model, near, silent, context_turns=1).face_a[t] - base[t]).max() > 1e-4


def test_a_model_without_a_mouth_and_a_given_head_say_what_flame_implies(one_torch_thread):
    model = make_tiny_model()
    a, b = speech_like(2.0, seed=5), speech_like(2.0, seed=6)
    result = generate(model, a, b)
    assert np.array_equal(result.face_a, face_from_flame(result.motion_a))
    given = generate(make_tiny_model(mouth=True), a, b, ).motion_b
    with_given = DialogueGenerator(make_tiny_model(mouth=True)).run(a, b, motion_b=given)
    assert np.array_equal(with_given.motion_b, given)
    assert np.array_equal(with_given.face_b, face_from_flame(given))


def test_generate_writes_arkit_and_visemes_into_each_npz(tmp_path):
    ckpt = make_tiny_checkpoint(tmp_path / "mouth.pt", mouth=True)
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    import soundfile as sf
    sf.write(a, speech_like(2.5, seed=7), 16000)
    sf.write(b, speech_like(2.5, seed=8), 16000)
    out = subprocess.run([sys.executable, "-m", "model_core", "generate", "--checkpoint", str(ckpt),
                          "--audio-a", str(a), "--audio-b", str(b), "--out-dir", str(tmp_path / "out"),
                          "--name", "t"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for speaker in (1, 2):
        data = np.load(tmp_path / "out" / f"t_speaker{speaker}.npz")
        assert data["arkit"].shape == (len(data["exp"]), 52)
        assert data["visemes"].shape == (len(data["exp"]), 15)
        assert tuple(data["arkit_names"]) == ARKIT_NAMES
        assert tuple(data["viseme_names"]) == VISEME_NAMES
        assert np.allclose(data["pose"][:, 3], jaw_rad_from_open(data["arkit"][:, ARKIT_INDEX["jawOpen"]]),
                           atol=1e-6)


def test_train_mouth_keeps_its_features_and_reads_them_back_for_the_same_data_only(tmp_path, one_torch_thread):
    import json

    import soundfile as sf

    from model_core.mouth_train import MouthTrainOptions, build_examples

    data = tmp_path / "utt"
    data.mkdir()
    for i in range(2):
        sf.write(data / f"u{i}.wav", speech_like(1.2, seed=20 + i), 16000)
        phones = [["sil", 0.0, 0.1], ["p", 0.1, 0.2], ["aa", 0.2, 0.6], ["m", 0.6, 0.7], ["uw", 0.7, 1.1]]
        (data / f"u{i}.json").write_text(json.dumps(phones))
    model = make_tiny_model(mouth=True)
    cache = tmp_path / "feats.pt"
    options = MouthTrainOptions(augmentations=2, feature_cache=str(cache))
    said = []
    first = build_examples(model.mouth_features, data, options, log=said.append)
    assert cache.is_file() and len(first) == 4 and any("kept in" in s for s in said)

    def never_called(audio):
        raise AssertionError("features were computed again")
    said.clear()
    again = build_examples(never_called, data, options, log=said.append)
    assert any("read from" in s for s in said)
    for (f1, y1), (f2, y2) in zip(first, again):
        assert torch.equal(f1, f2) and torch.equal(y1, y2)
    # another seed (other augmented copies) or changed data: made anew, the cache replaced
    with_seed = MouthTrainOptions(augmentations=2, seed=1, feature_cache=str(cache))
    assert not torch.equal(build_examples(model.mouth_features, data, with_seed, log=said.append)[0][0], first[0][0])
    sf.write(data / "u0.wav", speech_like(1.3, seed=30), 16000)
    said.clear()
    build_examples(model.mouth_features, data, options, log=said.append)
    assert any("kept in" in s for s in said)


def test_a_model_with_a_mouth_recomputes_the_whole_window_as_the_cache_does(one_torch_thread):
    # the mouth head reads turns t-1..t+1; the recompute path reads back ctx * depth turns:
    # neither may drop what the other still needs (the mouth's reads once dropped them, and
    # `bench` and use_cache=False failed with "turn 0 was already dropped")
    model = make_tiny_model(mouth=True)
    a, b = speech_like(6.4, seed=3), speech_like(6.4, seed=4)
    cached = generate(model, a, b, context_turns=3, use_cache=True, seed=2)
    recomputed = generate(model, a, b, context_turns=3, use_cache=False, seed=2)
    assert np.abs(cached.motion_a - recomputed.motion_a).max() <= 1e-4
    assert np.array_equal(cached.face_b, recomputed.face_b)
    # and a stream keeps only the turns it will read again
    stream = DialogueGenerator(model, GenerationOptions(context_turns=3, use_cache=False)).open(
        a, b, allow_silent=True)
    for turn in stream:
        held = sorted(stream._state.feats._turns)
        assert len(held) <= 3 * model.config.depth + 3, (turn.index, held)
