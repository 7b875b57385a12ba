"""The shipped routines: they load, and they follow CONTENT-GUIDE.md where a rule can be checked.

Rules checked here (each one fails on a real mistake a listener would notice):
- "stop" is explained within the first three spoken lines;
- the last step is a plain say that says it is the end ("end"), i.e. a soft close;
- no held breath over 7 s; each breathe step is announced by the say before it;
- `any:` pools have 10 or more sentences, and each pick is followed by 3-6 s of pause;
- an open question said aloud (a say ending in "?") is followed by 10 s or more of silence;
- asks always have a silence branch, and no question is asked twice in a row;
- check-ins are 2 minutes apart or more, and each quiet-with-check-ins is long enough to have one;
- every routine has quiet that `--minutes` can stretch;
- aliases are plain CMUdict words, unique, and never a command word or command phrase;
- command words are never spoken except when teaching them ("say stop");
- no gendered words, no telling people how they feel, no clinical words;
- sentences are short; punctuation is plain ASCII (espeak-ng reads curly quotes oddly).
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml

from companion.config import COMMAND_WORDS, shipped_dir
from companion.routines.library import RoutineLibrary
from companion.routines.model import (
    Ask,
    Breathe,
    Pause,
    Quiet,
    Repeat,
    Routine,
    Say,
    Step,
    walk,
)
from companion.routines.schema import routine_schema, schema_path
from companion.routines.timing import estimate_seconds
from companion.speech.voices import VoiceLibrary

CMUDICT = Path(__import__("pocketsphinx").__file__).parent / "model/en-us/cmudict-en-us.dict"
COMMANDS_FILE = (Path(__file__).resolve().parent.parent / "companion" / "recognition"
                 / "commands_en.yaml")
EXPECTED = {"aftercare", "wind-down", "quiet-presence", "affirmations", "breathing",
            "check-in", "after-a-hard-talk", "grounding"}
COMMAND_PHRASES = {"hold on", "go on", "slow down", "speed up", "speak up", "that's enough",
                   "good night", "not now", "say that again", "repeat that", "stop it"}
"""Multi-word commands the companion must never say by accident."""
CLOSING = re.compile(r"\bend\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def library() -> RoutineLibrary:
    voices = VoiceLibrary.load([shipped_dir("voices")])
    return RoutineLibrary.load([shipped_dir("routines")], voice_names=voices.names())


@pytest.fixture(scope="module")
def routines(library: RoutineLibrary) -> list[Routine]:
    return library.routines()


def spoken(steps: tuple[Step, ...]) -> Iterator[str]:
    """Every sentence the companion might say, nested ones and check-ins too."""
    for step in walk(steps):
        if isinstance(step, Say):
            yield from step.texts
        elif isinstance(step, Ask):
            yield step.question
        elif isinstance(step, Quiet):
            yield from step.check_in_phrases


def step_lists(steps: tuple[Step, ...]) -> Iterator[tuple[Step, ...]]:
    """Every list of consecutive steps: the top level, ask branches, repeat bodies."""
    yield steps
    for step in walk(steps):
        if isinstance(step, Ask):
            yield from (step.yes, step.no, step.silence)
        elif isinstance(step, Repeat):
            yield step.steps


def say_seconds(text: str) -> float:
    return len(text.split()) / (135 / 60) + 0.6


def test_all_shipped_routines_load_with_no_errors(library: RoutineLibrary) -> None:
    assert [str(e) for e in library.errors] == []
    assert EXPECTED <= set(library.names())


def test_shipped_files_match_the_published_schema() -> None:
    validator = jsonschema.Draft202012Validator(routine_schema())
    jsonschema.Draft202012Validator.check_schema(routine_schema())
    for path in sorted(shipped_dir("routines").glob("*.yaml")):
        data = yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # all scalars as text
        errors = [e.message for e in validator.iter_errors(_numbers(data))]
        assert errors == [], path.name


def test_schema_rejects_what_the_loader_rejects() -> None:
    validator = jsonschema.Draft202012Validator(routine_schema())
    assert not validator.is_valid({"name": "a", "steps": [{"sya": "hi"}]})
    assert not validator.is_valid({"name": "a", "steps": []})
    assert not validator.is_valid({"name": "a", "steps": [{"pause": -1}]})
    assert not validator.is_valid({"name": "a", "steps": [{"pause": "3 minutes"}]})
    assert validator.is_valid({"name": "a", "steps": [{"pause": "1m30s"}]})


def test_schema_path_writes_once_into_the_cache(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = schema_path()
    assert path == tmp_path / "quiet-companion" / "routine.schema.json"
    assert json.loads(path.read_text()) == routine_schema()
    os.utime(path, ns=(1, 1))
    assert schema_path() == path and path.stat().st_mtime_ns == 1  # unchanged: not rewritten
    path.write_text("{}")
    assert json.loads(schema_path().read_text()) == routine_schema()  # changed: rewritten


def _numbers(value: object) -> object:
    """BaseLoader keeps every scalar as text; turn numeric text back into numbers."""
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value) if "." in value else int(value)
    return value


def test_stop_is_explained_within_the_first_three_lines(routines: list[Routine]) -> None:
    for r in routines:
        first = [s.texts[0] for s in r.steps if isinstance(s, Say)][:3]
        assert any(re.search(r"\bsay stop\b", t, re.IGNORECASE) for t in first), r.name


def test_every_routine_ends_with_a_soft_spoken_close(routines: list[Routine]) -> None:
    for r in routines:
        last = r.steps[-1]
        assert isinstance(last, Say) and not last.pick_any, r.name
        assert CLOSING.search(last.texts[0]), f"{r.name}: last line must say it is the end"


def test_breathing_is_gentle_and_announced(routines: list[Routine]) -> None:
    for r in routines:
        for steps in step_lists(r.steps):
            for i, step in enumerate(steps):
                if not isinstance(step, Breathe):
                    continue
                assert step.hold <= 7 and step.hold_out <= 7, r.name
                before = [s for s in steps[:i] if not isinstance(s, Pause)]
                assert before and isinstance(before[-1], Say), r.name
                announced = " ".join(s.texts[0] for s in steps[:i] if isinstance(s, Say))
                assert re.search(r"breath", " ".join(announced.split(".")[-4:]), re.IGNORECASE), \
                    f"{r.name}: say what breathing comes before it starts"


def test_affirmation_pools_are_large_and_paced(routines: list[Routine]) -> None:
    pools = 0
    for r in routines:
        for steps in step_lists(r.steps):
            for i, step in enumerate(steps):
                if isinstance(step, Say) and step.pick_any:
                    pools += 1
                    assert len(set(step.texts)) >= 10, f"{r.name}: pool of {len(step.texts)}"
                    after = steps[i + 1] if i + 1 < len(steps) else None
                    assert isinstance(after, Pause) and 3 <= after.seconds <= 6, r.name
    assert pools >= 3


def test_open_questions_get_real_silence(routines: list[Routine]) -> None:
    prompts = 0
    for r in routines:
        for steps in step_lists(r.steps):
            for i, step in enumerate(steps):
                if isinstance(step, Say) and step.texts[0].rstrip().endswith("?"):
                    prompts += 1
                    after = steps[i + 1] if i + 1 < len(steps) else None
                    assert isinstance(after, (Pause, Quiet)) and after.seconds >= 10, \
                        f"{r.name}: leave 10-20 s after '{step.texts[0]}'"
    assert prompts >= 3


def test_questions_offer_choice(routines: list[Routine]) -> None:
    for r in routines:
        for steps in step_lists(r.steps):
            asks = [s for s in steps if isinstance(s, Ask)]
            for ask in asks:
                assert ask.silence, f"{r.name}: silence is an answer: '{ask.question}'"
                assert ask.timeout >= 8
            questions = [s.question for s in steps if isinstance(s, Ask)]
            assert all(a != b for a, b in itertools.pairwise(questions)), r.name


def test_check_ins_are_sparse(routines: list[Routine]) -> None:
    for r in routines:
        for q in walk(r.steps):
            if isinstance(q, Quiet) and q.check_in_every is not None:
                assert q.check_in_every >= 120, r.name
                assert q.seconds >= q.check_in_every + 60, \
                    f"{r.name}: no check-in may fall in the last minute, so none would happen"


def test_every_routine_has_quiet_to_stretch(library: RoutineLibrary) -> None:
    for r in library.routines():
        assert any(isinstance(s, Quiet) for s in r.steps), r.name


def test_lengths(library: RoutineLibrary) -> None:
    minutes = {r.name: estimate_seconds(r.steps, library.lookup, say_seconds) / 60
               for r in library.routines()}
    assert 12 <= minutes["aftercare"] <= 15
    assert all(2 <= m <= 20 for m in minutes.values()), minutes


def test_aftercare_offers_the_comforts_as_questions(library: RoutineLibrary) -> None:
    questions = " ".join(s.question.lower() for s in walk(library.get("aftercare").steps)
                         if isinstance(s, Ask))
    for thing in ("water", "towel", "blanket"):
        assert thing in questions
    texts = " ".join(spoken(library.get("aftercare").steps)).lower()
    assert "if something felt good, you could say it" in texts


def test_wind_down_grows_sparser(library: RoutineLibrary) -> None:
    r = library.get("wind-down")
    assert r.ambient.value == "brown-noise"
    assert {"wind down", "bedtime"} <= set(r.aliases)
    gaps = [s.seconds for s in r.steps if isinstance(s, (Pause, Quiet))]
    half = len(gaps) // 2
    assert max(gaps[:half]) < max(gaps[half:])
    quiets = [s.seconds for s in r.steps if isinstance(s, Quiet)]
    assert quiets == sorted(quiets) and len(quiets) >= 3
    assert not any(q.check_in_every for q in r.steps if isinstance(q, Quiet))


def test_quiet_presence_is_mostly_silence(library: RoutineLibrary) -> None:
    r = library.get("quiet-presence")
    total = estimate_seconds(r.steps, library.lookup, say_seconds)
    quiet = sum(s.seconds for s in r.steps if isinstance(s, Quiet))
    assert quiet / total > 0.85


def test_hard_talk_mentions_outside_support_once_and_gently(library: RoutineLibrary) -> None:
    texts = list(spoken(library.get("after-a-hard-talk").steps))
    mentions = [t for t in texts if "someone you trust" in t]
    assert len(mentions) == 1 and "can help" in mentions[0]


def _cmudict_words() -> set[str]:
    with open(CMUDICT, encoding="utf-8") as fh:
        return {line.split()[0] for line in fh if line.strip()}


def _command_phrases() -> set[str]:
    phrases = set(COMMAND_WORDS) | COMMAND_PHRASES
    if COMMANDS_FILE.exists():
        data = yaml.safe_load(COMMANDS_FILE.read_text())
        for templates in (data.get("intents") or {}).values():
            for t in templates if isinstance(templates, list) else []:
                if isinstance(t, str) and not re.search(r"[\[\](){}|]", t):
                    phrases.add(t.lower())
    return phrases


def test_aliases_are_speakable_unique_and_not_commands(routines: list[Routine]) -> None:
    words = _cmudict_words()
    commands = _command_phrases()
    owner: dict[str, str] = {}
    for r in routines:
        assert 2 <= len(r.aliases) <= 4, r.name
        for alias in r.aliases:
            assert re.fullmatch(r"[a-z]+( [a-z]+)*", alias), alias
            assert all(w in words for w in alias.split()), f"'{alias}' is not all in CMUdict"
            assert not set(alias.split()) & COMMAND_WORDS, f"'{alias}' holds a command word"
            assert alias not in commands
            assert owner.setdefault(alias, r.name) == r.name, f"'{alias}' is used twice"


def test_commands_are_only_spoken_when_teaching_them(routines: list[Routine]) -> None:
    phrases = sorted(_command_phrases(), key=len, reverse=True)
    for r in routines:
        for text in spoken(r.steps):
            lowered = text.lower()
            for phrase in phrases:
                for m in re.finditer(rf"\b{re.escape(phrase)}\b", lowered):
                    if phrase in ("yes", "no", "help"):
                        continue  # everyday words; they only act while a question waits
                    assert lowered[:m.start()].endswith("say "), f"{r.name}: '{text}'"


FEELINGS = "tells someone how they feel"
BANNED = [
    (r"\b(he|she|him|her|his|hers|boyfriend|girlfriend|husband|wife|man|woman)\b",
     "assumes a gender"),
    ((r"\byou(?: are|'re| will| must)? (?:feel|feeling|be)? ?(?:so |more |very |a little )?"
     r"(?:relaxed|calm|better|safe|good|sleepy|tired|happy|peaceful|loved|fine|light|heavy|"
     r"warm|lighter|heavier)\b"), FEELINGS),
    (r"\b(should|must|relax now)\b", "pushes"),
    (r"(?<!nothing )\byou need to\b", "pushes"),
    (r"(?<!don't )(?<!doesn't )\bhave to\b", "pushes"),
    (r"\b(therap\w*|trauma\w*|heal\w*|diagnos\w*|cure\w*|disorder|symptom\w*)\b",
     "sounds clinical"),
    (r"[\u2018\u2019\u201c\u201d\u2014\u2026]", "use plain ASCII punctuation"),
]


def test_words_follow_the_content_guide(routines: list[Routine]) -> None:
    for r in routines:
        for text in spoken(r.steps):
            for sentence in re.findall(r"[^.?!]+[.?!]*", text):
                for pattern, why in BANNED:
                    if why == FEELINGS and sentence.endswith("?"):
                        continue  # asking is fine; telling is not
                    assert not re.search(pattern, sentence, re.IGNORECASE), \
                        f"{r.name}: {why}: '{text}'"
                assert len(sentence.split()) <= 20, f"{r.name}: long sentence: '{sentence}'"


def test_titles_and_descriptions_are_present(routines: list[Routine]) -> None:
    for r in routines:
        assert r.title and r.description and r.voice, r.name


class _Clock:
    """The script's pacing on a plain clock: each segment advances it by its length."""

    def __init__(self) -> None:
        self.now = 0.0

    def elapsed(self) -> float:
        return self.now

    def breath_scale(self) -> float:
        return 1.0

    def prefetch(self, text: str) -> None:
        pass


def said_in_one_play(routine: Routine, library: RoutineLibrary, seed: int) -> list[str]:
    """Every sentence one play of ``routine`` says (questions answered by silence)."""
    import random

    from companion.routines.script import Listen, Silence, Speak, StepRunner, Tone

    clock = _Clock()
    runner = StepRunner(library.get, clock, random.Random(seed))
    said: list[str] = []
    for segment in runner.run(routine.steps):
        if isinstance(segment, Speak):
            said.append(segment.text)
            clock.now += max(segment.min_seconds, say_seconds(segment.text))
        elif isinstance(segment, Silence):
            clock.now += segment.seconds
        elif isinstance(segment, Listen):
            clock.now += segment.timeout
        elif isinstance(segment, Tone):
            clock.now += max(segment.min_seconds, 1.5)
    return said


@pytest.mark.parametrize("seed", range(5))
def test_no_line_of_a_pool_comes_back_before_the_rest_of_its_pool(
        routines: list[Routine], library: RoutineLibrary, seed: int) -> None:
    """`any:` draws without replacement within one play: a kind line is
    not heard again until every other line of its pool was said (and never twice running)."""
    pools = {step.texts for r in routines for step in walk(r.steps)
             if isinstance(step, Say) and step.pick_any}
    pools |= {s.check_in_phrases for r in routines for s in walk(r.steps)
              if isinstance(s, Quiet) and s.check_in_phrases}
    for routine in routines:
        said = said_in_one_play(routine, library, seed)
        for pool in pools:
            drawn = [line for line in said if line in pool]
            window = len(pool) - 1
            for i in range(len(drawn)):
                recent = drawn[max(0, i - window + 1): i + 1]
                assert len(set(recent)) == len(recent), (
                    f"{routine.name}: '{drawn[i]}' came back within {window} draws of its pool")
            assert len(set(drawn[:len(pool)])) == len(drawn[:len(pool)])
