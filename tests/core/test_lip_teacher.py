"""The lip-sync teacher: phones -> ARKit mouth curves and viseme probabilities at 25 fps."""
from __future__ import annotations

import numpy as np
import pytest

from model_core.corpus.lip_teacher import teach
from model_core.face.channels import ARKIT_INDEX, FACE_DIM, VISEME_INDEX, VISEMES
from model_core.face.visemes import PHONE_TO_VISEME, VISEME_SHAPES, sealed, viseme_of

A = ARKIT_INDEX


def arkit(face):
    return face[:, :VISEMES.start]


def frames_touching(start, end, fps=25):
    return range(int(np.floor(start * fps)), int(np.ceil(end * fps)))


def test_every_frame_touching_a_bilabial_is_sealed_even_a_20_ms_one_between_frame_centres():
    # frame 5 spans 0.20-0.24 s, its centre 0.22 s; this b (0.225-0.238) holds no centre
    phones = [("sil", 0, 0.1), ("aa", 0.1, 0.225, 1), ("b", 0.225, 0.238), ("aa", 0.238, 0.4, 1),
              ("m", 0.4, 0.47), ("iy", 0.47, 0.6, 1), ("p", 0.6, 0.66), ("sil", 0.66, 1.0)]
    face = teach(phones, 25)
    assert face.shape == (25, FACE_DIM)
    seal = sealed(arkit(face))
    for label, start, end, *_ in phones:
        if label in ("p", "b", "m"):
            for f in frames_touching(start, end):
                assert seal[f], (label, f)
                assert face[f, A["mouthPressLeft"]] >= 0.4
                assert face[f, VISEMES.start + VISEME_INDEX["PP"]] >= 0.6 - 1e-6
    # the open vowels between the closures are open, not sealed
    assert not seal[7] and face[7, A["jawOpen"]] > 0.4


def test_lips_part_on_every_other_speech_frame_even_an_s_after_silence():
    # "sister" after a pause: the silence rest used to pull the jaw of the first "s" and of
    # the unstressed "er" shut, a closure no bilabial explains (10 a minute in the teacher)
    phones = [("sil", 0, 0.5), ("s", 0.5, 0.62), ("ih", 0.62, 0.68, 1), ("s", 0.68, 0.78),
              ("t", 0.78, 0.82), ("er", 0.82, 0.9, 0), ("sil", 0.9, 2.0)]
    face = teach(phones, 50)
    seal = sealed(arkit(face))
    centres = (np.arange(50) + 0.5) / 25
    speaking = (centres >= 0.5) & (centres < 0.9)
    assert not seal[speaking].any(), np.flatnonzero(seal & speaking)
    opening = face[:, A["jawOpen"]] - face[:, A["mouthClose"]]
    assert opening[speaking].min() >= 0.08 - 1e-6
    assert seal[:10].all() and seal[-15:].all()      # silence before and after: closed


def test_a_silent_track_rests_with_a_closed_mouth():
    face = teach([], 50)
    assert np.all(arkit(face) == 0)
    assert np.all(face[:, VISEMES.start + VISEME_INDEX["sil"]] == 1)
    # and so does the silence after speech, once the last phone has faded
    face = teach([("hh", 0.0, 0.1), ("ow", 0.1, 0.4, 1), ("sil", 0.4, 2.0)], 50)
    assert np.abs(arkit(face)[30:]).max() < 1e-3


def test_rounding_anticipates_across_consonants_and_spreading_is_the_opposite():
    # "street": s t r iy t ... then "stool": s t uw l (rounding shows 150-200 ms ahead)
    phones = [("sil", 0, 0.4), ("s", 0.4, 0.5), ("t", 0.5, 0.56), ("uw", 0.56, 0.8, 1),
              ("l", 0.8, 0.88), ("sil", 0.88, 1.6)]
    face = teach(phones, 40)
    pucker = face[:, A["mouthPucker"]]
    onset = int(0.56 * 25)
    assert pucker[onset - 3] > 0.3           # 120 ms ahead, over the s and t
    assert pucker[onset + 2] > 0.7
    spread = teach([("sil", 0, 0.4), ("s", 0.4, 0.5), ("iy", 0.5, 0.8, 1), ("sil", 0.8, 1.6)], 40)
    assert spread[16, A["mouthStretchLeft"]] > 0.3 > spread[16, A["mouthPucker"]]


def test_the_jaw_follows_vowel_height_and_stress_not_loudness():
    open_ = teach([("sil", 0, 0.2), ("aa", 0.2, 0.5, 1), ("sil", 0.5, 1.0)], 25)
    close = teach([("sil", 0, 0.2), ("iy", 0.2, 0.5, 1), ("sil", 0.5, 1.0)], 25)
    weak = teach([("sil", 0, 0.2), ("aa", 0.2, 0.5, 0), ("sil", 0.5, 1.0)], 25)
    jaw = A["jawOpen"]
    assert open_[9, jaw] > 0.5 > close[9, jaw] * 2
    assert weak[9, jaw] == pytest.approx(open_[9, jaw] * 0.65, rel=0.05)


def test_viseme_probabilities_are_a_distribution_covering_each_frame():
    phones = [("sil", 0, 0.1), ("f", 0.1, 0.17), ("ao", 0.17, 0.35, 1), ("r", 0.35, 0.42),
              ("sil", 0.42, 0.6)]
    probs = teach(phones, 15)[:, VISEMES]
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
    assert probs[6].argmax() == VISEME_INDEX["oh"]           # 0.24-0.28 s: inside "ao"
    assert probs[3, VISEME_INDEX["FF"]] > 0.5                # 0.12-0.16 s: inside "f"
    # phones given as dicts (the utterance corpus) and with stress digits read alike
    same = teach([{"label": "F", "start": 0.1, "end": 0.17}, ("AO1", 0.17, 0.35), ("r", 0.35, 0.42)], 15)
    assert np.allclose(same[:, VISEMES], probs, atol=1e-6)


def test_tables_cover_the_arpabet_and_every_viseme_has_a_shape():
    for phone in ("p", "b", "m", "f", "v", "th", "dh", "t", "d", "k", "g", "ng", "ch", "jh", "sh",
                  "zh", "s", "z", "n", "l", "r", "er", "aa", "ae", "ah", "ay", "aw", "eh", "ey",
                  "ih", "iy", "y", "ao", "ow", "oy", "uh", "uw", "w", "sil"):
        assert phone in PHONE_TO_VISEME
    assert viseme_of("AA1") == "aa" and viseme_of("noise") == "sil"
    pp = VISEME_SHAPES[VISEME_INDEX["PP"]]
    assert pp[A["mouthClose"]] == pp[A["jawOpen"]] > 0        # sealed over an open jaw
    assert VISEME_SHAPES[VISEME_INDEX["sil"]].max() == 0
    assert VISEME_SHAPES[VISEME_INDEX["ou"]][A["mouthPucker"]] > 0.5
    assert np.all((VISEME_SHAPES >= 0) & (VISEME_SHAPES <= 1))
