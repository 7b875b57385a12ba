"""Speech synthesis: a Synthesizer protocol and its pyttsx3 implementation.

pyttsx3's ``say()`` blocks on ``aplay`` and cannot be stopped here (FIELD-NOTES), so our
pyttsx3 drivers (speech/drivers) render to PCM in memory and we play it ourselves. Each
voice names its engine (espeak-ng, hibari, Piper); every sentence is brought to the
voice's loudness (BS.1770) and to the player's rate, 22.05 kHz.
"""

from __future__ import annotations

import atexit
import functools
import logging
import queue
import threading
import unicodedata
import weakref
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from companion.audio.resample import resample
from companion.audio.sounds import apply_edge_fades
from companion.errors import ModelError
from companion.speech.drivers.base import hand_back_large_blocks, release_freed_memory
from companion.speech.loudness import normalise
from companion.speech.voices import Voice

log = logging.getLogger(__name__)

SPEECH_RATE = 22050
"""The rate every engine's PCM is brought to (the player's output rate)."""
NOTHING_TO_SAY_SECONDS = 0.1
"""What text with no letters or digits (emoji only, say) sounds like: a short pause."""
EXIT_WAIT_S = 10.0
"""At most this long, at exit, for the synthesis thread to finish its job in hand."""
CACHE_BYTES = 24 * 2**20
"""Rendered speech kept for reuse: 24 MiB, about 4.7 minutes of speech at 22.05 kHz (every
sentence of the longest shipped routine; ``play --minutes`` renders a routine's sentences to
time them, then plays them from here). It was 256 sentences, unbounded in bytes: a long
session's cache grew towards 80 MB (a calm sentence is ~0.3 MB)."""
_DROP = {"So", "Sk", "Cs", "Co", "Cn", "Cf"}
"""Unicode categories no engine can say (emoji, symbols, joiners)."""


class Synthesizer(Protocol):
    """Turns text into float32 mono PCM at ``sample_rate`` (at the voice's loudness, peaks
    under -1 dBFS, edges faded)."""

    sample_rate: int

    def synthesize(self, text: str, voice: Voice, rate_factor: float = 1.0) -> np.ndarray:
        """Speak ``text`` with ``voice``; ``rate_factor`` scales its words per minute."""
        ...

    def prefetch(self, text: str, voice: Voice, rate_factor: float = 1.0) -> Future[np.ndarray]:
        """Start synthesising in the background; the result lands in the cache."""
        ...


@dataclass(frozen=True)
class _Request:
    """One job for the synthesis thread."""

    text: str
    """What to say."""
    voice: Voice
    """How to say it."""
    rate: int
    """Words per minute."""
    future: Future[np.ndarray]
    """Where the PCM goes."""


def default_voice() -> Voice | None:
    """The voice the settings and voice files make the default (None if they cannot load)."""
    from companion.config import load_settings, shipped_dir
    from companion.errors import CompanionError
    from companion.speech.voices import VoiceLibrary

    try:
        settings = load_settings()
        voices = VoiceLibrary.load([shipped_dir("voices"), settings.user_voices_dir])
        return voices.get(settings.voice) if settings.voice else voices.default()
    except (CompanionError, OSError) as exc:
        log.debug("no default voice to warm: %s", exc)
        return None


def speakable(text: str) -> str:
    """``text`` without what no engine can say (emoji, symbols, control characters)."""
    kept = [" " if unicodedata.category(c) == "Cc" else c for c in text
            if unicodedata.category(c) not in _DROP]
    return " ".join("".join(kept).split())


def trim_silence(pcm: np.ndarray, sample_rate: int, threshold: float = 0.003,
                 keep_seconds: float = 0.01) -> np.ndarray:
    """Drop leading and trailing near-silence, keeping a few ms at each end."""
    loud = np.flatnonzero(np.abs(pcm) > threshold)
    if loud.size == 0:
        return pcm[:0]
    keep = int(keep_seconds * sample_rate)
    return pcm[max(0, loud[0] - keep): min(len(pcm), loud[-1] + keep + 1)]


def _close_at_exit(ref: weakref.ref[Pyttsx3Synthesizer]) -> None:
    """Close a synthesizer still alive at exit, waiting up to EXIT_WAIT_S for its thread."""
    synth = ref()
    if synth is not None:
        synth.close(EXIT_WAIT_S)


class Pyttsx3Synthesizer:
    """Every voice's engine through pyttsx3 on one dedicated thread, with an LRU cache of
    rendered sentences bounded in bytes, not entries (a sentence is ~90 KB a second)."""

    sample_rate = SPEECH_RATE

    def __init__(self, cache_bytes: int = CACHE_BYTES, warm: bool = True) -> None:
        """``cache_bytes``: the most rendered audio kept (0: none), the least recently used
        dropped first. ``warm``: load the default voice's engine in the background right
        away (a neural engine takes ~2.5 s to load, which would otherwise delay the first
        sentence)."""
        hand_back_large_blocks()  # freed audio buffers go back to the system
        self._cache: OrderedDict[tuple[str, Voice, int], np.ndarray] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cached = 0
        """Bytes of audio in the cache now."""
        self._pending: dict[tuple[str, Voice, int], Future[np.ndarray]] = {}
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        ready: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, args=(ready, warm), name="tts",
                                        daemon=True)
        self._thread.start()
        # At exit, let the thread finish what it is doing first: a process that ended while
        # it was inside onnxruntime (loading the voice) hung in onnxruntime's exit handler.
        atexit.register(_close_at_exit, weakref.ref(self))
        ready.result()

    def synthesize(self, text: str, voice: Voice, rate_factor: float = 1.0) -> np.ndarray:
        """Speak ``text`` with ``voice``; blocks until the PCM is ready."""
        return self.prefetch(text, voice, rate_factor).result()

    def prefetch(self, text: str, voice: Voice, rate_factor: float = 1.0) -> Future[np.ndarray]:
        """Queue ``text`` for synthesis unless it is cached or already queued."""
        rate = max(60, min(400, int(round(voice.rate * rate_factor))))
        key = (text, voice, rate)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                done: Future[np.ndarray] = Future()
                done.set_result(self._cache[key])
                return done
            if key in self._pending:
                return self._pending[key]
            future: Future[np.ndarray] = Future()
            self._pending[key] = future
        future.add_done_callback(functools.partial(self._store, key))
        self._jobs.put(_Request(text, voice, rate, future))
        return future

    @property
    def cached_bytes(self) -> int:
        """Bytes of rendered speech in the cache now (at most ``cache_bytes``)."""
        return self._cached

    def warm(self, voice: Voice) -> None:
        """Load ``voice``'s engine on the synthesis thread now, in the background (a neural
        engine takes 1-2.5 s), by rendering a word nobody hears; a sentence asked for
        meanwhile waits for it, as it would for the engine loading on first use."""
        self._jobs.put(_Request("Hello.", voice, voice.rate, Future()))

    def close(self, timeout: float = 2.0) -> None:
        """Stop the synthesis thread (after the job in hand; again: nothing happens)."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join(timeout=timeout)

    def _store(self, key: tuple[str, Voice, int], future: Future[np.ndarray]) -> None:
        with self._lock:
            self._pending.pop(key, None)
            if future.exception() is None and key not in self._cache:
                pcm = future.result()
                self._cache[key] = pcm
                self._cached += pcm.nbytes
                while self._cached > self._cache_bytes:
                    self._cached -= self._cache.popitem(last=False)[1].nbytes

    def _run(self, ready: Future[None], warm: bool) -> None:
        """The synthesis thread: owns the pyttsx3 engines (they are not thread-safe)."""
        from companion.speech.engines import EngineSet

        engines = EngineSet()
        try:
            engines.speak("ready", Voice(name="check"), 200)
        except ModelError as exc:
            ready.set_exception(exc)
            return
        ready.set_result(None)
        voice = default_voice() if warm else None
        if voice is not None:
            try:
                self._speak(engines, _Request("Hello.", voice, voice.rate, Future()))
            except ModelError as exc:
                log.debug("warming %s failed: %s", voice.name, exc)
        while (job := self._jobs.get()) is not None:
            if not job.future.set_running_or_notify_cancel():
                continue
            try:
                job.future.set_result(self._speak(engines, job))
            except Exception as exc:  # noqa: BLE001 - handed to the waiting caller
                job.future.set_exception(exc)

    def _speak(self, engines: object, job: _Request) -> np.ndarray:
        """One sentence: render (retry once if it came back silent), level, resample."""
        from companion.speech.engines import EngineSet

        assert isinstance(engines, EngineSet)
        text = speakable(job.text)
        if not any(c.isalnum() for c in text):
            log.debug("nothing to say in %r", job.text)
            return np.zeros(int(NOTHING_TO_SAY_SECONDS * self.sample_rate), dtype=np.float32)
        pcm = np.zeros(0, dtype=np.float32)
        for attempt in range(2):
            raw, rate = engines.speak(text, job.voice, job.rate)
            pcm = trim_silence(np.asarray(raw, dtype=np.float32), rate)
            if pcm.size:
                break
            log.warning("speech came back silent (attempt %d); trying again", attempt + 1)
        if not pcm.size:
            raise ModelError(f"the {job.voice.engine} engine produced no audio for "
                             f"{job.text[:40]!r}: check `companion voices try {job.voice.name}`")
        if rate != self.sample_rate:
            pcm = resample(pcm, rate, self.sample_rate).astype(np.float32)
        pcm = apply_edge_fades(normalise(pcm, self.sample_rate, job.voice.loudness),
                               self.sample_rate, seconds=0.03)
        del raw
        release_freed_memory()
        return pcm
