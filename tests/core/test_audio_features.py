"""Audio reading (formats, rates, channels) and the causal log-mel front end."""
import numpy as np
import pytest
import soundfile as sf
import torch
from scipy.signal import resample_poly

from model_core.errors import AudioError
from model_core.speech.audio import load_audio, pad_pair
from model_core.speech.logmel import LogMelFrontEnd, mel_filterbank


def tone(seconds, sr, freq=440.0):
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("fmt,subtype,ext", [("WAV", "PCM_16", "wav"), ("FLAC", "PCM_16", "flac"),
                                             ("OGG", "VORBIS", "ogg"), ("MP3", "MPEG_LAYER_III", "mp3")])
def test_reads_common_formats_at_any_rate_as_16k_mono(tmp_path, fmt, subtype, ext):
    sr = 44100
    stereo = np.stack([tone(1.0, sr, 440), tone(1.0, sr, 440)], axis=1)
    path = tmp_path / f"x.{ext}"
    sf.write(path, stereo, sr, format=fmt, subtype=subtype)
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 16000) < 1200          # codecs may pad a little
    spectrum = np.abs(np.fft.rfft(audio[:16000] * np.hanning(16000)))
    assert abs(np.argmax(spectrum) - 440) <= 2     # the tone survives, at the right pitch


def test_stereo_is_downmixed_and_resampler_is_band_limited():
    sr = 48000
    left, right = tone(1, sr, 300), tone(1, sr, 12000)   # 12 kHz is above the 8 kHz Nyquist
    audio = load_audio(np.stack([left, right], 1), sr)
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    freqs = np.fft.rfftfreq(len(audio), 1 / 16000)
    alias = spectrum[(freqs > 3000) & (freqs < 5000)].max()   # 12 kHz would alias to 4 kHz
    assert alias < 1e-3 * spectrum.max()
    assert abs(freqs[np.argmax(spectrum)] - 300) < 2
    expected = resample_poly((left + right) / 2, 1, 3, window=("kaiser", 8.0))
    assert np.allclose(audio, expected, atol=1e-5)


def test_bad_audio_is_refused(tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match="cannot decode"):
        load_audio(junk)
    with pytest.raises(AudioError, match="silent"):
        load_audio(np.zeros(16000, np.float32))
    assert load_audio(np.zeros(16000, np.float32), allow_silent=True).shape == (16000,)


def test_pad_pair_pads_shorter_track_with_warning():
    a, b, warning = pad_pair(np.ones(10, np.float32), np.ones(4, np.float32))
    assert len(a) == len(b) == 10 and b[4:].sum() == 0 and "B" in warning


def test_mel_filterbank_shape_and_coverage():
    fb = mel_filterbank(64)
    assert fb.shape == (64, 201)
    assert (fb >= 0).all() and (fb.sum(1) > 0).all()
    centres = fb.argmax(1)
    assert (np.diff(centres) >= 0).all()            # filters ordered by frequency


def test_features_are_frame_aligned_and_causal():
    fe = LogMelFrontEnd(32)
    audio = torch.from_numpy(np.random.default_rng(0).normal(size=(1, 16000 * 3 + 100)) * 0.1).float()
    feats = fe(audio)
    assert feats.shape == (1, 76, 128)              # ceil(48100 / 640) frames
    later = audio.clone()
    later[:, 16000:] = torch.randn(1, later.shape[1] - 16000)
    changed = fe(later)
    # turn 0 (frames 0-24) reads only samples < 16000, so it is untouched by later audio
    assert torch.equal(feats[:, :25], changed[:, :25])
    assert not torch.allclose(feats[:, 25:], changed[:, 25:])


def test_level_normalisation_uses_only_the_past():
    fe = LogMelFrontEnd(32)
    rng = np.random.default_rng(1)
    speechy = torch.from_numpy(rng.normal(size=(1, 32000)) * 0.05).float()
    loud_later = speechy.clone()
    loud_later[:, 16000:] *= 20                     # much louder second turn
    a, b = fe(speechy), fe(loud_later)
    assert torch.equal(a[:, :25], b[:, :25])
    # and a global gain change is largely normalised away
    quiet = fe(speechy * 0.1)
    assert (quiet - a).abs().mean() < 0.05
