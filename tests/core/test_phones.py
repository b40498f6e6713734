# SPDX-License-Identifier: GPL-3.0-or-later
"""Phone timelines from the real speech engines (espeak-ng library, flite, festival), the
pocketsphinx aligner, and the calibrated offsets."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from model_core.cli import main
from model_core.constants import SAMPLE_RATE
from model_core.corpus import phone_offsets
from model_core.corpus.align import align
from model_core.corpus.calibrate import boundary_pairs
from model_core.corpus.utterances import all_voices, espeak_variants
from model_core.corpus.phones import ARPABET, VOWELS, Phone, check_timeline, fit
from model_core.corpus.voices import Voice, synthesize, synthesize_with_phones, tool_missing
from model_core.errors import TimarError

ONE_PER_ENGINE = [Voice("espeak-ng", "en-us+f2", rate=160, pitch=40),
                  Voice("espeak-ng", "en-gb-scotland+Mr serious", rate=150, warp=1.05),
                  Voice("flite", "slt"), Voice("flite", "kal", rate=1.1, warp=0.92),
                  Voice("festival", "kal_diphone"), Voice("festival", "cmu_us_slt_arctic_hts", warp=1.08)]
TEXT = "Bob paid me, the thirsty child. Did you fix the bicycle?"


@pytest.fixture(autouse=True)
def _tools():
    if tool_missing():
        pytest.skip(f"speech synthesisers not installed: {tool_missing()} (run .ci/setup)")


@pytest.mark.parametrize("voice", ONE_PER_ENGINE, ids=lambda v: v.identity)
def test_phones_are_ordered_cover_the_audio_and_are_arpabet(voice):
    audio, phones = synthesize_with_phones(voice, TEXT)
    assert audio.dtype == np.float32 and audio.ndim == 1 and len(audio) > SAMPLE_RATE
    check_timeline(phones, len(audio) / SAMPLE_RATE)       # raises on gaps, overlaps, labels
    assert phones[0].start == 0 and phones[-1].end == pytest.approx(len(audio) / SAMPLE_RATE)
    assert all(p.label in ARPABET for p in phones)
    speech = [p.label for p in phones if p.label != "sil"]
    # The words' consonant skeleton comes back in order whatever the accent.
    skeleton = [x for x in speech if x in ("b", "p", "d", "m", "th", "ch", "f", "k", "s")]
    assert skeleton[:5] == ["b", "b", "p", "d", "m"]
    assert len(speech) >= 30
    if voice.engine != "flite":                      # flite does not say the stress
        stressed = [p for p in phones if p.label in VOWELS and p.stress == 1]
        assert len(stressed) >= 5


def test_the_same_audio_as_synthesize():
    voice = Voice("flite", "rms", rate=0.95, warp=1.07)
    audio, _ = synthesize_with_phones(voice, "Maybe next time.", calibrated=False)
    assert np.array_equal(audio, synthesize(voice, "Maybe next time."))


@pytest.mark.parametrize("voice", [Voice("espeak-ng", "en-us+m3", rate=150), Voice("flite", "awb"),
                                   Voice("festival", "ked_diphone")], ids=lambda v: v.identity)
def test_bilabial_closure_is_quiet(voice):
    """'bob' -> b aa b, and each b holds a closure: 10 ms where the audio is at least
    10 dB below the vowel's typical level (voiced stops keep a voice bar, so not silence);
    the loudest 10 ms of the word lies inside the vowel."""
    audio, phones = synthesize_with_phones(voice, "Bob.")
    speech = [p for p in phones if p.label != "sil"]
    assert [p.label for p in speech] == ["b", "aa", "b"]
    frame = SAMPLE_RATE // 100
    level = 10 * np.log10(np.convolve(audio ** 2, np.ones(frame) / frame, "same") + 1e-12)

    def inside(p: Phone) -> np.ndarray:
        return level[int(p.start * SAMPLE_RATE):int(p.end * SAMPLE_RATE)]

    b1, aa, b2 = speech
    vowel = float(np.median(inside(aa)))
    assert inside(b1).min() < vowel - 10 and inside(b2).min() < vowel - 10
    peak = np.argmax(level) / SAMPLE_RATE
    assert aa.start <= peak <= aa.end


def test_engine_boundaries_agree_with_forced_alignment():
    voice = Voice("flite", "slt")
    audio, engine = synthesize_with_phones(voice, TEXT, calibrated=False)
    aligned = align(audio, TEXT)
    check_timeline(aligned, len(audio) / SAMPLE_RATE)
    pairs = boundary_pairs(engine, aligned)
    err = np.abs([b - a for a, b in pairs])
    assert len(pairs) >= 25
    assert np.median(err) < 0.025 and np.mean(err < 0.040) > 0.85


def test_calibration_offsets_are_applied(tmp_path, monkeypatch):
    voice = Voice("flite", "slt")
    _, raw = synthesize_with_phones(voice, TEXT, calibrated=False)
    table = tmp_path / "offsets.json"
    table.write_text(json.dumps({"voices": {"flite:slt": {"offset_s": 0.030}},
                                 "engines": {"espeak-ng": {"offset_s": -0.02}}}))
    monkeypatch.setattr(phone_offsets, "TABLE", str(table))
    monkeypatch.setattr(phone_offsets.offset, "__defaults__", (str(table),))
    assert phone_offsets.offset("flite:slt") == 0.030
    assert phone_offsets.offset("espeak-ng:en-029+f4") == -0.02       # engine fallback
    assert phone_offsets.offset("festival:ked_diphone") == 0.0
    _, shifted = synthesize_with_phones(voice, TEXT)
    inner = [(a.end, b.end) for a, b in zip(raw, shifted)
             if a.label == b.label and 0.1 < a.end < raw[-1].end - 0.1]
    assert len(inner) > 20
    assert np.allclose([b - a for a, b in inner], 0.030, atol=1e-6)


def test_the_bundled_table_covers_every_voice_and_is_small():
    table = phone_offsets.load()
    assert {"flite", "festival", "espeak-ng"} <= set(table["engines"])
    for key, entry in table["voices"].items():
        assert abs(entry["offset_s"]) < 0.06, key
        assert entry["held_out_calibrated"]["within_40ms"] > 0.7, key


def test_fit_pads_and_clips():
    phones = fit([Phone("b", 0.1, 0.2), Phone("aa", 0.2, 0.5), Phone("sil", 0.5, 0.9)], 0.6)
    assert [(p.label, p.start, p.end) for p in phones] == [
        ("sil", 0.0, 0.1), ("b", 0.1, 0.2), ("aa", 0.2, 0.5), ("sil", 0.5, 0.6)]
    with pytest.raises(TimarError):
        check_timeline(phones, 0.7)


def test_cli_say_prints_phones(capsys):
    assert main(["phones", "--say", "Bob", "--voice", "festival:kal_diphone"]) == 0
    phones = json.loads(capsys.readouterr().out)
    assert [p["label"] for p in phones if p["label"] != "sil"] == ["b", "aa", "b"]
    assert main(["phones", "--say", "Bob", "--voice", "nonsense"]) == 2


def test_utterance_corpus_writes_wavs_with_phones_and_holds_voices_out(tmp_path):
    assert len(espeak_variants()) >= 30 and len(all_voices()) >= 200
    out = tmp_path / "u"
    assert main(["utterances", "--out", str(out), "--count", "6", "--held-out-count", "2",
                 "--seed", "5"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["utterances"]) == 8
    for entry in manifest["utterances"]:
        audio, sr = sf.read(str(out / (entry["id"] + ".wav")), dtype="float32")
        data = json.loads((out / (entry["id"] + ".json")).read_text())
        timeline = [Phone(p["label"], p["start"], p["end"], p.get("stress")) for p in data["phones"]]
        check_timeline(timeline, len(audio) / sr)
        held = entry["id"].startswith("heldout/")
        ident = entry["identity"]
        in_held = ident in manifest["held_out"] or ident.split("+")[0] in manifest["held_out"]
        assert held == in_held
        assert "mbrola" not in ident and entry["licence"]
