"""The numpy resampler computes what scipy.signal.resample_poly computes."""
from fractions import Fraction

import numpy as np
import pytest
from scipy.signal import resample_poly as scipy_resample_poly

from model_core.speech.resample import resample_poly


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 24000, 32000, 44100, 48000, 96000])
@pytest.mark.parametrize("length", [1, 7, 1000, 48013])
def test_equals_scipy_resample_poly(rate, length):
    ratio = Fraction(16000, rate).limit_denominator(1000)
    x = np.random.default_rng(length + rate).standard_normal(length)
    expected = scipy_resample_poly(x, ratio.numerator, ratio.denominator, window=("kaiser", 8.0))
    got = resample_poly(x, ratio.numerator, ratio.denominator)
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) < 1e-10


def test_identity_ratio_copies():
    x = np.arange(5.0)
    y = resample_poly(x, 3, 3)
    assert np.array_equal(x, y) and y is not x
