"""Vosk behind the shared endpointer: finding and loading a model, grammar-mode decoding."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from companion.errors import ModelError
from companion.recognition.commands import CommandSet
from companion.recognition.endpointing import EndpointerSettings
from companion.recognition.frontend import FrontendSettings
from companion.recognition.overlap import CompanionVoice, listened_for
from companion.recognition.streaming import StreamingRecognizer
from companion.recognition.utterance import SAMPLE_RATE

_LOGGER = logging.getLogger(__name__)

VOSK_MODEL_DIRS = ("~/.cache/vosk", "/usr/share/vosk", "/usr/local/share/vosk",
               "~/.local/share/vosk")


def looks_like_vosk_model(path: Path) -> bool:
    """A folder with ``am/final.mdl`` or ``conf/model.conf``."""
    return (path / "am" / "final.mdl").is_file() or (path / "conf" / "model.conf").is_file()


def find_vosk_model(explicit: Path | None, configured: Path | None) -> Path | None:
    """The first Vosk model: explicit, configured, $VOSK_MODEL_PATH, then usual folders.

    An explicit path is returned even when it does not look like a model, so that
    loading it reports what is wrong with it.
    """
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get("VOSK_MODEL_PATH")
    for candidate in (configured, Path(env) if env else None):
        if candidate is not None and looks_like_vosk_model(Path(candidate).expanduser()):
            return Path(candidate).expanduser()
    for folder in VOSK_MODEL_DIRS:
        base = Path(folder).expanduser()
        if looks_like_vosk_model(base):
            return base
        if base.is_dir():
            for sub in sorted(p for p in base.iterdir() if p.is_dir()):
                if looks_like_vosk_model(sub):
                    return sub
    return None


_IVECTOR_FILES = ("final.dubm", "final.ie", "final.mat", "global_cmvn.stats",
                  "online_cmvn.conf", "splice.conf")


def missing_model_files(path: Path) -> list[str]:
    """Files a Vosk model folder needs but lacks (Kaldi would abort or load it half)."""
    need = ["am/final.mdl", "conf/mfcc.conf", "conf/model.conf"]
    graph = path / "graph"
    if (graph / "HCLG.fst").is_file():
        need += ["graph/words.txt"]
    else:
        need += ["graph/HCLr.fst", "graph/Gr.fst", "graph/disambig_tid.int"]
    need.append("graph/phones/word_boundary.int")
    if (path / "ivector").is_dir():
        need += [f"ivector/{name}" for name in _IVECTOR_FILES]
    return [name for name in need if not (path / name).is_file()]


def _load_vosk_model(path: Path):
    import vosk

    vosk.SetLogLevel(-1)
    if not path.is_dir():
        raise ModelError(f"{path}: no Vosk model there; unpack a model from "
                         "https://alphacephei.com/vosk/models into that folder or pass --model DIR")
    if not looks_like_vosk_model(path):
        raise ModelError(f"{path}: not a Vosk model (no am/final.mdl or conf/model.conf); "
                         "point --model at the unpacked model folder")
    missing = missing_model_files(path)
    if missing:
        raise ModelError(f"{path}: this Vosk model is incomplete ({', '.join(missing)} "
                         f"missing); unpack or install it again, or choose another with --model")
    try:
        return vosk.Model(model_path=str(path))
    except Exception as exc:
        raise ModelError(f"{path}: Vosk could not load this model ({exc}); "
                         "download it again or choose another with --model") from None


class _VoskEngine:
    """Grammar-mode KaldiRecognizers fed by the shared endpointer, one for each
    :class:`CompanionVoice` (Vosk decodes as it is fed, so each hears every utterance and
    ``finish`` asks the one that applies)."""

    def __init__(self, commands: CommandSet, model_path: Path, strict: bool) -> None:
        import vosk

        self.model = _load_vosk_model(model_path)
        sentences = self._checked_sentences(commands, model_path, strict)
        has_unk = self.model.vosk_model_find_word("[unk]") >= 0
        if not has_unk:
            _LOGGER.info("vosk model %s has no [unk]: no out-of-grammar rejection", model_path)
        by_grammar: dict[str, vosk.KaldiRecognizer] = {}
        self._recs: dict[CompanionVoice, vosk.KaldiRecognizer] = {}
        for voice in CompanionVoice:
            heard = listened_for(commands, voice)
            some = [s for s in sentences if heard.parse(s) is not None]
            grammar = json.dumps(some + (["[unk]"] if has_unk else []), ensure_ascii=False)
            if grammar not in by_grammar:
                by_grammar[grammar] = vosk.KaldiRecognizer(self.model, SAMPLE_RATE, grammar)
                by_grammar[grammar].SetWords(True)
            self._recs[voice] = by_grammar[grammar]
        self._distinct = list(by_grammar.values())
        self._all = self._recs[CompanionVoice.QUIET]
        self._rec = self._all
        """The recogniser ``settled`` and ``finish`` ask."""

    def _checked_sentences(self, commands: CommandSet, path: Path, strict: bool) -> list[str]:
        words = commands.words()
        missing = {w: o for w, o in words.items() if self.model.vosk_model_find_word(w) < 0}
        names = ", ".join(f"{w!r} ({o})" for w, o in missing.items())
        msg = f"{path}: the Vosk model lacks these command words: {names}"
        if missing and strict:
            raise ModelError(msg + "; use a model with these words or rephrase them")
        sentences = [s for s in commands.sentences() if not set(s.split()) & missing.keys()]
        if not any(commands.is_stop(s) for s in sentences):
            raise ModelError((msg + "; so " if missing else f"{path}: ")
                             + "no stop phrase can be said with this model: add stop phrases "
                             "in its language to a user commands file")
        if missing:
            _LOGGER.warning("%s; phrases with them are left out", msg)
        return sentences

    def begin(self) -> None:
        for rec in self._distinct:
            # Finished first: a recogniser left unfinished after its own endpoint fired
            # carried its words into the next utterance, even across Reset().
            rec.FinalResult()
            rec.Reset()

    def feed(self, pcm: bytes) -> None:
        for rec in self._distinct:
            rec.AcceptWaveform(pcm)

    def partial(self) -> str:
        return str(json.loads(self._all.PartialResult()).get("partial", ""))

    def use_grammar(self, voice: CompanionVoice) -> None:
        self._rec = self._recs[voice]

    def settled(self, trailing_frames: int) -> str:
        """Vosk's running hypothesis is already good at a pause."""
        return str(json.loads(self._rec.PartialResult()).get("partial", ""))

    def finish(self, speech_frames: int, trailing_frames: int,
               lead_frames: int) -> tuple[str, float] | None:
        """The final result (Vosk decodes as it is fed: ``lead_frames`` cannot be unfed)."""
        result = json.loads(self._rec.FinalResult())
        text = str(result.get("text", ""))
        if not text or "[unk]" in text:
            return None
        confs = [float(w.get("conf", 1.0)) for w in result.get("result", [])]
        return text, round(sum(confs) / len(confs), 3) if confs else 1.0


class VoskRecognizer(StreamingRecognizer):
    """Vosk in grammar mode, loaded only from a model folder."""

    def __init__(self, commands: CommandSet, model_path: Path, strict: bool = False,
                 endpointer: EndpointerSettings = EndpointerSettings(),
                 frontend: FrontendSettings | None = None) -> None:
        super().__init__(commands, _VoskEngine(commands, Path(model_path), strict), endpointer,
                         frontend)
