"""pocketsphinx behind the shared endpointer: the command grammar decoder.

Rejection (garbage path, coverage) is in :mod:`companion.recognition.pocketsphinx_rejection`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from companion.errors import ModelError
from companion.recognition.commands import CommandSet, Intent
from companion.recognition.dictionary import PronouncingDictionary as Dictionary
from companion.recognition.dictionary import decoder_for_words, model_dictionary
from companion.recognition.endpointing import EndpointerSettings
from companion.recognition.frontend import FrontendSettings
from companion.recognition.lexicon import (
    Pronunciation,
    PronunciationSource,
    guess_pronunciation,
    pronounce_parts,
)
from companion.recognition.overlap import CompanionVoice, listened_for
from companion.recognition.phrase_spotter import PhraseSpotter, Spotted
from companion.recognition.phrase_verifier import PhraseVerifier
from companion.recognition.pocketsphinx_rejection import (
    GARBAGE_WORDS,
    RejectionSettings,
    coverage,
    min_coverage,
    with_garbage_path,
    word_span,
)
from companion.recognition.pocketsphinx_variants import add_british_variants, add_variant
from companion.recognition.stop_spotter import SpotterSettings, StopSpotter
from companion.recognition.streaming import StreamingRecognizer
from companion.recognition.utterance import FRAME, FRAME_S

_LOGGER = logging.getLogger(__name__)

_CMNINIT = "47,2,-2.2,11,-3.2,-2.2,-3.6,-7.6,-1,-3.6,1.5,-4.4,0.1"
"""Live CMN start values (typical speech): the model's default (40,3,-1) mangles the first
utterance after start-up; CMN keeps adapting from here."""
_MIN_CMN_FRAMES = 10
"""Fewest 20 ms frames an utterance's cepstral mean is taken from."""

class _PsDecoder:
    """The grammar decoder: commands plus a garbage path, then a coverage check.

    There is a grammar for each :class:`CompanionVoice` (the commands listened for then),
    each with the garbage path and without it (``-only``).
    """

    def __init__(self, commands: CommandSet, rejection: RejectionSettings) -> None:
        self.rejection = rejection
        self._commands = commands
        with model_dictionary() as dictionary:  # the decoder loads only the words it needs
            # bestpath off: with it, a final result may end on a non-final grammar state
            # ("play after care for"); measured 91% → 94% on clean commands without it.
            self.decoder = decoder_for_words(dictionary, [*commands.words(), *GARBAGE_WORDS],
                                             lm=None, loglevel="FATAL", cmninit=_CMNINIT,
                                             bestpath=False)
            self._add_words(commands, dictionary)
        try:
            self._load_grammar(commands)
        except Exception as exc:  # noqa: BLE001 - any failure is the grammar's
            raise ModelError(f"pocketsphinx rejected the command grammar: {exc}") from None
        self._audio: list[bytes] = []
        self._heard_speech = False
        """Whether an utterance has been finished (the cepstral mean then carries on)."""
        self._streaming = False
        self.heard_s = 0.0
        """How long the utterance being finished was heard (seconds, before any cut)."""
        self.span: tuple[float, float] | None = None
        """Where the last finished utterance's words are (seconds from its first audio)."""
        self._grammar = CompanionVoice.QUIET.value
        """The search ``settled`` and ``finish`` use (its ``-only`` twin: no garbage)."""
        self._verifier = self._make_verifier(commands)
        self._spotter = (PhraseSpotter(self._verifier, self._key, rejection.spot,
                                       commands.is_stop)
                         if self._verifier is not None and rejection.spot.enabled else None)

    def _make_verifier(self, commands: CommandSet) -> PhraseVerifier | None:
        """hama's verifier over every phrase (minutes: a few numbers stand for all)."""
        if not self.rejection.verifier.enabled:
            return None
        phrases = [p for p in commands.sentences(minutes=("five",))  # all: 50,000 strings
                   if "minute" not in p or p.endswith((" for five minutes", " for a minute"))]
        try:
            return PhraseVerifier(phrases, self.decoder.lookup_word, self.rejection.verifier)
        except Exception as exc:  # noqa: BLE001 - without hama: pocketsphinx alone
            _LOGGER.warning("hama verifier unavailable (%s): pocketsphinx decides alone", exc)
            return None

    @property
    def verifier(self) -> PhraseVerifier | None:
        """hama's verifier (None: disabled or unavailable); the stop spotter shares it."""
        return self._verifier

    def _load_grammar(self, commands: CommandSet) -> None:
        self._listened = {voice.value: listened_for(commands, voice) for voice in CompanionVoice}
        """The commands each search holds (what is listened for in each case)."""
        for name, listened in self._listened.items():
            self._add_grammar(name, listened)
        self.decoder.activate_search(CompanionVoice.QUIET.value)

    def _in_grammar(self, phrase: str) -> bool:
        """Whether ``phrase`` is listened for now (while the companion talks, only what
        changes its voice is)."""
        return self._listened[self._grammar].parse(phrase) is not None

    def _add_grammar(self, name: str, commands: CommandSet) -> None:
        """Searches ``name`` (commands or garbage) and ``name-only`` (commands alone)."""
        import tempfile

        words = [w for w in GARBAGE_WORDS if self.decoder.lookup_word(w)]
        fsg = self.decoder.parse_jsgf(commands.jsgf())
        with tempfile.TemporaryDirectory(prefix="quiet-companion-") as folder:
            plain = Path(folder) / "commands.fsg"
            fsg.writefile(str(plain))
            full = Path(folder) / "with-garbage.fsg"
            full.write_text(with_garbage_path(plain.read_text(encoding="utf-8"), words,
                                              self.rejection.garbage_word_prob),
                            encoding="utf-8")
            grammar = self.decoder.read_fsg(str(full))
        self.decoder.add_fsg(name, grammar)
        self.decoder.add_fsg(f"{name}-only", fsg)

    def use_grammar(self, voice: CompanionVoice) -> None:
        self._grammar = voice.value

    def _add_words(self, commands: CommandSet, dictionary: Dictionary) -> None:
        lookup = dictionary.lookup  # the whole dictionary (the decoder holds only some)
        self.pronunciations: dict[str, Pronunciation] = {}
        """Every grammar word's phones and where they came from (see :func:`safeword_report
        <companion.recognition.safewords.safeword_report>`)."""
        missing: list[str] = []
        compounds: dict[str, list[str]] = {}
        safewords = {w for s in commands.safewords for w in s.split()}
        for word, origin in commands.words().items():
            found = lookup(word)
            if found:
                self.pronunciations[word] = Pronunciation(word, found,
                                                          PronunciationSource.DICTIONARY)
                continue
            parts = None if word in safewords else pronounce_parts(word, lookup)
            guess = (Pronunciation(word, " ".join(parts), PronunciationSource.COMPOUND,
                                   tuple(parts)) if parts
                     else guess_pronunciation(word, lookup))
            if guess is None:
                missing.append(f"{word!r} ({origin})")
                continue
            self.pronunciations[word] = guess
            compounds[word] = list(guess.parts) or [guess.phones]
            _LOGGER.info("pocketsphinx: %r is not in the dictionary, using %s (%s)", word,
                         guess.phones, guess.source.value)
            self.decoder.add_word(word, guess.phones, True)
            for variant in guess.variants:
                add_variant(self.decoder, word, variant)
        add_british_variants(self.decoder, commands, compounds)
        if missing:
            raise ModelError("words missing from the pocketsphinx dictionary "
                             f"{dictionary.path}: " + ", ".join(missing)
                             + "; rephrase them or add them to a user commands file")

    def begin(self) -> None:
        self._end_stream()
        self.decoder.activate_search(CompanionVoice.QUIET.value)  # running: every command
        self.decoder.start_utt()
        self._streaming = True
        self._audio = []

    def feed(self, pcm: bytes) -> None:
        self._audio.append(pcm)
        if self._streaming:
            self.decoder.process_raw(pcm, False, False)

    def partial(self) -> str:
        """The running hypothesis (cheap; good enough to spot a short stop)."""
        hyp = self.decoder.hyp() if self._streaming else None
        return hyp.hypstr if hyp is not None else ""

    def settled(self, trailing_frames: int) -> str:
        """What the utterance so far decodes to, decoded whole (asked once, at a pause).

        Decoding as we go with the running normalisation often gives garbage words for
        commands that decode fine whole ("play breathing" → "feel any really"), so
        early decisions for longer commands need this.
        """
        self._end_stream()
        self._decode_whole(self._grammar, trailing_frames)
        hyp = self.decoder.hyp()
        return hyp.hypstr if hyp is not None else ""

    def _end_stream(self) -> None:
        if self._streaming:
            self.decoder.end_utt()
            self._streaming = False

    def finish(self, speech_frames: int, trailing_frames: int,
               lead_frames: int) -> tuple[str, float] | None:
        self._end_stream()
        heard_s = self.heard_s = len(self._audio) * FRAME_S
        self._audio = self._audio[lead_frames:]
        speech = speech_frames * FRAME_S
        self._decode_whole(self._grammar, trailing_frames)
        text = self._accepted(speech)
        if text is not None and not self._verified(text):
            text = None
        if text is None or self._commands.parse(text) is None:
            rescued = self._rescue(speech, trailing_frames)
            text = rescued or text
        lead_s = lead_frames * FRAME_S
        self.span = word_span(self.decoder.seg() or (), lead_s)
        if (text is None or self._commands.parse(text) is None) and self._spotter is not None:
            if (spotted := self._spot(heard_s)) is not None:
                text, self.span = spotted.phrase, (lead_s + spotted.start_s, lead_s + spotted.end_s)
        self._heard_speech = True
        if text is None:
            return None
        return text, 1.0

    def spot_in(self, pcm: bytes) -> Spotted | None:
        """A command said over other talk in ``pcm`` (int16, 16 kHz; a stretch the stream
        heard, across utterance boundaries), found as in :meth:`_spot` (None: none, or no
        spotter). Call between utterances."""
        if self._spotter is None:
            return None
        return self._spotter.find(pcm, len(pcm) / (2 * 16000), self._decode_part,
                                  self._in_grammar)

    def _decode_whole(self, search: str, trailing_frames: int) -> None:
        """Decode the buffered utterance in one go with ``search``; the last
        ``trailing_frames`` 20 ms frames are the silence after its speech.

        Normalised over the whole utterance (not the running estimate used while
        streaming). Measured: without this pass, 3 chatter clips became commands.
        Finishing decodes again even when ``settled`` just decoded the same audio: the
        decoder's state differs on the second pass, and caching the first result cost 3
        of 120 clean commands.
        """
        audio = b"".join(self._audio)
        self.decoder.activate_search(search)
        if not self._heard_speech:
            self._learn_mean(audio, trailing_frames)
        self.decoder.start_utt()
        self.decoder.process_raw(audio, False, True)
        self.decoder.end_utt()

    def _learn_mean(self, audio: bytes, trailing_frames: int) -> None:
        """Set the cepstral mean to this utterance's speech (a pass without search).

        Done for the first utterance only: until then the decoder has nothing but a preset
        mean, and the first command after start-up failed in noise. Measured on held-out
        voices at 12 dB, each clip the first a decoder heard: 35 of 60 commands and 11 of
        15 stops with the preset, 52 and 14 with the utterance's own mean. Later utterances
        carry the mean on from the one before, as live CMN does: a fresh mean for every
        utterance gained nothing there (the benchmark, which runs its clips back to back,
        heard 1 clean command of 141 fewer). The silence after the speech is left out of
        the mean (with it: 5 fewer of the 60).
        """
        speech = audio[:len(audio) - 2 * FRAME * trailing_frames]
        if len(speech) < 2 * FRAME * _MIN_CMN_FRAMES:
            speech = audio
        self.decoder.start_utt()
        self.decoder.process_raw(speech, True, True)
        self.decoder.end_utt()

    def _accepted(self, speech_seconds: float, min_coverage: float | None = None) -> str | None:
        """The hypothesis of the search just run, if its words cover enough speech."""
        hyp = self.decoder.hyp()
        if hyp is None or not hyp.hypstr:
            return None
        coverage = self._coverage(speech_seconds)
        if min_coverage is None:
            min_coverage = self._min_coverage(hyp.hypstr)
        ok = coverage >= min_coverage
        _LOGGER.debug("pocketsphinx %r coverage=%.2f %s", hyp.hypstr, coverage,
                      "accepted" if ok else "rejected")
        return hyp.hypstr if ok else None

    def _min_coverage(self, text: str) -> float:
        """How much of the speech ``text`` must cover: less for stop, more for long phrases."""
        return min_coverage(self.rejection, self._commands.parse(text), text)

    def _verified(self, text: str, rescue: bool = False) -> bool:
        """Whether hama backs pocketsphinx's command ``text`` (always, without hama)."""
        command = self._commands.parse(text)
        if self._verifier is None or command is None:
            return True
        stop = command.intent is Intent.STOP
        verdict = self._verifier.verdict(b"".join(self._audio), command.text,
                                         rivals=rescue or not stop)
        if verdict is None:
            return not rescue
        safeword = stop and command.text in self._commands.safewords
        ok = self._verifier.agrees(verdict, stop, rescue, safeword)
        _LOGGER.debug("hama %r %.2f (best %r %.2f) matched %d/%d over %.2f of %.2f s%s: %s",
                      command.text, verdict.score, verdict.best, verdict.best_score,
                      verdict.matched, verdict.phones, len(self._audio) * FRAME_S, self.heard_s,
                      " rescue" if rescue else "", "agrees" if ok else "rejects")
        return ok

    def _rescue(self, speech_seconds: float, trailing_frames: int) -> str | None:
        """A short utterance the garbage path took: is it a command after all?

        Stop is the one command that must never be missed, and acting on a false one is
        safe. The same audio is decoded again with the commands alone (no garbage path);
        a stop phrase that covers the speech is taken. Measured: en-gb "that's enough"
        went to garbage ("off see off") and was heard by this pass. Any other command
        found so is taken only when hama's verifier agrees with it (stricter rule).
        """
        rejection = self.rejection
        hama = self._verifier is not None and rejection.verifier.rescue
        longest = max(rejection.stop_rescue_max_s, rejection.rescue_max_s if hama else 0.0)
        if not rejection.stop_rescue_min_s <= speech_seconds <= longest:
            return None
        self._decode_whole(f"{self._grammar}-only", trailing_frames)
        text = self._accepted(speech_seconds, self.rejection.stop_rescue_min_coverage)
        if text is not None and self._commands.is_stop(text):
            if speech_seconds <= rejection.stop_rescue_max_s and self._stop_backed(text):
                _LOGGER.debug("pocketsphinx: stop rescued from the garbage path")
                return text
            return None
        text = text or self._accepted(speech_seconds)
        if text is None or self._commands.parse(text) is None:
            return None
        if (hama and self._verified(text, rescue=True)) or self._hama_names(text):
            _LOGGER.debug("pocketsphinx: %r rescued from the garbage path (hama agrees)", text)
            return text
        return None

    def _hama_names(self, text: str) -> bool:
        """Whether hama's best phrase for the utterance says the same command as ``text``
        (what the commands-only pass heard), and fits well: both recognisers name it."""
        floor = self.rejection.verifier.agree_floor
        if self._verifier is None or floor is None:
            return False
        verdict = self._verifier.verdict(b"".join(self._audio), text)
        ok = (verdict is not None and verdict.best_score >= floor
              and self._key(verdict.best) == self._key(text))
        _LOGGER.debug("hama's best %r names %r too: %s", verdict and verdict.best, text, ok)
        return ok

    def _key(self, text: str) -> object:
        """Which command ``text`` says, minutes aside (phrases of one key never compete)."""
        command = self._commands.parse(text)
        return None if command is None else (command.intent, command.slots.get("routine"))

    def _spot(self, heard_s: float) -> Spotted | None:
        """A command said inside other talk that the garbage path took (see
        :meth:`PhraseSpotter.find`), checked by decoding its part with the commands alone."""
        assert self._spotter is not None
        return self._spotter.find(b"".join(self._audio), heard_s, self._decode_part,
                                  self._in_grammar)

    def _decode_part(self, pcm: bytes) -> str | None:
        """What the commands-only search makes of ``pcm`` (a part of the utterance)."""
        whole, self._audio = self._audio, [pcm]
        try:
            self._decode_whole(f"{self._grammar}-only", 0)
        finally:
            self._audio = whole
        hyp = self.decoder.hyp()
        return hyp.hypstr if hyp is not None and hyp.hypstr else None

    def _stop_backed(self, text: str) -> bool:
        """Whether hama backs a stop the garbage path took (stricter than the floor for a
        stop pocketsphinx took itself: babble came out of the commands-only pass as
        "stop it", which hama scored -2.2)."""
        command = self._commands.parse(text)
        if self._verifier is None or command is None:
            return True
        verdict = self._verifier.verdict(b"".join(self._audio), command.text, rivals=False)
        ok = verdict is None or verdict.score >= self.rejection.verifier.stop_rescue_floor
        _LOGGER.debug("hama %r %s (rescued stop)", command.text, "agrees" if ok else "rejects")
        return ok

    def _coverage(self, speech_seconds: float) -> float:
        """Seconds of the hypothesis's words over seconds of speech heard."""
        return coverage(self.decoder.seg() or (), speech_seconds, FRAME_S)


class PocketsphinxRecognizer(StreamingRecognizer):
    """pocketsphinx with the wheel's en-us model, the command grammar and a garbage path."""

    def __init__(self, commands: CommandSet,
                 endpointer: EndpointerSettings = EndpointerSettings(),
                 rejection: RejectionSettings = RejectionSettings(),
                 frontend: FrontendSettings | None = None,
                 spotter: SpotterSettings = SpotterSettings()) -> None:
        engine = _PsDecoder(commands, rejection)
        verifier = engine.verifier
        spots = (StopSpotter(verifier, commands, spotter)
                 if verifier is not None and spotter.enabled else None)
        super().__init__(commands, engine, endpointer, frontend, spots)
