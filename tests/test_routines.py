"""Routine loading: the YAML format, every mistake at its exact file:line:col, the library."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from companion.config import shipped_dir
from companion.errors import ConfigError, UnknownNameError
from companion.routines.library import RoutineLibrary
from companion.routines.loading import load_routine_file, routine_from_dict, routine_from_yaml
from companion.routines.model import (
    Ambient,
    Ask,
    BreathCue,
    Breathe,
    Chime,
    Include,
    Pause,
    Quiet,
    Repeat,
    Say,
)

FULL = """\
name: wind-down
title: Wind down
aliases: [wind down, bedtime]
description: Slow breathing and soft words before sleep.
voice: gentle
ambient: brown-noise
steps:
  - say: Let's slow down together.
  - breathe: {in: 4, hold: 7, out: 8, cycles: 4, cue: words}
  - say: {any: [You are safe., You did so well., I'm right here.]}
  - ask: Would you like some water?
    yes: [{say: Take your time. I'll wait.}, {pause: 30s}]
    no: [{say: That's okay.}]
    silence: [{say: That's okay.}]
  - quiet: 5m
    check_in: {every: 2m, say: [I'm still here.]}
  - chime: soft
  - repeat: {times: 3, steps: [{pause: 1m30s}]}
  - repeat: {for: 1.5m, steps: [{say: hi}]}
  - routine: breathing
"""


def load(text: str, name: str = "r.yaml", **kw: object):
    return routine_from_yaml(io.StringIO(text), Path(name), **kw)  # type: ignore[arg-type]


def error_of(text: str, **kw: object) -> str:
    with pytest.raises(ConfigError) as info:
        load(text, **kw)
    return str(info.value)


def test_design_example_loads_into_the_models() -> None:
    r = load(FULL)
    assert (r.name, r.title, r.aliases, r.voice) == ("wind-down", "Wind down",
                                                     ("wind down", "bedtime"), "gentle")
    assert r.ambient is Ambient.BROWN_NOISE
    assert r.source == Path("r.yaml")
    say, breathe, pool, ask, quiet, chime, times, for_, include = r.steps
    assert say == Say(("Let's slow down together.",))
    assert breathe == Breathe(inhale=4, hold=7, exhale=8, hold_out=0, cycles=4,
                              cue=BreathCue.WORDS)
    assert pool.pick_any and len(pool.texts) == 3
    assert isinstance(ask, Ask) and ask.timeout == 8.0
    assert ask.yes == (Say(("Take your time. I'll wait.",)), Pause(30.0))
    assert ask.silence == (Say(("That's okay.",)),)
    assert quiet == Quiet(300.0, check_in_every=120.0, check_in_phrases=("I'm still here.",))
    assert chime == Chime("soft")
    assert times == Repeat((Pause(90.0),), times=3)
    assert for_ == Repeat((Say(("hi",)),), seconds=90.0)
    assert include == Include("breathing")
    assert (include.line, include.column) == (20, 14)


def test_yes_and_no_stay_words_not_booleans() -> None:
    """YAML 1.1 reads bare yes/no as booleans; keys and spoken text must stay words."""
    r = load("name: a\nsteps:\n  - say: no\n  - ask: Okay?\n    yes: [{say: yes}]\n")
    assert r.steps[0] == Say(("no",))
    assert r.steps[1].yes == (Say(("yes",)),)


def test_from_dict_builds_the_same_routine_without_marks() -> None:
    data = {"name": "a", "steps": [{"say": "Hi."}, {"quiet": "2m"}]}
    r = routine_from_dict(data)
    assert r.title == "A" and r.steps == (Say(("Hi.",)), Quiet(120.0))
    with pytest.raises(ConfigError) as info:
        routine_from_dict({"name": "a", "steps": [{"pause": 0}]}, Path("d.yaml"))
    assert str(info.value).startswith("d.yaml: 'pause' must be more than zero")


@pytest.mark.parametrize("value, seconds", [
    ("30", 30), ("30s", 30), ("2m", 120), ("1m30s", 90), ("1.5m", 90), ("1h", 3600),
    ("2.5", 2.5), ("45 s", 45)])
def test_duration_forms(value: str, seconds: float) -> None:
    assert load(f"name: a\nsteps:\n  - pause: {value}\n").steps[0] == Pause(seconds)


# Each bad input: (yaml, expected location "line:col", words the message must contain)
BAD = [
    pytest.param("name: a\nsteps:\n  - say: hi\n    colour: red\n", "4:5",
                 ["unknown key 'colour'", "allowed keys: say"], id="unknown-step-key"),
    pytest.param("name: a\nstepz: [{say: hi}]\n", "2:1",
                 ["unknown key 'stepz'", "did you mean 'steps'", "allowed keys: name"],
                 id="unknown-top-key"),
    pytest.param("name: a\nsteps:\n  - sya: hi\n", "3:5",
                 ["unknown step kind 'sya'", "did you mean 'say'"], id="unknown-kind"),
    pytest.param("name: a\nsteps:\n  - pause: -5\n", "3:12",
                 ["'pause' must be more than zero"], id="negative-duration"),
    pytest.param("name: a\nsteps:\n  - quiet: 0\n", "3:12",
                 ["'quiet' must be more than zero"], id="zero-duration"),
    pytest.param("name: a\nsteps:\n  - pause: 3 minutes\n", "3:12",
                 ["'3 minutes' is not a duration", "1m30s"], id="bad-duration"),
    pytest.param("name: a\nsteps:\n  - breathe: {in: 4, hold: -1}\n", "3:28",
                 ["'hold' must be zero or more"], id="negative-hold"),
    pytest.param("name: a\nsteps:\n  - breathe: {in: 4, cycles: two}\n", "3:30",
                 ["'cycles' must be a whole number"], id="wrong-type-number"),
    pytest.param("name: a\nsteps:\n  - ask: Ok?\n    yes: fine\n", "4:10",
                 ["'yes' must be a list"], id="wrong-type-branch"),
    pytest.param("name: a\nsteps: {say: hi}\n", "2:8",
                 ["steps must be a list"], id="steps-not-list"),
    pytest.param("name: a\nsteps: []\n", "2:8", ["steps is empty"], id="empty-steps"),
    pytest.param("name: a\nsteps:\n  - repeat: {times: 2, steps: []}\n", "3:31",
                 ["'steps' is empty"], id="empty-repeat"),
    pytest.param("name: Wind Down\nsteps: [{say: hi}]\n", "1:7",
                 ["name 'Wind Down' must be lowercase"], id="bad-name"),
    pytest.param("title: x\nsteps: [{say: hi}]\n", "1:1",
                 ["needs a 'name:' key"], id="missing-name"),
    pytest.param("name: a\nsteps:\n  - say: hi\n    pause: 3\n", "4:5",
                 ["two kinds (say and pause)"], id="two-kinds"),
    pytest.param("name: a\nsteps:\n  - yes: [{say: hi}]\n", "3:5",
                 ["belongs to an 'ask:' step"], id="orphan-branch"),
    pytest.param("name: a\nsteps:\n  - chime: loud\n", "3:12",
                 ["chime 'loud' is not one of soft, bell, low"], id="bad-chime"),
    pytest.param("name: a\nambient: rain\nsteps: [{say: hi}]\n", "2:10",
                 ["ambient 'rain' is not one of"], id="bad-ambient"),
    pytest.param("name: a\naliases: [wind down 2]\nsteps: [{say: hi}]\n", "2:11",
                 ["alias 'wind down 2' must be plain spoken words"], id="bad-alias"),
    pytest.param("name: a\nsteps:\n  - repeat: {times: 2, for: 1m, steps: [{say: hi}]}\n",
                 "3:13", ["exactly one of 'times:'"], id="repeat-both"),
    pytest.param("name: a\nsteps:\n  - say:\n", "3:9", ["'say' is empty"], id="empty-say"),
    pytest.param("name: a\nsteps:\n  - quiet: 5m\n    check_in: {every: 2m}\n", "4:15",
                 ["needs a 'say:' key"], id="check-in-missing-say"),
    pytest.param("name: a\nsteps:\n  - pause: 2\nname: b\n", "4:1",
                 ["key 'name' appears twice"], id="duplicate-key"),
    pytest.param("name: a\nsteps:\n  - say: hi\n\tpause: 2\n", "4:1",
                 ["tab"], id="tab-indent"),
    pytest.param("name: a\nsteps:\n  - say: a: b\n", "3:11",
                 ["put quotes around text"], id="unquoted-colon"),
    pytest.param("", "1:1", ["file is empty"], id="empty-file"),
    pytest.param("name: a\nsteps: [{say: !!python/object/apply:os.system [ls]}]\n", "2:15",
                 ["unsupported tag"], id="unsafe-tag"),
    pytest.param("name: a\nsteps:\n  - breathe: {in: 4, hold: 45}\n", "3:28",
                 ["too long for one breath"], id="absurd-breath"),
]


@pytest.mark.parametrize("text, where, words", BAD)
def test_each_mistake_is_reported_at_its_place(text: str, where: str, words: list[str]) -> None:
    message = error_of(text)
    assert message.startswith(f"r.yaml:{where}: "), message
    for word in words:
        assert word in message, message


def test_unknown_voice_is_reported_on_the_voice_line() -> None:
    message = error_of("name: a\nvoice: gentel\nsteps: [{say: hi}]\n",
                       voice_names={"gentle", "warm"})
    assert message.startswith("r.yaml:2:8: no voice named 'gentel' (did you mean 'gentle'?)")
    assert load("name: a\nvoice: gentel\nsteps: [{say: hi}]\n").voice == "gentel"


def test_alias_bomb_is_refused_before_it_expands() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" \
           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c]\n"
    message = error_of(bomb)
    assert message.startswith("r.yaml:1:4: anchors and aliases")


def test_deep_nesting_is_refused() -> None:
    deep = "name: a\nsteps: " + "[" * 60 + "]" * 60 + "\n"
    message = error_of(deep)
    # the top mapping is level 1, so the 50th "[" (column 8 + 49) is one level too deep
    assert message == "r.yaml:2:57: nested more than 50 levels deep: flatten this part"
    ok = "name: a\nsteps: [" + "{repeat: {times: 1, steps: [" * 10 + "{say: hi}" + \
         "]}}" * 10 + "]\n"
    inner = load(ok).steps[0]
    for _ in range(9):
        inner = inner.steps[0]
    assert inner == Repeat((Say(("hi",)),), times=1)


def test_files_over_256_kib_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("name: big\nsteps:\n" + "  - say: hello there\n" * 14000)
    assert big.stat().st_size > 256 * 1024
    with pytest.raises(ConfigError) as info:
        load_routine_file(big)
    assert str(info.value) == f"{big}: file is larger than 256 KiB: split it into smaller files"


def test_non_utf8_file_is_refused_at_the_bad_byte(tmp_path: Path) -> None:
    bad = tmp_path / "latin.yaml"
    bad.write_bytes("name: a\nsteps:\n  - say: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_routine_file(bad)
    assert str(info.value) == f"{bad}:3:13: file is not UTF-8 text: save it as UTF-8"


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path


def test_broken_file_does_not_stop_the_others(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "name: a\nsteps: [{say: hi}]\n")
    broken = write(tmp_path, "b.yaml", "name: b\nsteps:\n  - pause: soon\n")
    write(tmp_path, "c.yml", "name: c\nsteps: [{quiet: 1m}]\n")
    write(tmp_path, "notes.txt", "not a routine")
    lib = RoutineLibrary.load([tmp_path, tmp_path / "missing"])
    assert lib.names() == ["a", "c"]
    assert [str(e) for e in lib.errors] == [
        (f"{broken}:3:12: 'pause': 'soon' is not a duration; write it like 30s, 2m, 1m30s or "
        "a number of seconds")]


def test_user_dir_overrides_shipped(tmp_path: Path) -> None:
    shipped, user = tmp_path / "shipped", tmp_path / "user"
    write(shipped, "a.yaml", "name: a\ntitle: Shipped\nsteps: [{say: hi}]\n")
    write(shipped, "b.yaml", "name: b\nsteps: [{say: hi}]\n")
    mine = write(user, "mine.yaml", "name: a\ntitle: Mine\nsteps: [{say: hello}]\n")
    lib = RoutineLibrary.load([shipped, user])
    assert lib.get("a").title == "Mine" and lib.get("a").source == mine
    assert lib.names() == ["a", "b"] and lib.errors == []


def test_broken_user_file_keeps_the_shipped_routine(tmp_path: Path) -> None:
    shipped, user = tmp_path / "shipped", tmp_path / "user"
    write(shipped, "a.yaml", "name: a\ntitle: Shipped\nsteps: [{say: hi}]\n")
    write(user, "a.yaml", "name: a\ntitle: Mine\nsteps: [{sya: hello}]\n")
    lib = RoutineLibrary.load([shipped, user])
    assert lib.get("a").title == "Shipped"
    assert len(lib.errors) == 1 and "unknown step kind 'sya'" in str(lib.errors[0])


def test_get_by_alias_and_unknown_name_suggests(tmp_path: Path) -> None:
    write(tmp_path, "w.yaml", "name: wind-down\naliases: [bedtime]\nsteps: [{say: hi}]\n")
    lib = RoutineLibrary.load([tmp_path])
    assert lib.get("Bedtime").name == "wind-down"
    assert lib.get("wind down").name == "wind-down"
    with pytest.raises(UnknownNameError) as info:
        lib.get("wind-dwon")
    assert str(info.value) == ("no routine named 'wind-dwon' (did you mean 'wind-down'?); "
                               "`companion routines list` shows them")
    with pytest.raises(UnknownNameError):
        lib.lookup("bedtime")


def test_unknown_include_is_reported_at_the_routine_line(tmp_path: Path) -> None:
    good = write(tmp_path, "breathing.yaml", "name: breathing\nsteps: [{say: in}]\n")
    bad = write(tmp_path, "a.yaml", "name: a\nsteps:\n  - say: hi\n  - ask: More?\n"
                                    "    yes:\n      - routine: breathng\n")
    lib = RoutineLibrary.load([tmp_path])
    assert lib.names() == ["breathing"] and good.exists()
    assert [str(e) for e in lib.errors] == [
        (f"{bad}:6:18: no routine named 'breathng' to include (did you mean 'breathing'?); "
        "`companion routines list` shows them")]


def test_include_cycle_is_reported_and_dependants_dropped(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "name: a\nsteps:\n  - say: hi\n  - routine: b\n")
    b = write(tmp_path, "b.yaml", "name: b\nsteps:\n  - repeat:\n      times: 2\n"
                                  "      steps: [{routine: a}]\n")
    c = write(tmp_path, "c.yaml", "name: c\nsteps: [{routine: a}]\n")
    write(tmp_path, "d.yaml", "name: d\nsteps: [{routine: e}]\n")
    write(tmp_path, "e.yaml", "name: e\nsteps: [{say: hi}]\n")
    lib = RoutineLibrary.load([tmp_path])
    assert lib.names() == ["d", "e"]
    messages = sorted(str(e) for e in lib.errors)
    assert messages == sorted([
        f"{a}:4:14: includes go round in a circle (a -> b -> a): remove one of them",
        f"{b}:5:25: includes go round in a circle (b -> a -> b): remove one of them",
        f"{c}:2:19: includes routine 'a', which has a mistake: fix that one first",
    ])


def test_self_include_is_a_cycle(tmp_path: Path) -> None:
    me = write(tmp_path, "me.yaml", "name: me\nsteps: [{routine: me}]\n")
    lib = RoutineLibrary.load([tmp_path])
    assert lib.names() == []
    assert [str(e) for e in lib.errors] == [
        f"{me}:2:19: includes go round in a circle (me -> me): remove one of them"]


def test_voice_names_are_checked_at_library_load(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", "name: a\nvoice: loud\nsteps: [{say: hi}]\n")
    lib = RoutineLibrary.load([tmp_path], voice_names=["gentle"])
    assert lib.names() == []
    assert str(lib.errors[0]).startswith(f"{path}:2:8: no voice named 'loud'")


def test_same_name_twice_in_one_dir_and_alias_clash(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "name: a\naliases: [rest now]\nsteps: [{say: hi}]\n")
    dup = write(tmp_path, "b.yaml", "name: a\nsteps: [{say: hello}]\n")
    clash = write(tmp_path, "c.yaml", "name: c\naliases: [rest now]\nsteps: [{say: hi}]\n")
    lib = RoutineLibrary.load([tmp_path])
    assert lib.names() == ["a", "c"]
    assert [str(e) for e in lib.errors] == [
        f"{dup}: routine name 'a' is also used by a.yaml: give one of them another name",
        (f"{clash}: alias 'rest now' is also used by routine 'a': saying it would start that "
        "one; pick another alias")]


def test_shipped_dir_points_at_the_source_tree(repo_root: Path) -> None:
    assert shipped_dir("routines") == repo_root / "routines"
    assert shipped_dir("voices") == repo_root / "voices"
    with pytest.raises(ValueError):
        shipped_dir("sounds")
