"""Conditioning of the input before it is measured and decoded: noise suppression, dither,
a rumble high-pass."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from companion.recognition.endpointing import EndpointerSettings, EnergyEndpointer, frame_db

_LOGGER = logging.getLogger(__name__)


class Dither:
    """Adds a faint noise floor (σ≈50 LSB) when the input is digitally clean."""

    def __init__(self, sigma: float = 50.0, clean_rms: float = 12.0) -> None:
        self._rng = np.random.default_rng(1234)
        self._sigma = sigma
        self._clean_rms = clean_rms
        self._quiet_frames = 0

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        rms = math.sqrt(float(np.mean(frame.astype(np.float64) ** 2)))
        # A digitally clean frame switches the floor on for the next 10 s of input.
        self._quiet_frames = 500 if rms < self._clean_rms else max(self._quiet_frames - 1, 0)
        if self._quiet_frames == 0:
            return frame
        noisy = frame.astype(np.float64) + self._rng.normal(0.0, self._sigma, frame.size)
        return np.clip(np.round(noisy), -32768, 32767).astype(np.int16)


@dataclass(frozen=True)
class FrontendSettings:
    """What is done to the input before the endpointer and the decoder see it."""

    noise_suppression: int = 0
    """WebRTC noise suppression level 0 (off) .. 4 (``webrtc-noise-gain``); see
    :class:`NoiseSuppressor`."""
    auto_gain: int = 0
    """WebRTC automatic gain target, dBFS below full scale (0: off), 0..31."""
    highpass_hz: float = 0.0
    """Cut-off of a high-pass filter in front of everything (0: none); see
    :class:`HighPass`."""
    suppress_above_db: float = 45.0
    """The suppressed audio is used only while the room's noise floor (of the input, dB re
    1 LSB²) is above this; in a quiet room the input goes on unchanged. A microphone's own
    floor is about 34 dB (σ≈50 LSB); steady room noise 12 dB under speech is 55 dB and up.
    Measured: suppression on clean commands cost 2 of 47, and this gate won them back."""


class NoiseSuppressor:
    """WebRTC noise suppression (and optional automatic gain) on 20 ms frames.

    ``webrtc_noise_gain.AudioProcessor`` takes 10 ms of 16 kHz int16; each 20 ms frame is
    processed as two. Without the package installed (or with both levels 0) frames pass
    through unchanged.
    """

    SAMPLES_10MS = 160

    def __init__(self, settings: FrontendSettings = FrontendSettings()) -> None:
        self.settings = settings
        self._processor = None
        if settings.noise_suppression or settings.auto_gain:
            try:
                from webrtc_noise_gain import AudioProcessor
            except ImportError:
                _LOGGER.warning("webrtc-noise-gain is not installed: no noise suppression")
            else:
                self._processor = AudioProcessor(settings.auto_gain, settings.noise_suppression)

    @property
    def active(self) -> bool:
        return self._processor is not None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        if self._processor is None or frame.size % self.SAMPLES_10MS:
            return frame
        data = frame.astype("<i2").tobytes()
        step = 2 * self.SAMPLES_10MS
        out = b"".join(self._processor.Process10ms(data[i:i + step]).audio
                       for i in range(0, len(data), step))
        return np.frombuffer(out, dtype="<i2").astype(np.int16)


def butterworth_highpass(order: int, cutoff_hz: float, rate: int) -> np.ndarray:
    """Second-order sections (rows ``b0 b1 b2 1 a1 a2``) of a Butterworth high-pass of even
    ``order``: the analogue prototype, pre-warped, through the bilinear transform (what
    ``scipy.signal.butter(..., output="sos")`` gives, without importing scipy.signal: 48 MB
    of resident memory)."""
    warped = 2.0 * rate * math.tan(math.pi * cutoff_hz / rate)
    rows = []
    for k in range(order // 2):
        prototype = complex(np.exp(1j * math.pi * (2 * k + order + 1) / (2 * order)))
        pole_s = warped / prototype  # low-pass to high-pass: s -> warped / s
        pole = (2.0 * rate + pole_s) / (2.0 * rate - pole_s)
        a = np.array([1.0, -2.0 * pole.real, abs(pole) ** 2])
        b = np.array([1.0, -2.0, 1.0])  # both zeros at z = 1 (DC)
        b *= np.sum(a * [1.0, -1.0, 1.0]) / np.sum(b * [1.0, -1.0, 1.0])  # unity at Nyquist
        rows.append(np.concatenate([b, a]))
    return np.array(rows)


def impulse_response(sos: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` samples of the sections' response to a unit impulse."""
    x = np.zeros(n)
    x[0] = 1.0
    for b0, b1, b2, _, a1, a2 in sos:
        y = np.zeros(n)
        x1 = x2 = y1 = y2 = 0.0
        for i in range(n):
            y[i] = b0 * x[i] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            x2, x1, y2, y1 = x1, x[i], y1, y[i]
        x = y
    return x


class HighPass:
    """A 4th-order Butterworth high-pass on 20 ms frames, its state carried between them.

    Rumble (a fan, traffic, brown noise) has most of its energy under 200 Hz, where speech
    has little that the recognisers use; a linear filter is a fixed spectral tilt, which
    the decoder's cepstral mean normalisation takes out of the speech again.
    It runs as the filter's impulse response, cut where it has decayed below -150 dB (2,048
    taps at 120 Hz), by FFT convolution (overlap-save); the same samples as the recursive
    filter to within one LSB. Bound: the last 2,047 input samples.
    """

    TAPS = 2048

    def __init__(self, cutoff_hz: float, rate: int = 16000) -> None:
        self._taps: np.ndarray | None = None
        if cutoff_hz > 0:
            self._taps = impulse_response(butterworth_highpass(4, cutoff_hz, rate), self.TAPS)
        self._history = np.zeros(self.TAPS - 1)
        self._spectrum = np.zeros(0, dtype=np.complex128)
        self._size = 0

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """The frame filtered (the same object when there is no filter)."""
        if self._taps is None:
            return frame
        size = 1 << (self.TAPS + frame.size - 2).bit_length()  # holds history and frame
        if size != self._size:
            self._size, self._spectrum = size, np.fft.rfft(self._taps, size)
        block = np.concatenate([self._history, frame.astype(np.float64)])
        out = np.fft.irfft(np.fft.rfft(block, size) * self._spectrum, size)
        self._history = block[frame.size:]
        out = out[self.TAPS - 1:self.TAPS - 1 + frame.size]
        return np.clip(np.round(out), -32768, 32767).astype(np.int16)


DEFAULT_FRONTEND = FrontendSettings(highpass_hz=120.0)
"""The front end every recogniser gets unless given another: a 120 Hz high-pass while the
room's noise is rumble (:attr:`FrontEnd.RUMBLE_DB`), no noise suppression yet.

The rumble high-pass (dev split, ``python -m benchmarks.hearing --splits dev``, 27 commands
per room): brown 12 dB 63.0 -> 88.9% right, brown 6 44.4 -> 88.9, stop recall in both
83 -> 100%; other rooms unchanged. On all the time it also lifted pink 6 (63 -> 81.5) but
cost first words after start-up in pink noise (tests); 200 Hz was no better than 120.

``FrontendSettings(noise_suppression=2)`` is one setting away (dev, Silero endpointer, round
2: clean / pink 20 / 12 / 6 / brown 12 / 6: 88.9/88.9/88.9/88.9/85.2/88.9). It is off because
on, tests fail: a card reading (003.wav) became "that's enough" and "pause" after a 100 ms
dropout in pink noise went to the garbage path (hama -0.95: too low for a safe rescue).
Suppressing always (no 45 dB gate) failed six. Level 2 over 1 and 3 (energy endpointer, 78
dev commands, pink 12 / 6 / brown 12 / 6): off 62/53/22/15, level 1 69/59/69/69, level 2
69/66/68/70, level 3 68/68/63/67."""


class FrontEnd:
    """What the endpointer and the decoders hear: the input noise-suppressed while the room
    is noisy, dithered while it is digitally clean, high-passed while its noise is rumble.
    Every stage runs on every frame, to keep its state; ``learn=False`` (padding) keeps a
    frame out of the noise floors."""

    RUMBLE_DB = 4.5
    """How much the high-pass must lower the room's noise floor (measured in the benchmark's
    streams: brown noise 5.6-8.2 dB, pink 1.3-3.4; a microphone's own hiss 0.1) for the
    endpointer and decoders to get the high-passed input. Elsewhere they get it unfiltered:
    high-passed, a low voice's "red" was ended early in pink noise, and the decoder missed
    1-2 more of 24 first words (tests)."""

    def __init__(self, settings: FrontendSettings, endpointer: EndpointerSettings) -> None:
        self.settings = settings
        self._dither = Dither()
        self._suppress = NoiseSuppressor(settings)
        self._highpass = HighPass(settings.highpass_hz)
        self._floor_raw = EnergyEndpointer(endpointer)
        self._floor_cut = EnergyEndpointer(endpointer)
        self._floor_frames = 0
        """The room's noise floor without and with the high-pass (:meth:`_cut_rumble`)."""
        self._room = EnergyEndpointer(endpointer)
        """Tracks the input's own noise floor (before suppression): the suppressor's gate."""

    def __call__(self, raw: np.ndarray, learn: bool = True) -> np.ndarray:
        """One 20 ms frame conditioned."""
        return self._cut_rumble(self._dither(self._suppressed(raw, learn)), learn)

    def _cut_rumble(self, frame: np.ndarray, learn: bool) -> np.ndarray:
        """The frame high-passed while the room's noise is rumble (:attr:`RUMBLE_DB`), else
        as it is."""
        filtered = self._highpass(frame)
        if learn and filtered is not frame:
            self._floor_raw.is_speech(frame_db(frame), False)
            self._floor_cut.is_speech(frame_db(filtered), False)
            self._floor_frames += 1
        rumble = (self._floor_frames >= EnergyEndpointer.WINDOW_FRAMES  # floors known
                  and self._floor_raw.floor_db - self._floor_cut.floor_db > self.RUMBLE_DB)
        return filtered if rumble else frame

    def _suppressed(self, raw: np.ndarray, learn: bool) -> np.ndarray:
        """Noise suppression while the room is noisy (it always runs, to keep its noise
        estimate current); the input as it is in a quiet room."""
        if not self._suppress.active:
            return raw
        suppressed = self._suppress(raw)
        if learn:
            self._room.is_speech(frame_db(raw), False)
        return suppressed if self._room.floor_db > self.settings.suppress_above_db else raw
