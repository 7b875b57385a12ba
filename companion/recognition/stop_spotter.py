"""Stop and the safewords, spotted on their own: hama's phoneme posteriors, closed set.

pocketsphinx decides a whole utterance as one command or garbage. A "stop" said into other
talk (a television, people in the room) or cut into one long utterance by the endpointer
then went to the garbage path or became another command. So every utterance the engine did
not take as a stop is also scored here against the stop phrases and safewords alone: each
phrase's best placement anywhere in the utterance (speech before and after it costs
nothing, so a stop over other talk is found wherever it is), as a mean log-likelihood ratio
per phoneme against hama's unconstrained best path (0: hama heard exactly that phrase).

A stop is taken when the best stop phrase scores at least ``threshold`` and no other
command about as long fits the utterance clearly better (``margin``): "softer" is not a
"stop". A phrase of fewer than ``min_phones`` phonemes ("red") needs ``short_threshold``:
short phrases fit somewhere in almost any speech.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from companion.recognition.commands import CommandSet
from companion.recognition.phrase_verifier import PAD_S, PhraseVerifier
from companion.recognition.utterance import FRAME, FRAME_S, SAMPLE_RATE

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpotterSettings:
    """When the spotter takes a stop (scores: mean log-likelihood ratio per phoneme)."""

    enabled: bool = True
    threshold: float = -1.1
    """Least score of a stop phrase of ``min_phones`` phonemes or more."""
    short_threshold: float = -0.3
    """Least score of a shorter stop phrase or safeword."""
    min_phones: int = 4
    margin: float = 1.0
    """How far a rival command about as long may score above the stop phrase."""
    pause_db: float = 1.0
    """How much quieter the 0.3 s after the stop phrase must be than the phrase: a person
    pauses after "stop" (others' talk goes on under it), not after the "stop" of "stop by
    the shop tomorrow"."""


@dataclass(frozen=True)
class Spotted:
    """The spotter's finding for one utterance."""

    phrase: str
    """The best stop phrase (or safeword)."""
    score: float
    rival: str
    """The best other command about as long ("" when none)."""
    rival_score: float
    above_after_db: float
    """How much louder the phrase's placement is than the 0.3 s after it (-inf: the
    utterance was cut off right after it)."""


class StopSpotter:
    """Scores the stop phrases and safewords (and their rivals) in each utterance."""

    def __init__(self, verifier: PhraseVerifier, commands: CommandSet,
                 settings: SpotterSettings = SpotterSettings()) -> None:
        self.settings = settings
        self._verifier = verifier
        stops = set(commands.stop_sentences())
        phrases = verifier.phrases
        self._phrases = phrases
        self._is_stop = np.array([p in stops for p in phrases])
        self._n_phones = verifier.phone_counts()
        self._stops = [(p, verifier.phones(p)) for p in phrases if p in stops]
        missing = stops - set(phrases)
        if missing:
            _LOGGER.warning("stop spotter cannot score %s (no pronunciation)", sorted(missing))

    def spot(self, pcm: bytes) -> Spotted | None:
        """hama's best stop phrase in ``pcm`` and its best rival (None: too short)."""
        if not self._stops:
            return None
        llr = self._verifier.posteriors(pcm)
        if llr.shape[0] < 2:
            return None
        placed = [(_place(llr, seq, self._verifier.blank), phrase)
                  for phrase, seq in self._stops]
        (score, first, last), phrase = max(placed, key=lambda x: x[0][0])
        n = len(self._verifier.phones(phrase))
        scores = self._verifier.phrase_scores(llr)
        rival_scores = np.where(~self._is_stop & (self._n_phones >= n - 1), scores, -np.inf)
        rival = int(np.argmax(rival_scores))
        has_rival = bool(np.isfinite(rival_scores[rival]))
        seconds = (len(pcm) / 2 / SAMPLE_RATE + 2 * PAD_S) / llr.shape[0]
        above = _above_after(pcm, first * seconds - PAD_S, (last + 1) * seconds - PAD_S)
        return Spotted(phrase, score, self._phrases[rival] if has_rival else "",
                       float(rival_scores[rival]) if has_rival else -np.inf, above)

    def takes(self, found: Spotted) -> bool:
        """Whether ``found`` is a stop (see :class:`SpotterSettings`)."""
        s = self.settings
        short = len(self._verifier.phones(found.phrase)) < s.min_phones
        least = s.short_threshold if short else s.threshold
        return (found.score >= least and found.score >= found.rival_score - s.margin
                and found.above_after_db >= s.pause_db)

    def heard_stop(self, pcm: bytes) -> str | None:
        """The stop phrase heard in ``pcm``, if the spotter takes one."""
        if not self.settings.enabled:
            return None
        found = self.spot(pcm)
        if found is None:
            return None
        ok = self.takes(found)
        _LOGGER.debug("stop spotter %r %.2f (rival %r %.2f) %.1f dB above the rest: %s",
                      found.phrase, found.score, found.rival, found.rival_score,
                      found.above_after_db, "stop" if ok else "no")
        return found.phrase if ok else None


def _place(llr: np.ndarray, seq: tuple[frozenset[int], ...],
           blank: int) -> tuple[float, int, int]:
    """(score per phoneme, first frame, last frame) of ``seq``'s best placement in ``llr``:
    a CTC Viterbi that may start and end anywhere, keeping where each path started."""
    states = [frozenset((blank,))]
    for ph in seq:
        states += [ph, frozenset((blank,))]
    n = len(states)
    emit = np.stack([llr[:, sorted(st)].max(axis=1) for st in states], axis=1)
    skip = np.array([i % 2 == 1 and i >= 3 and states[i] != states[i - 2] for i in range(n)])
    alpha = np.full(n, -np.inf)
    born = np.zeros(n, dtype=int)
    best, first, last = -np.inf, 0, 0
    for t in range(emit.shape[0]):
        cand = np.full((3, n), -np.inf)
        cand[0] = alpha
        cand[0, :2] = np.maximum(alpha[:2], 0.0)  # a fresh start costs nothing
        cand[1, 1:] = alpha[:-1]
        cand[2, 2:] = np.where(skip[2:], alpha[:-2], -np.inf)
        origin = np.stack([born, np.roll(born, 1), np.roll(born, 2)])
        fresh = alpha[:2] <= 0.0  # on a tie, the later start (not the silence before)
        origin[0, :2] = np.where(fresh, t, born[:2])
        pick = np.argmax(cand, axis=0)
        alpha = cand[pick, np.arange(n)] + emit[t]
        born = origin[pick, np.arange(n)]
        end = int(np.argmax(alpha[-2:])) + n - 2
        if alpha[end] > best:
            best, first, last = float(alpha[end]), int(born[end]), t
    return best / max(1, len(seq)), first, last


PAUSE_FRAMES = 15
"""The 0.3 s after a stop phrase that :func:`_above_after` compares it with."""
MIN_AFTER_FRAMES = 5
"""Fewest frames after the phrase for a pause to be seen (an utterance the spotter scores
ends with 0.35 s of silence unless it was cut off)."""


def _above_after(pcm: bytes, start_s: float, end_s: float) -> float:
    """How much louder (dB, loud frames) ``pcm`` is from ``start_s`` to ``end_s`` than in
    the :data:`PAUSE_FRAMES` after it (-inf when the utterance ends there: no pause seen)."""
    audio = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    n = audio.size // FRAME
    if n == 0:
        return float("inf")
    frames = audio[:n * FRAME].reshape(n, FRAME)
    db = 10 * np.log10(np.mean(frames**2, axis=1) + 1.0)
    a = max(0, min(n, int(start_s / FRAME_S)))
    b = max(a, min(n, int(np.ceil(end_s / FRAME_S))))
    inside, rest = db[a:b], db[b:b + PAUSE_FRAMES]
    if inside.size == 0:
        return -float("inf")
    if rest.size < MIN_AFTER_FRAMES:  # cut off mid-speech (a length cap, the end of input)
        return -float("inf")
    return float(np.percentile(inside, 80) - np.percentile(rest, 80))
