"""The BS.1770 meter and the limiter: the same figures as pyloudnorm and scipy, without scipy
in the process."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from companion.speech.loudness import loudness, moving_mean, moving_min, normalise
from tests.fresh_process import printed_by


def _signals(rate: int) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    steady = rng.standard_normal(3 * rate) * 0.1
    swell = rng.standard_normal(5 * rate) * 0.05 * np.sin(np.arange(5 * rate) / rate * 2.0)
    quiet_start = rng.standard_normal(4 * rate) * 0.1
    quiet_start[: 2 * rate] *= 1e-4  # under the relative gate: must not count
    hum = 0.3 * np.sin(2 * np.pi * 30.0 * np.arange(rate) / rate)  # mostly cut by the high pass
    short = rng.standard_normal(int(0.2 * rate)) * 0.1  # padded to one block
    # Lengths whose last block runs past the end (the block count is rounded up).
    odd = [rng.standard_normal(int(rate * seconds)) * 0.1 for seconds in (0.8978, 1.2991)]
    return [steady, swell, quiet_start, hum, short, *odd]


@pytest.mark.parametrize("rate", [16000, 22050, 24000])
def test_loudness_matches_pyloudnorm(rate):
    meter = pyloudnorm.Meter(rate)
    for x in _signals(rate):
        padded = np.concatenate([x, np.zeros(max(0, int(0.4 * rate) + 1 - len(x)))])
        assert loudness(x, rate) == pytest.approx(meter.integrated_loudness(padded), abs=1e-6)


def test_silence_has_no_loudness_and_is_left_alone():
    silence = np.zeros(22050, dtype=np.float32)
    assert loudness(silence, 22050) == float("-inf")
    assert np.array_equal(normalise(silence, 22050, -20.0), silence)


def test_normalising_speech_does_not_load_scipy():
    """scipy.signal (pyloudnorm's filter) cost 48 MB of resident memory in `listen`, and
    scipy.ndimage (the limiter's filters) another 26 MB."""
    code = ("import sys, numpy as np\n"
            "from companion.speech.loudness import normalise, PEAK_CEILING\n"
            "x = np.random.default_rng(0).standard_normal(22050).astype('float32') * 0.05\n"
            "x[::2205] = 0.9  # clicks: peaks far over the loudness, so the limiter works\n"
            "y = normalise(x, 22050, -20.0)\n"
            "print(bool(np.max(np.abs(y)) <= PEAK_CEILING), any(m.startswith(('scipy', "
            "'pyloudnorm')) for m in sys.modules))\n")
    out = printed_by(code)
    assert out == ["True", "False"]


@pytest.mark.parametrize("size", [1, 2, 11, 241])
def test_the_limiters_filters_match_scipy_ndimage(size):
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    x = np.random.default_rng(size).random(24001)
    assert np.array_equal(moving_min(x, size), minimum_filter1d(x, size))
    assert np.allclose(moving_mean(x, size), uniform_filter1d(x, size), atol=1e-12)
