"""The speech loop: input chunks → (echo removal) → recogniser → session → player → output.

Two drivers share it: ``run_on_file`` runs on a WAV file's clock, as fast as it can,
writing what it would have played on the same timeline; ``LiveLoop`` runs on the
microphone and speakers. In both the output for a stretch of time is rendered before the
input of that same stretch is heard, so reactions are causal.
"""

from __future__ import annotations

import collections
import logging
import threading
from typing import Callable

import numpy as np

from companion.audio import CHUNK_SAMPLES, INPUT_RATE, AudioSink, AudioSource, Resampler
from companion.echo import EchoCanceller, EchoGate
from companion.player import RoutinePlayer
from companion.recognition import Recognizer, Utterance
from companion.session import Session
from companion.sounds import db_to_gain

log = logging.getLogger(__name__)

BEHIND_CHUNKS = 3
"""Queued input chunks (60 ms) beyond which the live loop counts as behind."""
FINAL_FADE_CHUNKS = 3
"""Chunks rendered after the input ends, so the output ends in a fade, not a click."""


def pcm_to_float(chunk: bytes) -> np.ndarray:
    """int16 little-endian bytes → float32 in [-1, 1)."""
    return np.frombuffer(chunk, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm(x: np.ndarray) -> bytes:
    """float audio → int16 little-endian bytes (clipped)."""
    return (np.clip(x, -1.0, 32767 / 32768) * 32768.0).astype("<i2").tobytes()


class ReferenceBuffer:
    """What the companion played, at 16 kHz, handed to the echo canceller chunk by chunk.

    The writer (the output) and reader (the input) run at the same device clock; the level
    is kept between zero and ``max_lead`` seconds so the reference never lags its echo.
    """

    def __init__(self, output_rate: int, max_lead: float = 0.1, keep_lead: float = 0.04):
        self._resampler = Resampler(output_rate, INPUT_RATE)
        self._fifo: collections.deque[np.ndarray] = collections.deque()
        self._level = 0
        self._lock = threading.Lock()
        self._max = int(max_lead * INPUT_RATE)
        self._keep = int(keep_lead * INPUT_RATE)

    def push(self, block: np.ndarray, _start: int = 0) -> None:
        """Add a block of output audio (any size, output rate)."""
        ref = self._resampler.process(block).astype(np.float32)
        with self._lock:
            self._fifo.append(ref)
            self._level += len(ref)
            if self._level > self._max:
                self._drop(self._level - self._keep)

    def take(self, n: int = CHUNK_SAMPLES) -> np.ndarray:
        """The oldest ``n`` samples (zeros where there are none yet)."""
        out = np.zeros(n, dtype=np.float32)
        filled = 0
        with self._lock:
            while filled < n and self._fifo:
                head = self._fifo[0]
                used = min(n - filled, len(head))
                out[filled:filled + used] = head[:used]
                filled += used
                if used == len(head):
                    self._fifo.popleft()
                else:
                    self._fifo[0] = head[used:]
                self._level -= used
        return out

    def _drop(self, n: int) -> None:
        while n > 0 and self._fifo:
            head = self._fifo[0]
            if len(head) <= n:
                self._fifo.popleft()
                n -= len(head)
                self._level -= len(head)
            else:
                self._fifo[0] = head[n:]
                self._level -= n
                n = 0


def _decision_time(utterance: Utterance) -> float:
    """When the recogniser decided (end of speech if it does not say)."""
    return float(getattr(utterance, "decided", utterance.end))


def run_on_file(source: AudioSource, recognizer: Recognizer, session: Session,
                player: RoutinePlayer, sink: AudioSink | None, echo_db: float | None = None
                ) -> None:
    """Run the whole loop on ``source``'s clock, as fast as possible.

    With ``echo_db`` the companion's own output is mixed back into what it hears, that
    many dB down and 20 ms late, as a speaker beside the microphone would; an echo
    canceller (which only knows what was played) then removes what it can.
    """
    out_per_chunk = player.sample_rate * CHUNK_SAMPLES // INPUT_RATE
    reference = ReferenceBuffer(player.sample_rate, max_lead=10.0)
    canceller = EchoCanceller(INPUT_RATE) if echo_db is not None else None
    gate = EchoGate(INPUT_RATE)
    echo_gain = db_to_gain(echo_db) if echo_db is not None else 0.0
    last_played = np.zeros(CHUNK_SAMPLES, dtype=np.float32)
    while (chunk := source.read()) is not None:
        block = player.render(out_per_chunk)
        if sink is not None:
            sink.write(block)
        reference.push(block)
        mic = pcm_to_float(chunk)
        if canceller is not None:
            played = reference.take()
            heard = mic + echo_gain * last_played
            mic = gate.process(canceller.process(heard, played), heard, played)
            last_played = played
        for utterance in recognizer.accept(float_to_pcm(mic)):
            session.hear(utterance.text, _decision_time(utterance))
    for utterance in recognizer.flush():
        session.hear(utterance.text, _decision_time(utterance))
    player.stop()
    for _ in range(FINAL_FADE_CHUNKS):
        block = player.render(out_per_chunk)
        if sink is not None:
            sink.write(block)


class LiveLoop:
    """The loop on real devices: the output renders on its own thread, the input here."""

    def __init__(self, source: AudioSource, recognizer: Recognizer, session: Session,
                 player: RoutinePlayer, reference: ReferenceBuffer,
                 on_tick: Callable[[], None] | None = None) -> None:
        self.source = source
        self.recognizer = recognizer
        self.session = session
        self.player = player
        self.reference = reference
        self.canceller = EchoCanceller(INPUT_RATE)
        # A real device's echo comes back later than a file's (sink queue, sound server
        # buffers); with a 0.3 s window the soft start tone's echo was heard as "stop".
        self.gate = EchoGate(INPUT_RATE, window_s=0.6)
        self._on_tick = on_tick or (lambda: None)
        self._stop = threading.Event()
        self._recent_refs: collections.deque[np.ndarray] = collections.deque(maxlen=50)

    def _gate_reference(self, played: np.ndarray) -> np.ndarray:
        """What the gate compares the microphone with.

        When this loop has fallen behind (chunks queued: a busy machine), the reference it
        takes is newer than the echo in the chunk, so the gate is given the loudest output
        of the last second instead: while behind, only a clearly louder voice gets through.
        """
        self._recent_refs.append(played)
        behind = getattr(self.source, "pending", 0) > BEHIND_CHUNKS
        if not behind:
            return played
        return max(self._recent_refs, key=lambda x: float(np.dot(x, x)))

    def stop(self) -> None:
        """Ask ``run`` to return after the current chunk."""
        self._stop.set()

    def run(self) -> None:
        """Hear and act until ``stop`` or the source ends."""
        while not self._stop.is_set():
            chunk = self.source.read(timeout=0.25)
            self._on_tick()
            if chunk is None:
                return
            if not chunk:
                continue
            played = self.reference.take()
            heard = pcm_to_float(chunk)
            cleaned = self.canceller.process(heard, played)
            mic = self.gate.process(cleaned, heard, self._gate_reference(played))
            for utterance in self.recognizer.accept(float_to_pcm(mic)):
                self.session.hear(utterance.text, self.player.frames / self.player.sample_rate)
