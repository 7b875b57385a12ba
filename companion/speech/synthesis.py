"""Speech synthesis: a Synthesizer protocol and a pyttsx3 (espeak-ng) implementation.

pyttsx3's ``say()`` blocks on ``aplay`` and cannot be stopped here (FIELD-NOTES), so we
only ever synthesise to PCM and play it ourselves. pyttsx3 writes that PCM to a file;
the file lives in a private 0700 directory and is deleted as soon as it is read.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
import wave
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from companion.audio.sounds import apply_edge_fades
from companion.errors import ModelError
from companion.speech.voices import Voice

log = logging.getLogger(__name__)

SPEECH_RATE = 22050
"""espeak-ng's native sample rate."""
_EMBEDDED = "\x01"
"""espeak-ng's embedded-command marker: ``\x01150S`` sets 150 wpm, ``\x0140P`` pitch 40."""


class Synthesizer(Protocol):
    """Turns text into float32 mono PCM at ``sample_rate`` (peak 1.0, edges faded)."""

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


def private_runtime_dir() -> Path:
    """A fresh 0700 directory under XDG_RUNTIME_DIR (or the temp dir)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    parent = base if base and os.path.isdir(base) and os.access(base, os.W_OK) else None
    path = Path(tempfile.mkdtemp(prefix="quiet-companion-", dir=parent))
    path.chmod(0o700)
    return path


def trim_silence(pcm: np.ndarray, sample_rate: int, threshold: float = 0.003,
                 keep_seconds: float = 0.01) -> np.ndarray:
    """Drop leading and trailing near-silence, keeping a few ms at each end."""
    loud = np.flatnonzero(np.abs(pcm) > threshold)
    if loud.size == 0:
        return pcm[:0]
    keep = int(keep_seconds * sample_rate)
    return pcm[max(0, loud[0] - keep): min(len(pcm), loud[-1] + keep + 1)]


class Pyttsx3Synthesizer:
    """espeak-ng through pyttsx3 on one dedicated thread, with an in-memory LRU cache."""

    sample_rate = SPEECH_RATE

    def __init__(self, cache_size: int = 256) -> None:
        self._cache: OrderedDict[tuple[str, str, int, int], np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._pending: dict[tuple[str, str, int, int], Future[np.ndarray]] = {}
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._dir = private_runtime_dir()
        ready: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="tts", daemon=True)
        self._thread.start()
        ready.result()

    def synthesize(self, text: str, voice: Voice, rate_factor: float = 1.0) -> np.ndarray:
        """Speak ``text`` with ``voice``; blocks until the PCM is ready."""
        return self.prefetch(text, voice, rate_factor).result()

    def prefetch(self, text: str, voice: Voice, rate_factor: float = 1.0) -> Future[np.ndarray]:
        """Queue ``text`` for synthesis unless it is cached or already queued."""
        rate = max(60, min(400, int(round(voice.rate * rate_factor))))
        key = (text, voice.espeak_voice, voice.pitch, rate)
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

    def close(self) -> None:
        """Stop the synthesis thread and remove the private directory."""
        self._jobs.put(None)
        self._thread.join(timeout=2)
        shutil.rmtree(self._dir, ignore_errors=True)

    def _store(self, key: tuple[str, str, int, int], future: Future[np.ndarray]) -> None:
        with self._lock:
            self._pending.pop(key, None)
            if future.exception() is None:
                self._cache[key] = future.result()
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)

    def _run(self, ready: Future[None]) -> None:
        """The synthesis thread: owns the pyttsx3 engine (it is not thread-safe)."""
        try:
            import pyttsx3
            import pyttsx3.drivers.espeak as espeak_driver

            # It prints "Audio saved to <file>" on stdout; silence it for that module only
            # (redirect_stdout would swallow every other thread's output too).
            espeak_driver.print = lambda *args, **kwargs: None  # type: ignore[attr-defined]
            engine = pyttsx3.init("espeak")
        except Exception as exc:  # noqa: BLE001 - any failure here means no espeak-ng
            ready.set_exception(ModelError(
                f"cannot start espeak-ng speech ({exc}): install it with "
                "`sudo apt install espeak-ng`"))
            return
        ready.set_result(None)
        while (job := self._jobs.get()) is not None:
            if not job.future.set_running_or_notify_cancel():
                continue
            try:
                job.future.set_result(self._speak(engine, job))
            except Exception as exc:  # noqa: BLE001 - handed to the waiting caller
                job.future.set_exception(exc)

    def _speak(self, engine: object, job: _Request) -> np.ndarray:
        """Synthesise one request to a private file, read it, delete it at once."""
        espeak_id = _resolve_espeak_voice(job.voice.espeak_voice)
        if espeak_id is None:
            raise ModelError(
                f"espeak-ng has no voice '{job.voice.espeak_voice}' (voice profile "
                f"'{job.voice.name}'): pick another in voices/*.yaml, see `espeak-ng --voices`")
        engine.setProperty("voice", espeak_id)  # type: ignore[attr-defined]
        # pyttsx3's rate and pitch properties do not reach espeak-ng 1.51 in retrieval mode
        # (measured: no change in length); espeak-ng's embedded commands do.
        spoken = job.text.replace(_EMBEDDED, " ")
        text = f"{_EMBEDDED}{job.rate}S{_EMBEDDED}{job.voice.pitch}P{spoken}"
        path = self._dir / "utterance.wav"
        try:
            engine.save_to_file(text, str(path))  # type: ignore[attr-defined]
            engine.runAndWait()  # type: ignore[attr-defined]
            pcm = _read_complete_wav(path)
        finally:
            path.unlink(missing_ok=True)
        pcm = trim_silence(pcm, self.sample_rate)
        peak = float(np.max(np.abs(pcm))) if pcm.size else 0.0
        if peak > 0:
            pcm = pcm / peak
        return apply_edge_fades(pcm, self.sample_rate, seconds=0.03)


def _resolve_espeak_voice(name: str) -> str | None:
    """The name espeak-ng's SetVoiceByName accepts for ``name``, or None if none.

    ``espeak-ng -v`` also takes language codes (``en-gb+f3``); SetVoiceByName, which
    pyttsx3 uses, wants a voice file name (``gmw/en+f3``), and pyttsx3 queues property
    changes and hides their errors, so we check here. Only call this on the synthesis
    thread: it switches espeak-ng's current voice.
    """
    from pyttsx3.drivers import _espeak

    if _espeak.SetVoiceByName(name.encode("utf-8")) == 0:
        return name
    language, plus, variant = name.partition("+")
    for voice in _espeak.ListVoices(None):
        languages = voice.languages[1:].decode("utf-8", errors="ignore") if voice.languages else ""
        if languages.lower() == language.lower():
            candidate = voice.identifier.decode("utf-8") + plus + variant
            if _espeak.SetVoiceByName(candidate.encode("utf-8")) == 0:
                return candidate
    return None


def _read_complete_wav(path: Path, timeout: float = 2.0) -> np.ndarray:
    """Read pyttsx3's WAV, waiting briefly if it is not complete yet (FIELD-NOTES)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with wave.open(str(path), "rb") as w:
                frames = w.readframes(w.getnframes())
            return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
        except (FileNotFoundError, EOFError, wave.Error) as exc:
            if time.monotonic() > deadline:
                raise ModelError("espeak-ng produced no audio: "
                                 "check `espeak-ng \"hello\"` works") from exc
            time.sleep(0.005)
