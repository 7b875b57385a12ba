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
short phrases fit somewhere in almost any speech. And the phrase must stand ``apart_db``
above the talk just around it: the "stop" in one's own "stop by the shop tomorrow" does not.

Measured (``python -m benchmarks.hearing_stops --splits test --recognisers no-spotter
default``: every stop phrase and safeword in each of 6 held-out voices, 36 per room, each
followed by another command, noise under the whole stream), stops heard without -> with
the spotter: pink 12 dB 30 -> 32, brown 12 31 -> 35, talk 12 7 -> 16, pink 6 23 -> 27,
brown 6 27 -> 32, talk 6 0 -> 4; false stops in 3.4 min of talk with pink noise 2 -> 2;
stops heard on the other commands (a late stop, or a false one) talk 12 1 -> 3, talk 6
0 -> 5, brown 6 1 -> 2. Settings chosen on the dev split alone: of the 64 dev stops the
engine missed, 36 heard and no utterance without a stop taken for one.
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
    threshold: float = -1.5
    """Least score of a stop phrase of ``min_phones`` phonemes or more."""
    short_threshold: float = -0.8
    """Least score of a shorter stop phrase or safeword."""
    min_phones: int = 4
    margin: float = 1.0
    """How far a rival command about as long may score above the stop phrase."""
    apart_db: float = 5.0
    """How much louder the stop phrase must be than the talk just before and after it
    (``around_s``): a stop said over other people's talk stands out from it; the "stop"
    of one's own "stop by the shop tomorrow" does not."""
    around_s: float = 0.5


@dataclass(frozen=True)
class Spotted:
    """The spotter's finding for one utterance."""

    phrase: str
    """The best stop phrase (or safeword)."""
    score: float
    rival: str
    """The best other command about as long ("" when none)."""
    rival_score: float
    apart_db: float
    """How much louder the phrase's placement is than the talk around it (see
    :func:`_apart`)."""


class StopSpotter:
    """Scores the stop phrases and safewords (and their rivals) in each utterance."""

    def __init__(self, verifier: PhraseVerifier, commands: CommandSet,
                 settings: SpotterSettings = SpotterSettings()) -> None:
        self.settings = settings
        self._verifier = verifier
        stops = set(commands.stop_sentences())
        phrases = verifier.phrases
        self._phrases = phrases
        self._index = {p: i for i, p in enumerate(phrases)}
        self._is_stop = np.array([p in stops for p in phrases])
        self._n_phones = verifier.phone_counts()
        self._stops = [(p, verifier.phones(p)) for p in phrases if p in stops]
        missing = stops - set(phrases)
        if missing:
            _LOGGER.warning("stop spotter cannot score %s (no pronunciation)", sorted(missing))

    def spot(self, pcm: bytes) -> list[Spotted]:
        """Each stop phrase's best placement in ``pcm``, with its best rival (best first;
        empty: too short)."""
        if not self._stops:
            return []
        llr = self._verifier.llr(pcm)
        if llr.shape[0] < 2:
            return []
        scores = self._verifier.phrase_scores(llr)
        seconds = (len(pcm) / 2 / SAMPLE_RATE + 2 * PAD_S) / llr.shape[0]
        out = []
        for phrase, seq in self._stops:
            score, first, last = _place(llr, seq, self._verifier.blank)
            longish = self._n_phones >= len(seq) - 1
            rival_scores = np.where(~self._is_stop & longish, scores, -np.inf)
            rival = int(np.argmax(rival_scores))
            has_rival = bool(np.isfinite(rival_scores[rival]))
            apart = _apart(pcm, first * seconds - PAD_S, (last + 1) * seconds - PAD_S,
                           self.settings.around_s)
            out.append(Spotted(phrase, score, self._phrases[rival] if has_rival else "",
                               float(rival_scores[rival]) if has_rival else -np.inf, apart))
        return sorted(out, key=lambda f: -f.score)

    def takes(self, found: Spotted) -> bool:
        """Whether ``found`` is a stop (see :class:`SpotterSettings`)."""
        s = self.settings
        short = len(self._verifier.phones(found.phrase)) < s.min_phones
        least = s.short_threshold if short else s.threshold
        return (found.score >= least and found.score >= found.rival_score - s.margin
                and found.apart_db >= s.apart_db)

    def heard_stop(self, pcm: bytes, instead_of: str = "") -> str | None:
        """The stop phrase heard in ``pcm``, if the spotter takes one. ``instead_of``: the
        command the engine heard there, which a stop replaces only when hama scores the stop
        phrase at least as well ("slow down" said over other talk was taken for "that's
        enough", which no phrase as long outscored)."""
        if not self.settings.enabled:
            return None
        found = self.spot(pcm)
        if not found:
            return None
        engine_score = self._score_of(instead_of, pcm)
        taken = next((f for f in found if self.takes(f) and f.score >= engine_score), None)
        shown = taken or found[0]
        _LOGGER.debug("stop spotter %r %.2f (rival %r %.2f) %.1f dB apart: %s",
                      shown.phrase, shown.score, shown.rival, shown.rival_score,
                      shown.apart_db, "stop" if taken else "no")
        return taken.phrase if taken is not None else None


    def _score_of(self, phrase: str, pcm: bytes) -> float:
        """hama's score of ``phrase`` in ``pcm`` (-inf: no phrase, or one hama does not
        score)."""
        if phrase not in self._index:
            return -np.inf
        scores = self._verifier.phrase_scores(self._verifier.llr(pcm))
        return float(scores[self._index[phrase]])


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


MIN_AFTER_FRAMES = 5
"""Fewest frames after the phrase for it to count as said whole (an utterance the spotter
scores ends with 0.35 s of silence unless it was cut off)."""


def _apart(pcm: bytes, start_s: float, end_s: float, around_s: float) -> float:
    """How much louder (dB, loudest tenth of frames) ``pcm`` is from ``start_s`` to
    ``end_s`` than in the louder of the ``around_s`` before and after it (inf: nothing
    around it; -inf: cut off right after it)."""
    audio = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    n = audio.size // FRAME
    if n == 0:
        return float("inf")
    frames = audio[:n * FRAME].reshape(n, FRAME)
    db = 10 * np.log10(np.mean(frames**2, axis=1) + 1.0)
    a = max(0, min(n, int(start_s / FRAME_S)))
    b = max(a, min(n, int(np.ceil(end_s / FRAME_S))))
    k = max(1, round(around_s / FRAME_S))
    inside, before, after = db[a:b], db[max(0, a - k):a], db[b:b + k]
    if inside.size == 0 or after.size < MIN_AFTER_FRAMES:
        return -float("inf")
    sides = [float(np.percentile(x, 90)) for x in (before, after) if x.size >= MIN_AFTER_FRAMES]
    if not sides:
        return float("inf")
    return float(np.percentile(inside, 90)) - max(sides)
