"""The echo gate: silences what is left of the companion's own voice after echo cancellation.

It judges each chunk by level: echo alone reaches a level the output explains (learned),
a person talking goes above it. On the microphone's own signal that needs the person
clearly louder than the companion's echo; on the canceller's output, once the canceller
works and the echo's delay is settled, a person as loud as the echo stands out too, and
band by band (:mod:`~companion.audio.echo_bands`) even a person's soft onset.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from companion.audio.echo_bands import VoiceBands

_EPS = 1e-10


class _EchoRatio:
    """How loud one signal gets, for a given output level, when echo is all that is in it.

    Bounds: ``history`` ratios and ``floor_chunks`` levels.
    """

    LEARNED_AT_PEAK = 25
    """Ratios learned near the output's peak before the learned ratio is used."""

    def __init__(self, history: int, floor_chunks: int) -> None:
        self._ratios: deque[float] = deque(maxlen=history)
        self._at_peak = 0
        """Ratios learned while the output was within 6 dB of its recent peak."""
        self._levels: deque[float] = deque(maxlen=floor_chunks)

    def add_level(self, level: float) -> float:
        """Note a chunk's energy; return the floor (the quietest of the last 2 s)."""
        self._levels.append(level)
        return min(self._levels)

    def learn(self, ratio: float, near_peak: bool) -> None:
        """Learn from an audible chunk while the companion sounded."""
        self._ratios.append(ratio)
        self._at_peak += near_peak

    def expected(self) -> float | None:
        """Signal-to-output energy ratio that echo alone reaches (90th percentile), or
        None before ``LEARNED_AT_PEAK`` near-peak chunks."""
        if self._at_peak < self.LEARNED_AT_PEAK:
            return None
        return float(np.percentile(self._ratios, 90))

    def forget(self) -> None:
        """Start learning afresh (what it learned no longer holds)."""
        self._ratios.clear()
        self._at_peak = 0


class EchoGate:
    """Silences what is left of the companion's own voice after echo cancellation.

    An adaptive filter takes seconds of speech to converge, and a routine speaks in short
    sentences; until then the residual is loud enough to trigger the recogniser (it heard
    its own "pause"). The gate learns how loud the microphone usually is for a given output
    level while the companion speaks (a high percentile of the ratio: the echo path's gain,
    whatever the canceller's state), and passes audio only when the microphone is clearly
    louder than that: a person talking over the companion.
    With ``trust_residual`` (the caller knows the canceller's reference is lined up with
    the echo) it learns the same ratio on the canceller's output and passes a chunk that is
    clearly above that too: a person as loud as the companion's echo, which the microphone
    alone cannot tell from echo (live, echo at the person's level: a stop said over the
    voice was heard in 0 of 4 runs without this). Its level alone still needs the canceller
    to take 10 dB off; a few seconds into the companion's speech it takes 5-10, and the
    onset of "stop" lies 20 dB under the echo. So the canceller's output is also judged
    band by band (:class:`~companion.audio.echo_bands.VoiceBands`): a voice is where the
    canceller took almost nothing off (live at full volume: 13 of 13 stops heard, 4 of 8
    before).
    Echo is attenuated by ``attenuation_db`` and the room's own noise, recorded while the
    companion was quiet, is laid under it (comfort noise): the recogniser's endpointer must
    go on hearing the room's real noise floor. Without it, a fan at -50 dBFS sounded like
    speech the moment the gate opened, and "stop" over the companion's voice was missed.
    The attenuation is 60 dB: at full volume the echo reaches the microphone at about -16
    dBFS, and 30 dB down it was still clear speech above a quiet room. The recogniser then
    worked on the companion's own words all along (five minutes of a routine at 0 dB, with
    nobody speaking: 1-7 commands heard in each of three runs, and ten times the output
    underflows of -9 dB); at 60 dB, none (and as few underflows as at -9 dB).
    The output runs one chunk late, so a chunk just before a person's voice opens the gate
    too (their first sound is often quiet), and the gate stays open ``hangover_s`` after.
    Bounds: ``window_s`` of levels, twice ``history`` ratios and 2 s of levels, and 1 s of
    room chunks (about 45 KB at 16 kHz): the same after a minute or a night.
    """

    def __init__(self, sample_rate: int = 16000, chunk: int = 320, window_s: float = 0.3,
                 margin_db: float = 4.0, attenuation_db: float = 60.0,
                 hangover_s: float = 0.3, history: int = 250, voice_db: float = 9.0) -> None:
        self._window: deque[float] = deque(maxlen=max(1, int(window_s * sample_rate / chunk)))
        floor_chunks = max(1, int(2.0 * sample_rate / chunk))
        self._mic = _EchoRatio(history, floor_chunks)
        self._residual = _EchoRatio(history, floor_chunks)
        self._margin = 10 ** (margin_db / 10)
        self._voice = 10 ** (voice_db / 10)
        self._attenuation = 10 ** (-attenuation_db / 20)
        self._hangover = max(1, int(hangover_s * sample_rate / chunk))
        self._open_for = 0
        self._echo_before = False
        """Whether echo was possible at the previous chunk."""
        self._held = np.zeros(chunk, dtype=np.float32)
        self._held_is_echo = False
        self._room: deque[np.ndarray] = deque(maxlen=max(1, int(1.0 * sample_rate / chunk)))
        """The last second of chunks with neither the companion nor a person in them."""
        self._background = False
        self._rng = np.random.default_rng(7)
        self._bands = VoiceBands(sample_rate, chunk)
        self._band_hangover = max(1, int(self.BAND_HANGOVER_S * sample_rate / chunk))
        self._band_run = 0
        """Chunks in a row whose canceller output held a voice band by band."""
        self._by_bands = False
        self.gated = 0
        """Chunks attenuated so far."""

    RESIDUAL_GAIN = 0.1
    """The canceller's output is used only once it takes 10 dB off the echo (learned as
    above): live, with the delay moving under load, it took 5.5 dB, and its output let
    the companion's own voice through, heard as "stop"."""

    RESIDUAL_MARGIN = 10.0
    """How far (10 dB) above what echo alone leaves a chunk must be to pass as a voice by
    the canceller's output: its residual swings more than the microphone's echo (4 dB let
    chunks of its own voice through, 20 dB under the echo, on real speech)."""

    BAND_RUN = 2
    """A voice found only band by band (:class:`~companion.audio.echo_bands.VoiceBands`)
    opens the gate once two chunks in a row hold it: single chunks were the ends of the
    companion's own sentences (replayed live runs: three of its words heard as "pause",
    "faster"; with three chunks, 4 of 13 stops were lost)."""

    BAND_HANGOVER_S = 0.1
    """...and keeps it open this long after (0.3 s passed enough of the companion's own
    voice after a wrong opening to be heard as "pause")."""

    def forget_residual(self) -> None:
        """The canceller started over: what was learned of its output no longer holds."""
        self._residual.forget()

    def process(self, cleaned: np.ndarray, mic: np.ndarray, reference: np.ndarray,
                trust_residual: bool = False) -> np.ndarray:
        """The previous ``cleaned`` chunk, attenuated if it was the companion's echo.

        ``mic`` is what the microphone heard (before echo cancellation), ``reference``
        what the companion played in the same chunk; ``trust_residual``: see the class.
        """
        echo, voice = self._classify(np.asarray(mic, dtype=np.float32),
                                     np.asarray(cleaned, dtype=np.float32), reference,
                                     trust_residual)
        if echo and not self._echo_before:
            # The companion starts to sound: the hangover kept for the soft end of a
            # person's words ends (words that go on still pass as a voice). It answers a
            # command ~150 ms after it, inside the hangover, which let the start tone's
            # echo through, heard as "stop" (live, 1 run in 12).
            self._open_for = 0
        self._echo_before = echo
        if voice:
            self._open_for = self._band_hangover if self._by_bands else self._hangover
        out = self._held
        if self._held_is_echo and not voice and self._open_for == 0:
            self.gated += 1
            out = out * self._attenuation + self._comfort_noise(out.size)
        self._held = np.asarray(cleaned, dtype=np.float32)
        if self._background:
            self._room.append(self._held)
        self._held_is_echo = echo and not voice
        self._open_for = max(0, self._open_for - 1)
        return out.astype(np.float32)

    def _comfort_noise(self, size: int) -> np.ndarray:
        """A recorded chunk of the room (its quieter half), or nothing before there is one."""
        if not self._room:
            return np.zeros(size, dtype=np.float32)
        quiet = sorted(self._room, key=lambda c: float(np.dot(c, c)))[:max(1, len(self._room) // 2)]
        chunk = quiet[int(self._rng.integers(len(quiet)))]
        return chunk[:size] if chunk.size >= size else np.resize(chunk, size)

    def _classify(self, mic: np.ndarray, cleaned: np.ndarray, reference: np.ndarray,
                  trust_residual: bool) -> tuple[bool, bool]:
        """(echo possible, a person's voice) for one chunk.

        Echo is possible while the companion played something in the last ``window_s``.
        A voice is sound well above the noise floor that the echo path cannot explain.
        """
        self._by_bands = False
        output = float(np.mean(np.square(reference, dtype=np.float64))) + _EPS
        self._window.append(output)
        level = float(np.mean(np.square(mic, dtype=np.float64))) + _EPS
        floor = self._mic.add_level(level)
        left = float(np.mean(np.square(cleaned, dtype=np.float64))) + _EPS
        left_floor = self._residual.add_level(left)
        recent = max(self._window)  # the echo arrives up to ``window_s`` after the output
        # Only the room's own noise may become comfort noise: no echo, nothing above the
        # floor (the soft edges of a person's words are not "voice" but are not noise).
        companion_quiet = recent < 1e-8
        self._background = companion_quiet and level <= 2.0 * floor
        if companion_quiet:  # no echo possible
            self._band_run = 0
            self._bands.note(cleaned)
            return False, level > floor * self._voice
        band_voice = self._bands.voiced(mic, cleaned)  # (every such chunk: its band floors)
        audible = level > floor * self._voice
        if audible:  # before the echo arrives, level/recent says nothing of its gain
            near_peak = output >= recent / 4
            self._mic.learn(level / recent, near_peak)
            self._residual.learn(left / recent, near_peak)
        # Until there is history, assume the echo may be 12 dB louder than the output:
        # measured live on the null sink (echo at 0 dB), 0 dB and 6 dB let the start
        # tone's echo through, heard as "stop". History counts once the echo has been
        # heard while the output was near its recent peak, 25 times: a decaying tone's
        # chunks alone (level/recent falls as it fades) taught the gate a ratio so low
        # that the routine's first words passed as a voice (live: "louder", "help",
        # "stop"). Replayed from 12 recorded live runs, the gate let the first sentence's
        # echo through in 10 when it learned from every chunk, in 2 from chunks the echo
        # had reached, in none now.
        expected = self._mic.expected() or 16.0
        if audible and level > expected * recent * self._margin + floor:
            self._band_run = 0
            return True, True
        learned = self._residual.expected()
        if not trust_residual or learned is None:
            self._band_run = 0
            return True, False
        off_echo = left >= level  # more out than in: a canceller off the echo
        if (learned <= expected * self.RESIDUAL_GAIN and not off_echo
                and left > left_floor * self._voice
                and left > learned * recent * self.RESIDUAL_MARGIN + left_floor):
            self._band_run = 0
            return True, True
        self._band_run = self._band_run + 1 if band_voice and not off_echo else 0
        self._by_bands = self._band_run >= self.BAND_RUN
        return True, self._by_bands
