"""Whether each safeword can be heard by a recogniser, and if not, why (for ``doctor``)."""

from __future__ import annotations

from collections.abc import Iterable

from companion.recognition.commands import normalize
from companion.recognition.lexicon import PronunciationSource


def safeword_report(recognizer: object, words: Iterable[str]) -> list[tuple[str, bool, str]]:
    """``(word, ok, reason)`` for each safeword: can ``recognizer`` hear it as stop?

    ``recognizer`` is a built :class:`~companion.recognition.pocketsphinx_engine.
    PocketsphinxRecognizer` or :class:`~companion.recognition.vosk_engine.VoskRecognizer`
    (or their engines). ``reason`` says where the pronunciation comes from when ``ok``
    (a guessed one is worth trying aloud), and what to do when not.
    """
    engine = getattr(recognizer, "_engine", recognizer)
    commands = getattr(recognizer, "commands", None) or getattr(engine, "_commands", None)
    out: list[tuple[str, bool, str]] = []
    for raw in words:
        word = normalize(raw)
        if not word:
            out.append((raw, False, "empty: a safeword must be one plain word"))
            continue
        if commands is not None and not commands.is_stop(word):
            out.append((word, False, "not in the recogniser's commands as a stop: "
                                     "add it to safewords and restart"))
            continue
        out.append((word, *_engine_verdict(engine, word)))
    return out


def _engine_verdict(engine: object, word: str) -> tuple[bool, str]:
    pronunciations = getattr(engine, "pronunciations", None)
    if pronunciations is not None:  # pocketsphinx
        found = [pronunciations.get(w) for w in word.split()]
        if any(p is None for p in found):
            return False, "pocketsphinx has no pronunciation for it"
        reasons = [p.describe() for p in found if p is not None]
        guessed = any(p is not None and p.source in (PronunciationSource.G2P,
                                                     PronunciationSource.SPELLING)
                      for p in found)
        reason = "pocketsphinx: " + "; ".join(reasons)
        if guessed:
            reason += " (say it to `companion listen` once to check it is heard)"
        return True, reason
    model = getattr(engine, "model", None)
    if model is not None and hasattr(model, "vosk_model_find_word"):  # Vosk
        lacking = [w for w in word.split() if model.vosk_model_find_word(w) < 0]
        if lacking:
            return False, ("the Vosk model's vocabulary lacks it (Vosk cannot add words): "
                           "pick a word the model knows, or use --engine pocketsphinx")
        return True, "in the Vosk model's vocabulary"
    return False, f"cannot tell for {type(engine).__name__}"
