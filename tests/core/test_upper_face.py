"""The upper face (model_core.face.upper): brows on pitch accents in real synthesised speech,
a smile and brow raise with a listener's nods, nothing on silence or a flat reading, exactly
streamed with generation, and the mouth left as the mouth head made it."""
import shutil
import subprocess
import time

import numpy as np
import pytest
import soundfile as sf

from model_core import cli
from model_core.speech.audio import load_audio
from model_core.speech.audio_stream import open_audio
from model_core.checkpoint import load_model
from model_core.constants import FPS, NECK, SAMPLE_RATE, TURN_FRAMES
from model_core.corpus import engines
from model_core.corpus.features import frame_windows, speech_features
from model_core.face.channels import ARKIT_INDEX, FACE_DIM, face_from_flame
from model_core.face.upper import BROWS, SMILE, UPPER_CHANNELS, UpperFace
from model_core.upper_face_stream import HeardAudio, UpperFaceStream
from model_core.generate import DialogueGenerator, GenerationOptions
from model_core.speech.prosody import ProsodyStream, loudness_db, pitch
from model_core.testing import make_tiny_checkpoint, make_tiny_model

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
SAMPLE = ("assets/sample/sample_speaker1.wav", "assets/sample/sample_speaker2.wav")
SENTENCE = "I never said that she took the money from the bank"
FLAT = "<prosody range='x-low'>{}</prosody>"
# A deep and a high voice (espeak-ng variant, base pitch 0-99).
VOICES = {"deep": ("en-us+m3", 35), "high": ("en-us+f2", 85)}
# Column of each kind in the UpperFace values.
BROW, SMILE_COL, CHEEK_COL = 0, len(BROWS), len(BROWS) + len(SMILE)


def espeak(ssml: str, voice: str, base_pitch: int, tmp_path) -> np.ndarray:
    path = tmp_path / "say.wav"
    subprocess.run(["espeak-ng", "-m", "-v", voice, "-p", str(base_pitch), "-w", str(path),
                    f"<speak>{ssml}</speak>"], check=True, capture_output=True)
    return load_audio(str(path))


def flat_reading(word_raised: bool) -> str:
    """The sentence read flat, with "took" alone raised when ``word_raised``."""
    if not word_raised:
        return FLAT.format(SENTENCE)
    before, after = SENTENCE.split(" took ")
    return (FLAT.format(before) + "<prosody range='x-low' pitch='+80%'>took</prosody>"
            + FLAT.format(after))


def upper_face(audio: np.ndarray, neck: np.ndarray | None = None) -> np.ndarray:
    """(T, 7) upper-face values of one head over a whole clip, frame by frame."""
    frames = len(audio) // 640
    neck = np.zeros(frames) if neck is None else neck
    db, f0, strength = ProsodyStream().push(np.concatenate([audio, np.zeros(1280, np.float32)]))
    face = UpperFace()
    face.hear(db[0], f0[0], strength[0])
    out = []
    for f in range(frames):
        face.hear(db[f + 1], f0[f + 1], strength[f + 1])
        out.append(face.emit(neck[f]))
    return np.array(out)


def onsets(values: np.ndarray) -> np.ndarray:
    """Frames where a bump starts (0 before, > 0 there)."""
    on = values > 1e-6
    return np.flatnonzero(on & ~np.concatenate([[False], on[:-1]]))


def test_prosody_stream_equals_the_whole_clip_windows_in_any_chunks():
    audio = load_audio(SAMPLE[1])[:8 * SAMPLE_RATE]
    frames = len(audio) // 640
    win = frame_windows(audio, frames)
    f0, strength = pitch(win)
    stream, parts = ProsodyStream(), []
    rng = np.random.default_rng(0)
    at = 0
    while at < len(audio) + 1000:
        step = int(rng.integers(1, 9000))
        chunk = audio[at:at + step]
        parts.append(stream.push(np.pad(chunk, (0, step - len(chunk)))))
        at += step
    got = [np.concatenate(p)[:frames] for p in zip(*parts)]
    assert np.array_equal(got[0], loudness_db(win))
    assert np.array_equal(got[1], f0) and np.array_equal(got[2], strength)


@needs_espeak
@pytest.mark.parametrize("voice", sorted(VOICES))
def test_brows_rise_on_the_accented_syllable_and_rest_over_a_flat_reading(voice, tmp_path):
    accented = espeak(flat_reading(True), *VOICES[voice], tmp_path)
    flat = espeak(flat_reading(False), *VOICES[voice], tmp_path)
    # Where "took" is: the engine's own phone events for the plain sentence (pocketsphinx
    # does not align these voices); SSML's prosody changes the pitch, the timing by a few ms.
    plain, phones = engines.espeak(VOICES[voice][0], SENTENCE, 175, VOICES[voice][1])
    sounding = np.flatnonzero(np.abs(accented) > 0.01)
    assert abs((sounding[-1] - sounding[0]) - len(plain)) / SAMPLE_RATE < 0.1
    vowel = next(p for p in phones if p.label == "uh")                 # t-UH-k
    brows = upper_face(accented)[:, BROW]
    starts = onsets(brows) / FPS
    assert len(starts) == 1, f"brow bumps at {starts} s, the accent at {vowel.start:.2f} s"
    assert vowel.start - 0.2 <= starts[0] <= vowel.end + 0.2
    peak = int(np.argmax(brows))
    assert 0.15 <= brows[peak] <= 0.5 and abs(peak / FPS - vowel.start) <= 0.35
    assert np.all(brows[int((vowel.end + 0.9) * FPS):] == 0)          # eased out
    assert np.abs(upper_face(flat)).max() < 0.05


def test_silence_gives_nothing():
    assert not upper_face(np.zeros(3 * SAMPLE_RATE, np.float32)).any()


def nod(frames: int, at: int, depth: float) -> np.ndarray:
    """Neck pitch: still, then the chin down by ``depth`` rad over 6 frames and back."""
    neck = np.zeros(frames)
    shape = 0.5 * (1 - np.cos(2 * np.pi * np.arange(13) / 12))      # 0 .. 1 .. 0
    neck[at:at + 13] = depth * shape
    return neck


def test_a_silent_listener_nodding_smiles_and_raises_its_brows_briefly():
    silence = np.zeros(5 * SAMPLE_RATE, np.float32)
    values = upper_face(silence, nod(125, 20, 0.06))
    smile = values[:, SMILE_COL]
    assert list(onsets(smile)) == [27]                 # the frame after the chin's lowest
    assert 0.3 <= smile.max() <= 0.35                  # a deep nod: near the top of 0.15-0.35
    held = np.flatnonzero(smile > 0.1)
    assert 1.0 <= len(held) / FPS <= 2.0 and smile[27 + 2 * FPS:].max() == 0
    assert np.allclose(values[:, CHEEK_COL], smile / 3)
    brows = values[:, BROW]
    assert 0.1 < brows.max() < 0.3 and brows[27 + FPS:].max() == 0      # brief
    shallow = upper_face(silence, nod(125, 20, 0.02))
    assert not shallow.any()                           # a sway is not a nod
    gentle = upper_face(silence, nod(125, 20, 0.035))[:, SMILE_COL]
    assert 0.15 <= gentle.max() < 0.2                  # a shallow nod: a faint smile


@needs_espeak
def test_a_talking_head_that_nods_does_not_smile(tmp_path):
    talking = espeak(SENTENCE, *VOICES["high"], tmp_path)
    frames = len(talking) // 640
    assert frames > 45
    values = upper_face(talking, nod(frames, 20, 0.06))
    assert values[:, SMILE_COL].max() == 0 and values[:, CHEEK_COL].max() == 0


# ------------------------------------------------------------------ in generation
@pytest.fixture(scope="module")
def sample_runs():
    """The bundled model (with its mouth head) on the sample's first 8 s, with and without
    the upper face, and streamed."""
    model = load_model(None, device="cpu")
    a, b = (load_audio(p)[:8 * SAMPLE_RATE] for p in SAMPLE)
    runs = {up: DialogueGenerator(model, GenerationOptions(upper_face=up)).run(a, b)
            for up in (True, False)}
    streamed = list(DialogueGenerator(model, GenerationOptions()).open(a, b))
    return runs, streamed, (a, b)


def test_streamed_turns_equal_run_and_the_upper_face_changes_only_its_channels(sample_runs):
    runs, streamed, _ = sample_runs
    on, off = runs[True], runs[False]
    for head in "ab":
        face = getattr(on, f"face_{head}")
        assert np.array_equal(np.concatenate([getattr(t, f"face_{head}") for t in streamed]), face)
        assert np.array_equal(getattr(on, f"motion_{head}"), getattr(off, f"motion_{head}"))
        plain = getattr(off, f"face_{head}")
        others = [i for i in range(FACE_DIM) if i not in UPPER_CHANNELS]
        assert np.array_equal(face[:, others], plain[:, others])     # jawOpen, mouthClose too
        assert np.all(face >= plain) and face.max() <= 1.0            # joined by the maximum
        for name in ("browInnerUp", "mouthSmileLeft"):
            assert (face[:, ARKIT_INDEX[name]] > plain[:, ARKIT_INDEX[name]] + 0.1).any()


def test_a_talking_heads_smile_is_the_mouth_heads(sample_runs):
    runs, _, audio = sample_runs
    for h, head in enumerate("ab"):
        active = speech_features(audio[h]).active > 0.5
        smile = ARKIT_INDEX["mouthSmileLeft"]
        on, off = getattr(runs[True], f"face_{head}"), getattr(runs[False], f"face_{head}")
        n = min(len(active), len(on))
        talking = np.flatnonzero(active[:n])
        assert len(talking) > 25
        assert np.array_equal(on[talking, smile], off[talking, smile])
        listening = np.flatnonzero(~active[:n])
        assert (on[listening, smile] > off[listening, smile] + 0.1).any()   # it reacts


def test_given_heads_keep_their_faces_and_a_model_without_a_mouth_gets_brows(tmp_path):
    model = make_tiny_model(seed=3)
    assert model.mouth is None
    a = espeak(flat_reading(True), *VOICES["deep"], tmp_path)
    b = np.zeros_like(a)
    given = np.random.default_rng(0).normal(0, 0.05, (len(a) // 640, 56)).astype(np.float32)
    run = DialogueGenerator(model, GenerationOptions()).run(a, b, motion_b=given,
                                                            allow_silent=True)
    assert np.array_equal(run.face_b, face_from_flame(run.motion_b))
    brows = run.face_a[:, ARKIT_INDEX["browInnerUp"]]
    assert brows.max() >= 0.15                         # the raised "took"
    plain = face_from_flame(run.motion_a)
    others = [i for i in range(FACE_DIM) if i not in UPPER_CHANNELS]
    assert np.array_equal(run.face_a[:, others], plain[:, others])


@needs_espeak
def test_generate_writes_the_upper_face_into_arkit_unless_switched_off(tmp_path):
    checkpoint = make_tiny_checkpoint(tmp_path / "tiny.pt", seed=3)
    a = espeak(flat_reading(True), *VOICES["deep"], tmp_path)
    b = load_audio(SAMPLE[1])[:len(a)]
    for name, audio in (("a.wav", a), ("b.wav", b)):
        sf.write(tmp_path / name, audio, SAMPLE_RATE)
    arkit = {}
    for flag in ([], ["--no-upper-face"]):
        out = tmp_path / ("off" if flag else "on")
        assert cli.main(["generate", "--audio-a", str(tmp_path / "a.wav"), "--audio-b",
                         str(tmp_path / "b.wav"), "--out-dir", str(out), "--checkpoint",
                         checkpoint, "--device", "cpu", *flag]) == 0
        arkit[bool(flag)] = [np.load(out / f"a_speaker{s}.npz")["arkit"] for s in (1, 2)]
    upper = list(UPPER_CHANNELS)
    for off in arkit[True]:                  # the tiny model has no mouth head: all 0
        assert not off[:, upper].any()
    assert arkit[False][0][:, ARKIT_INDEX["browInnerUp"]].max() >= 0.15   # A's raised "took"


def test_the_upper_face_costs_a_few_milliseconds_per_turn():
    tracks = {h: HeardAudio(open_audio(path, None, name=path)) for h, path in enumerate(SAMPLE)}
    stream = UpperFaceStream(tracks)
    motion = np.zeros((2, TURN_FRAMES, 56), np.float32)
    motion[:, :, NECK.start] = 0.05 * np.sin(np.arange(TURN_FRAMES) / 3.0)
    costs = []
    for t in range(20):
        for track in tracks.values():
            track.read(TURN_FRAMES * 640)          # what the features read
        faces = [np.zeros((TURN_FRAMES, FACE_DIM), np.float32)] * 2
        start = time.perf_counter()
        stream.turn(t, faces, motion)
        costs.append(time.perf_counter() - start)
    ms = 1000 * float(np.median(costs))
    print(f"upper face: {ms:.2f} ms per 1 s turn, both heads (median of 20)")
    assert ms < 20.0
