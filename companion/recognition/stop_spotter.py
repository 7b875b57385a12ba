"""Stop and the safewords, spotted on their own: hama's phoneme posteriors, closed set.

pocketsphinx decides a whole utterance as one command or garbage. A "stop" said into other
talk (a television, people in the room) or cut into one long utterance by the endpointer
then went to the garbage path or became another command. So every utterance the engine did
not take as a stop is also scored here against the stop phrases and safewords alone: each
phrase's best placement anywhere in the utterance (speech before and after it costs
nothing, so a stop over other talk is found wherever it is), as a mean log-likelihood ratio
per phoneme against hama's unconstrained best path (0: hama heard exactly that phrase).

A stop is taken when a stop phrase scores at least ``threshold`` and no other command
about as long fits that same place clearly better (``margin``; rivals are scored within
``rival_around_s`` of the phrase, not anywhere in seconds of talk): "softer" is not a
"stop". A phrase of fewer than ``min_phones`` phonemes ("red") needs ``short_threshold``:
short phrases fit somewhere in almost any speech. And the phrase must stand ``apart_db``
above the talk just around it: the "stop" in one's own "stop by the shop tomorrow" does not
(``quiet_apart_db`` when what is around it is only the room's steady noise). Of each
phrase's ``candidates`` best placements the best that stands apart counts: in others' talk
the best fit was often in their talk, the real stop just under it.
:mod:`~companion.recognition.stop_watch` runs the same rules on the rolling audio.

Measured (``python -m benchmarks.hearing_stops --splits test``: every stop phrase and
safeword in each of 6 held-out voices, 36 per room, each followed by another command,
noise under the whole stream), stops heard before (main at cd7f652) -> with these rules,
the stop watch off -> with the stop watch on, as it first was -> on, waiting to see that
the speaker stopped (the default): clean 35 -> 35 -> 35 -> 35, pink 12 dB 32 -> 34 -> 34 ->
34, brown 12 35 -> 35 -> 35 -> 35, talk 12 18 -> 17 -> 24 -> 22, pink 6 29 -> 30 -> 32 -> 32,
brown 6 33 -> 35 -> 36 -> 36, talk 6 6 -> 9 -> 16 -> 12; false stops in 3.4 min of talk
with pink noise 1 in each (17.5/h); stops heard on the other commands (late or false)
talk 12 2 -> 5 -> 3 -> 3, talk 6 4 -> 5 -> 6 -> 4, pink 6 0 -> 2 -> 3 -> 3, brown 6 1 -> 3 ->
1 -> 0. Talk rooms moved by a few stops between runs of the same code (the benchmark's
speech was resampled by sox with random dither; it now runs repeatable). Settings chosen on
the dev split alone (24 stops per room; the watch's wait, dev: talk 12 20 -> 22, talk 6
12 -> 14, pink 12 22 -> 23, false stops in the talk stream 1 -> 0).

A stop taken here starts and ends where it is placed, not where its utterance does: an
utterance that the tail of an earlier stop opened ("stop please", then noise or talk
keeping it open) began inside the half second after that stop, so a second stop or a
command said a second later in it was ignored as that tail. Dev split, commands right:
pink 12 dB 89 -> 93%, talk 20 81 -> 85, talk 12 48 -> 52; test split talk 12 37 -> 44,
every other room unchanged (dev pink 12 and talk 12: 5 -> 6 of 6 stops). In the stops
stream (``hearing_stops``) stops heard are unchanged but test talk 6 13 -> 14 of 36, and
dev talk 6 and test talk 12 each take one more other command for a stop (said just after
a stop; the old rule ignored it by chance, as its utterance began in the half second).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from companion.recognition.commands import CommandSet
from companion.recognition.phoneme_match import matched_phones, placements_of
from companion.recognition.phrase_spotter import frame_levels, placements
from companion.recognition.phrase_verifier import PAD_S, PhraseVerifier
from companion.recognition.utterance import FRAME, FRAME_S, SAMPLE_RATE

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpotterSettings:
    """When the spotter takes a stop (scores: mean log-likelihood ratio per phoneme)."""

    enabled: bool = True
    rolling: bool = True
    """Also listen on the rolling audio at each pause, not only when an utterance ends
    (:mod:`companion.recognition.stop_watch`)."""
    threshold: float = -1.5
    """Least score of a stop phrase of ``min_phones`` phonemes or more."""
    short_threshold: float = -0.8
    """Least score of a shorter stop phrase or safeword."""
    min_phones: int = 4
    margin: float = 0.5
    """How far a rival command about as long may score above the stop phrase."""
    apart_db: float = 5.0
    """How much louder the stop phrase must be than the talk just before and after it
    (``around_s``): a stop said over other people's talk stands out from it; the "stop"
    of one's own "stop by the shop tomorrow" does not."""
    around_s: float = 0.5
    quiet_apart_db: float = 2.0
    """...or this much, when what is around it is no louder than the room's noise
    (``quiet_around_db`` over the audio's quietest tenth): in steady noise at 6 dB a
    clearly heard "red" stood only 2.5 dB above the noise around it."""
    quiet_around_db: float = 9.0
    """(Steady pink and brown noise: the loudest tenth of 20 ms frames is 6 and 9 dB over
    the quietest.)"""
    rival_around_s: float = 0.2
    """Rivals are placed within this much of the stop phrase's placement."""
    candidates: int = 3
    """Placements of each phrase tried, best first, for one that stands apart."""
    begun_phones: int = 2
    """A command this many phonemes longer than a stop phrase, placed from where the stop
    is, is what the speaker said, the stop its first word, when it scores ``begun_floor``
    or more, no more than ``margin`` below the stop phrase, and its rest is no more than
    ``begun_db`` quieter than the stop phrase (:meth:`StopSpotter.begun_command`; on the
    rolling audio any command, at an utterance's end the one the engine heard)."""
    begun_floor: float = -1.0
    """(Others' talk at 6 dB under a "stop it" fitted "continue" from there at -0.86, and
    the speaker's own "start breathing" -0.83.)"""
    begun_db: float = 7.0
    """(Dev split: "breathing" was 6.2 dB under the "start" of "start breathing" in pink
    noise; that "continue" 8.2 dB under the "stop it".)"""


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
    around_db: float = 0.0
    """How much louder the talk around it is than the audio's quietest tenth."""
    start_s: float = 0.0
    end_s: float = 0.0
    """Where the phrase is placed in the audio scored (seconds from its start)."""
    matched: int = -1
    """Its phonemes that hama's own best path holds there (:func:`matched_phones`; counted
    only for the debug log, -1 otherwise: as a rule it cost real stops said over others'
    talk, whose best path there is theirs as much as the speaker's: dev split, "that's
    enough" at -1.32 held 1 of 8)."""
    phones: int = 0

    def shifted(self, seconds: float) -> Spotted:
        """The same finding placed ``seconds`` later (earlier when negative): counted from
        another point of the audio."""
        return replace(self, start_s=self.start_s + seconds, end_s=self.end_s + seconds)


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
        self._found: list[Spotted] = []
        """What :meth:`spotted` last found."""
        missing = stops - set(phrases)
        if missing:
            _LOGGER.warning("stop spotter cannot score %s (no pronunciation)", sorted(missing))

    def spot(self, pcm: bytes, cut_off: bool = True, rolling: bool = False) -> list[Spotted]:
        """Each stop phrase's best placement in ``pcm``, with its best rival (best first;
        empty: too short). ``cut_off``: ``pcm`` may end mid-speech (no pause is assumed
        after a phrase that ends with it); ``rolling``: ``pcm`` is a stretch of the rolling
        audio, not an utterance the endpointer framed in the room's quiet, so what is
        around a phrase may be other people's talk however steady it is (the looser
        ``quiet_apart_db`` does not apply).

        Of each phrase's few best placements, the best that stands apart from the talk
        around it is reported (in other people's talk the best fitting one was often in
        their talk, the real stop a little under it), and rivals are scored at that
        placement alone (a short command fits somewhere in seconds of talk)."""
        if not self._stops:
            return []
        llr = self._verifier.llr(pcm)
        if llr.shape[0] < 2:
            return []
        seconds = (len(pcm) / 2 / SAMPLE_RATE + 2 * PAD_S) / llr.shape[0]
        logged = _LOGGER.isEnabledFor(logging.DEBUG)
        out = []
        for phrase, seq in self._stops:
            least = self._least(phrase)
            # A short phrase placed into the pause at the end needs the whole pause after
            # it (talk stream: "great" ended as "red", 4 frames before the audio's end).
            ends_open = cut_off or (len(seq) < self.settings.min_phones and not rolling)
            after = MIN_AFTER_FRAMES if ends_open else (ROLLING_AFTER_FRAMES if rolling else 0)
            chosen: tuple[float, int, int, float, float] | None = None
            for score, first, last in placements_of(llr, seq, self._verifier.blank,
                                                  self.settings.candidates):
                apart, around = _apart(pcm, first * seconds - PAD_S,
                                       (last + 1) * seconds - PAD_S, self.settings.around_s,
                                       after)
                stands = self._stands(apart, around, rolling)
                if chosen is None or stands:
                    chosen = (score, first, last, apart, around)
                if score < least or stands:
                    break
            if chosen is None:
                continue
            score, first, last, apart, around = chosen
            rival, rival_score = "", -np.inf
            if score >= least and self._stands(apart, around, rolling):  # else no matter
                rival, rival_score = self._rival(llr, seq, first, last, seconds)
            matched = (matched_phones(llr, seq, self._verifier.blank, first, last)
                       if logged else -1)  # for the debug line alone
            out.append(Spotted(phrase, score, rival, rival_score, apart, around,
                               first * seconds - PAD_S, (last + 1) * seconds - PAD_S,
                               matched, len(seq)))
        return sorted(out, key=lambda f: -f.score)

    def _stands(self, apart: float, around: float, rolling: bool = False) -> bool:
        """Whether a placement stands out from what is around it (see
        :class:`SpotterSettings`)."""
        s = self.settings
        return apart >= s.apart_db or (not rolling and apart >= s.quiet_apart_db
                                       and around <= s.quiet_around_db)

    def _least(self, phrase: str) -> float:
        """The least score ``phrase`` needs (shorter phrases need more)."""
        s = self.settings
        short = len(self._verifier.phones(phrase)) < s.min_phones
        return s.short_threshold if short else s.threshold

    def _rival(self, llr: np.ndarray, seq: tuple[frozenset[int], ...], first: int,
               last: int, seconds: float) -> tuple[str, float]:
        """The best other command about as long as ``seq`` placed within ``rival_around_s`` of
        frames ``first``..``last`` ("", -inf: none)."""
        k = round(self.settings.rival_around_s / seconds)
        scores = self._verifier.phrase_scores(llr[max(0, first - k):last + k + 1])
        longish = self._n_phones >= len(seq) - 1
        rival_scores = np.where(~self._is_stop & longish, scores, -np.inf)
        best = int(np.argmax(rival_scores))
        if not np.isfinite(rival_scores[best]):
            return "", -np.inf
        return self._phrases[best], float(rival_scores[best])

    def holds(self, command: str, found: Spotted) -> bool:
        """Whether ``command`` is long enough to have begun with the stop phrase ``found``
        (``begun_phones`` phonemes more)."""
        return len(self._verifier.phones(command)) >= found.phones + self.settings.begun_phones

    def begun_command(self, pcm: bytes, found: Spotted, only: str = "") -> str | None:
        """A longer command, not a stop, that starts where ``found`` is placed in ``pcm``
        (within ``rival_around_s``; placement in seconds from ``pcm``'s start), fits about
        as well (``margin``, ``begun_floor``) and goes on about as loud as the stop phrase
        (``begun_db``: the speaker's own voice, not the others' quieter talk): the speaker
        went on, and the stop phrase was that command's first word ("stop" placed on the
        "start" of "start breathing"). ``only``: that command alone is tried. None: none
        is."""
        s = self.settings
        llr = self._verifier.llr(pcm)
        if llr.shape[0] < 2:
            return None
        seconds = (len(pcm) / 2 / SAMPLE_RATE + 2 * PAD_S) / llr.shape[0]
        k = round(s.rival_around_s / seconds)
        first = max(0, round((found.start_s + PAD_S) / seconds) - k)
        mean, begins, lasts = placements(self._verifier.compiled, llr[first:])
        ok = (~self._is_stop & (self._n_phones >= found.phones + s.begun_phones)
              & (begins <= 2 * k) & (mean >= found.score - s.margin) & (mean >= s.begun_floor))
        if only:
            ok &= np.arange(ok.size) == self._index.get(only, -1)
        levels = frame_levels(pcm)
        own = _loudest(levels, found.start_s, found.end_s)
        for i in np.argsort(-np.where(ok, mean, -np.inf))[:int(ok.sum())]:
            rest = _loudest(levels, found.end_s, (first + lasts[i] + 1) * seconds - PAD_S)
            if rest >= own - s.begun_db:
                return self._phrases[int(i)]
        return None

    def takes(self, found: Spotted, rolling: bool = False) -> bool:
        """Whether ``found`` is a stop (see :class:`SpotterSettings`)."""
        s = self.settings
        return (found.score >= self._least(found.phrase)
                and found.score >= found.rival_score - s.margin
                and self._stands(found.apart_db, found.around_db, rolling))

    def heard_stop(self, pcm: bytes, instead_of: str = "", cut_off: bool = True,
                   lead: bytes = b"") -> Spotted | None:
        """The stop phrase heard in ``pcm`` and where (seconds from ``pcm``'s start), if the
        spotter takes one. ``instead_of``: the command the engine heard there, which a stop
        replaces only when hama scores the stop phrase at least as well ("slow down" said
        over other talk was taken for "that's enough", which no phrase as long outscored).
        ``cut_off``: see :meth:`spot`. ``lead``: the audio just before ``pcm``, scored with
        it when no stop is taken and a stop phrase is placed at ``pcm``'s very start (in
        loud noise the endpointer opened the utterance at "please" of "stop please")."""
        found = self.spotted(pcm, instead_of, cut_off)
        if found is None and lead and any(f.start_s < self.LEAD_S for f in self._found):
            found = self.spotted(lead + pcm, instead_of, cut_off)
            if found is not None:
                found = found.shifted(-len(lead) / (2 * SAMPLE_RATE))
        return found

    LEAD_S = 0.15
    """A placement starting this soon after the audio's start may have lost its start."""

    def spotted(self, pcm: bytes, instead_of: str = "", cut_off: bool = True,
                rolling: bool = False) -> Spotted | None:
        """The stop the spotter takes in ``pcm`` (see :meth:`heard_stop` and :meth:`spot`),
        or None."""
        if not self.settings.enabled:
            return None
        found = self._found = self.spot(pcm, cut_off, rolling)
        if not found:
            return None
        engine_score = self._score_of(instead_of, pcm)
        taken = next((f for f in found if self.takes(f, rolling) and f.score >= engine_score),
                     None)
        if taken is not None and instead_of in self._index:
            begun = self.begun_command(pcm, taken, only=instead_of)
            if begun is not None:
                _LOGGER.debug("stop spotter: %r is the start of %r", taken.phrase, begun)
                taken = None
        shown = taken or found[0]
        _LOGGER.debug("stop spotter %r %.2f (rival %r %.2f) %.1f dB apart, matched %d/%d: %s",
                      shown.phrase, shown.score, shown.rival, shown.rival_score,
                      shown.apart_db, shown.matched, shown.phones, "stop" if taken else "no")
        return taken

    def _score_of(self, phrase: str, pcm: bytes) -> float:
        """hama's score of ``phrase`` in ``pcm`` (-inf: no phrase, or one hama does not
        score)."""
        if phrase not in self._index:
            return -np.inf
        scores = self._verifier.phrase_scores(self._verifier.llr(pcm))
        return float(scores[self._index[phrase]])


MIN_AFTER_FRAMES = 5
"""Fewest frames after the phrase for it to count as said whole (an utterance the spotter
scores ends with 0.35 s of silence unless it was cut off)."""
ROLLING_AFTER_FRAMES = 2
"""On the rolling audio (which ends in a pause) a phrase must still end 2 frames before
it does: "stop it" placed up to the end of "stop by the shop" was taken."""


def _apart(pcm: bytes, start_s: float, end_s: float, around_s: float,
           min_after: int = MIN_AFTER_FRAMES) -> tuple[float, float]:
    """How much louder (dB, loudest tenth of frames) ``pcm`` is from ``start_s`` to
    ``end_s`` than in the louder of the ``around_s`` before and after it (inf: nothing
    around it; -inf: fewer than ``min_after`` frames after it, as when cut off right after
    it; else a phrase placed into a closing pause is judged on what came before it); how much
    louder that is than ``pcm``'s quietest tenth of frames (-inf: nothing around it)."""
    audio = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    n = audio.size // FRAME
    if n == 0:
        return float("inf"), -float("inf")
    frames = audio[:n * FRAME].reshape(n, FRAME)
    db = 10 * np.log10(np.mean(frames**2, axis=1) + 1.0)
    a = max(0, min(n, int(start_s / FRAME_S)))
    b = max(a, min(n, int(np.ceil(end_s / FRAME_S))))
    k = max(1, round(around_s / FRAME_S))
    inside, before, after = db[a:b], db[max(0, a - k):a], db[b:b + k]
    if inside.size == 0 or after.size < min_after:
        return -float("inf"), -float("inf")
    sides = [float(np.percentile(x, 90)) for x in (before, after) if x.size >= MIN_AFTER_FRAMES]
    if not sides:
        return float("inf"), -float("inf")
    return (float(np.percentile(inside, 90)) - max(sides),
            max(sides) - float(np.percentile(db, 10)))


def _loudest(levels: np.ndarray, start_s: float, end_s: float) -> float:
    """The loudest tenth (dB) of 20 ms frame ``levels`` from ``start_s`` to ``end_s``
    (-inf: none there)."""
    part = levels[max(0, int(start_s / FRAME_S)):max(0, int(np.ceil(end_s / FRAME_S)))]
    return float(np.percentile(part, 90)) if part.size else -float("inf")
