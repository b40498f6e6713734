"""Real speech labelled by alignment: Whisper transcripts, cuts at pauses, pocketsphinx
alignment, the ``real-utterances`` verb and ``lipsync-eval`` on what it writes.

Real recordings: pocketsphinx-testdata's LibriVox clips (Debian ``pocketsphinx-testdata``,
in .ci/setup) and the shared DualTalk dialogue; each test skips where its data is absent.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model_core.speech.audio import load_audio
from model_core.constants import JAW, SAMPLE_RATE
from model_core.corpus import fillets_english
from model_core.corpus.align import align, words_of
from model_core.corpus.phones import SILENCE, check_timeline, shift
from model_core.evaluation import lipsync
from model_core.evaluation.pauses import cut_at_pauses
from model_core.evaluation.phone_frames import frame_labels
from model_core.evaluation.real_labels import label_recording, recording_phones, speakable
from model_core.evaluation.transcribe import Transcriber, decode_tokens, unavailable_reason
from model_core.face.flame import load_motion_npz

REPO = Path(__file__).resolve().parents[2]
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
DEMO = REPO.parents[1] / "shared" / "data" / "dualtalk_demo"
if not DEMO.is_dir():
    DEMO = REPO.parent / "shared" / "data" / "dualtalk_demo"
SPEAKER2 = DEMO / "UbjUDM1MiGE_sub_video_72_speaker2"
# What the LibriVox reader says (Sense and Sensibility, chapter 1).
SENTENCES = {
    "0870": "and mister john dashwood had then leisure to consider how much there might be "
            "prudently in his power to do for them",
    "0880": "he was not an ill disposed young man",
    "0890": "unless to be rather cold hearted and rather selfish is to be ill disposed",
    "0920": "had he married a more amiable woman he might have been made still more "
            "respectable than he was",
    "0930": "he might even have been made amiable himself",
}


def librivox(key: str) -> Path:
    path = LIBRIVOX / f"sense_and_sensibility_01_austen_64kb-{key}.wav"
    if not path.is_file():
        pytest.skip("pocketsphinx-testdata is not installed (.ci/setup installs it)")
    return path


@pytest.fixture(scope="module")
def transcriber():
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"Whisper transcription unavailable: {reason}")
    with Transcriber() as t:
        yield t


def test_byte_level_tokens_decode_to_text_and_special_tokens_vanish():
    # 'Ġ' stands for the space byte, 'Ã©' for the two UTF-8 bytes of 'é'.
    assert decode_tokens(["<|startoftranscript|>", "Hello", "Ġcaf", "Ã©", ".", "<|endoftext|>"]) \
        == "Hello café."


def test_transcripts_are_spoken_as_the_aligner_reads_them():
    assert speakable("Mr. Smith paid 42 dollars, OK?") == "mister smith paid forty two dollars okay"
    assert speakable("It's 100% true") == "it's one hundred percent true"


def test_whisper_hears_the_words_of_a_real_reading(transcriber):
    heard = words_of(transcriber(load_audio(librivox("0880"))))
    assert heard[:3] == ["he", "was", "not"] and "young" in heard and "man" in heard
    heard = set(words_of(transcriber(load_audio(librivox("0870")))))
    assert {"dashwood", "leisure", "consider", "prudently"} <= heard


def test_whisper_hears_the_shared_real_dialogue(transcriber):
    if not SPEAKER2.with_suffix(".wav").is_file():
        pytest.skip(f"{DEMO} is absent (the shared real dialogue)")
    heard = set(words_of(transcriber(load_audio(SPEAKER2.with_suffix(".wav"))[:15 * SAMPLE_RATE])))
    assert {"perception", "crazy", "think"} <= heard


def test_a_cut_at_pauses_never_falls_inside_a_word():
    """Five read sentences end to end (24.7 s): the known text aligned per sentence says
    where every word is; every cut must lie in a silence of that alignment."""
    audio, phones, t = [], [], 0.0
    for key, text in SENTENCES.items():
        clip = load_audio(librivox(key))
        phones += shift(align(clip, text), t)
        audio.append(clip)
        t += len(clip) / SAMPLE_RATE
    audio = np.concatenate(audio)
    pieces = cut_at_pauses(audio, max_s=8.0)
    assert len(pieces) >= 3
    assert all(0 < p.end - p.start <= 8.0 for p in pieces)
    assert all(a.end <= b.start for a, b in zip(pieces, pieces[1:]))
    words = [p for p in phones if p.label != SILENCE]
    cuts = [p.end for p in pieces[:-1]] + [p.start for p in pieces[1:]]
    for cut in cuts:
        inside = [p for p in words if p.start + 0.02 < cut < p.end - 0.02]
        assert not inside, f"cut at {cut:.2f} s splits phone {inside[0]}"
    # All speech is inside some piece.
    for p in words:
        assert any(q.start - 0.03 <= p.start and p.end <= q.end + 0.03 for q in pieces), p


def test_silence_gives_no_piece():
    assert cut_at_pauses(np.zeros(3 * SAMPLE_RATE, dtype=np.float32)) == []


def test_aligned_phones_of_a_real_dialogue_are_ordered_and_inside_the_audio(transcriber):
    if not SPEAKER2.with_suffix(".wav").is_file():
        pytest.skip(f"{DEMO} is absent (the shared real dialogue)")
    audio = load_audio(SPEAKER2.with_suffix(".wav"))
    duration = len(audio) / SAMPLE_RATE
    pieces = label_recording(audio, transcriber)
    assert len(pieces) >= 2 and all(p.end - p.start <= 20.0 for p in pieces)
    assert sum(bool(p.phones) for p in pieces) >= len(pieces) - 1
    for piece in pieces:
        for ph in piece.phones:
            assert piece.start - 1e-6 <= ph.start <= ph.end <= piece.end + 1e-6
    phones = recording_phones(pieces, duration)
    check_timeline(phones, duration)          # ordered, no gap or overlap, covers the audio
    spoken = [p for p in phones if p.label != SILENCE]
    assert len(spoken) > 100 and sum(p.label in ("p", "b", "m") for p in spoken) >= 10
    # The metric check of issue 17: the real face's jaw separates open vowels from p/b/m
    # under aligned labels (0.82 under the phone loop's).
    jaw = load_motion_npz(SPEAKER2.with_suffix(".npz"))[:, JAW.start]
    assert lipsync.jaw_auc(jaw, frame_labels(phones, len(jaw)), lead=1) >= 0.85


def test_fillets_english_lines_come_from_the_script():
    if not fillets_english.installed():
        pytest.skip("fillets-ng-data is not installed (apt-get install fillets-ng-data)")
    lines = {line.id: line for line in fillets_english.english_lines()}
    assert lines["disk-x-au1"].text == "Ouch." and Path(lines["disk-x-au1"].path).is_file()
    assert lines["deu-p-stimmt"].text == "Das stimmt, mein Herr!"
    assert "vit-x-beg" not in lines                    # a sound without text
    assert not fillets_english.heard_as_written("Das stimmt, mein Herr!", "That's skimmed my hell!")
    assert fillets_english.heard_as_written("Ouch.", "Ouch!")


def test_the_verb_writes_utterances_lipsync_eval_scores(transcriber, tiny_checkpoint, tmp_path):
    """real-utterances on two LibriVox clips, then lipsync-eval on what it wrote, with the
    same clips as --real recordings labelled by alignment."""
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    for key in ("0880", "0930"):
        shutil.copy(librivox(key), recordings / f"reading_{key}.wav")
    out = tmp_path / "real"

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "model_core", *map(str, args)], cwd=REPO,
                              capture_output=True, text=True, timeout=600)

    refused = cli("real-utterances", "--recordings", recordings, "--out", out)
    assert refused.returncode == 2 and "--licence" in refused.stderr.strip().splitlines()[-1]
    made = cli("real-utterances", "--recordings", recordings, "--licence", "public domain (LibriVox)",
               "--out", out)
    assert made.returncode == 0, made.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sources"]["recordings"]["licence"] == "public domain (LibriVox)"
    assert len(manifest["utterances"]) == 2 and not manifest["left_out"]
    for entry in manifest["utterances"]:
        data = json.loads((out / f"{entry['id']}.json").read_text())
        assert data["licence"] == "public domain (LibriVox)" and data["words_from"] == "whisper"
        assert {"made", "amiable"} <= set(words_of(data["text"])) or \
            {"young", "man"} <= set(words_of(data["text"]))
        seconds = len(load_audio(out / f"{entry['id']}.wav")) / SAMPLE_RATE
        assert data["phones"][-1]["end"] == pytest.approx(seconds, abs=0.002)

    report_path = tmp_path / "lipsync.json"
    scored = cli("lipsync-eval", "--utterances", out, "--real", recordings,
                 "--checkpoint", tiny_checkpoint, "--steps", "2", "--out", report_path)
    assert scored.returncode == 0, scored.stderr
    assert "labelled by alignment" in scored.stdout
    report = json.loads(report_path.read_text())
    assert report["real_labels"] == "alignment"
    assert len(report["utterances"]) == 2 and all(r["speech_frames"] > 20 for r in report["utterances"])
    assert all(r["labels"] == "alignment" and r["aligned_fraction"] == 1.0 for r in report["real"])
    assert 0.0 <= report["pooled"]["real_agreement"] <= 1.0
