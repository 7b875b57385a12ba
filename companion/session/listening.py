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
from collections.abc import Callable

import numpy as np

from companion.audio.echo import EchoCanceller
from companion.audio.echo_gate import EchoGate
from companion.audio.echo_path import AlignedReference
from companion.audio.resample import Resampler
from companion.audio.sounds import db_to_gain
from companion.audio.stream import CHUNK_SAMPLES, INPUT_RATE, AudioSink, AudioSource
from companion.recognition.utterance import Recognizer, Utterance
from companion.session.player import RoutinePlayer
from companion.session.session import Session

log = logging.getLogger(__name__)

BEHIND_CHUNKS = 3
"""Queued input chunks (60 ms) beyond which the live loop counts as behind."""
FINAL_FADE_CHUNKS = 3
"""Chunks rendered after the input ends, so the output ends in a fade, not a click."""
FILE_ECHO_WINDOW_S = 0.3
"""How long after the companion's output its echo may still come back (file loop)."""
LIVE_ECHO_WINDOW_S = 0.6
"""The same on real devices: a real device's echo comes back later than a file's (sink
queue, sound server buffers); with 0.3 s the soft start tone's echo was heard as "stop"."""
LIVE_VOICE_WINDOW_S = 0.8
"""How long after rendering a sound the companion still counts as voicing it, live: the
output queue (40-100 ms) comes before the device, then the echo window."""


def pcm_to_float(chunk: bytes) -> np.ndarray:
    """int16 little-endian bytes → float32 in [-1, 1)."""
    return np.frombuffer(chunk, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm(x: np.ndarray) -> bytes:
    """float audio → int16 little-endian bytes (clipped)."""
    return (np.clip(x, -1.0, 32767 / 32768) * 32768.0).astype("<i2").tobytes()


class ReferenceBuffer:
    """What the companion played, at 16 kHz, handed to the echo canceller chunk by chunk.

    For the file loop, where the output and the input take turns on one clock: each
    chunk's output is pushed before that chunk's input is heard. (Live devices need
    :class:`~companion.echo_path.AlignedReference`.) Bound: push and take alternate, so it
    holds at most one chunk and a resampler's tail; a caller that only pushed would grow
    it, which is why ``run_on_file`` pushes only when it takes.
    """

    def __init__(self, output_rate: int) -> None:
        self._resampler = Resampler(output_rate, INPUT_RATE)
        self._pending = np.zeros(0, dtype=np.float32)

    def push(self, block: np.ndarray) -> None:
        """Add a block of output audio (any size, output rate)."""
        ref = self._resampler.process(block).astype(np.float32)
        self._pending = np.concatenate([self._pending, ref])

    def take(self, n: int = CHUNK_SAMPLES) -> np.ndarray:
        """The oldest ``n`` samples (zeros where there are none yet)."""
        out = np.zeros(n, dtype=np.float32)
        used = min(n, len(self._pending))
        out[:used] = self._pending[:used]
        self._pending = self._pending[used:]
        return out


def louder(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The one of two chunks with more energy."""
    return a if float(np.dot(a, a)) >= float(np.dot(b, b)) else b


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
    reference = ReferenceBuffer(player.sample_rate)
    canceller = EchoCanceller(INPUT_RATE) if echo_db is not None else None
    gate = EchoGate(INPUT_RATE, window_s=FILE_ECHO_WINDOW_S)
    echo_gain = db_to_gain(echo_db) if echo_db is not None else 0.0
    last_played = np.zeros(CHUNK_SAMPLES, dtype=np.float32)
    while (chunk := source.read()) is not None:
        block = player.render(out_per_chunk)
        if sink is not None:
            sink.write(block)
        recognizer.set_companion_voice(player.voicing(FILE_ECHO_WINDOW_S))
        mic = pcm_to_float(chunk)
        if canceller is not None:
            reference.push(block)  # only here: unread, it would grow all session
            played = reference.take()
            heard = mic + echo_gain * last_played
            mic = gate.process(canceller.process(heard, played), heard, played)
            last_played = played
        for utterance in recognizer.accept(float_to_pcm(mic)):
            session.act_on(utterance.command, _decision_time(utterance))
    for utterance in recognizer.flush():
        session.act_on(utterance.command, _decision_time(utterance))
    player.stop()
    for _ in range(FINAL_FADE_CHUNKS):
        block = player.render(out_per_chunk)
        if sink is not None:
            sink.write(block)


class LiveLoop:
    """The loop on real devices: the output renders on its own thread, the input here.

    Bounds: the last 50 gate references (1 s, 64 KB); the source's queue and the echo
    reference state theirs. While the microphone is lost ``run`` wakes every 0.25 s (to
    keep the status line fresh) and keeps nothing.
    """

    def __init__(self, source: AudioSource, recognizer: Recognizer, session: Session,
                 player: RoutinePlayer, reference: AlignedReference,
                 on_tick: Callable[[], None] | None = None,
                 on_input_problem: Callable[[str | None], None] | None = None) -> None:
        self.source = source
        self.recognizer = recognizer
        self.session = session
        self.player = player
        self.reference = reference
        self.canceller = EchoCanceller(INPUT_RATE)
        self._alignment = reference.generation
        self.gate = EchoGate(INPUT_RATE, window_s=LIVE_ECHO_WINDOW_S)
        self._on_tick = on_tick or (lambda: None)
        self._on_problem = on_input_problem or (lambda text: None)
        """Told what is wrong with the input when that changes (None when it is over)."""
        if on_input_problem is not None and hasattr(recognizer, "show_input_problems_elsewhere"):
            recognizer.show_input_problems_elsewhere()  # said there, not logged a second time
        self._problem: object = None
        self._stop = threading.Event()
        self._recent_refs: collections.deque[np.ndarray] = collections.deque(maxlen=50)
        self._dropped = getattr(source, "dropped", 0)

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

    def _count_dropped_input(self) -> None:
        """Chunks the source dropped since the last read (this loop fell behind) were
        before this one: the echo reference counts them as silence."""
        dropped = getattr(self.source, "dropped", 0)
        if dropped != self._dropped:
            self.reference.skip_input((dropped - self._dropped) * CHUNK_SAMPLES)
            self._dropped = dropped

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
            heard = pcm_to_float(chunk)
            self._count_dropped_input()
            played, newest = self.reference.take(heard)
            if self.reference.generation != self._alignment:  # a filter for the old delay
                self._alignment = self.reference.generation
                self.canceller.reset()
                self.gate.forget_residual()
            cleaned = self.canceller.process(heard, played)
            mic = self.gate.process(cleaned, heard, self._gate_reference(louder(played, newest)),
                                    trust_residual=(self.reference.settled
                                                    and self.canceller.removing_echo))
            self.recognizer.set_companion_voice(self.player.voicing(LIVE_VOICE_WINDOW_S))
            for utterance in self.recognizer.accept(float_to_pcm(mic)):
                self.session.act_on(utterance.command,
                                    self.player.frames / self.player.sample_rate)
            self._tell_input_problem()

    def _tell_input_problem(self) -> None:
        """Name a too-noisy or clipping microphone once, when it starts; None when over."""
        problem = getattr(self.recognizer, "input_problem", None)
        if problem != self._problem:
            self._problem = problem
            self._on_problem(problem.value if problem is not None else None)
