"""Session logic: heard text → command → what the player does and says (real speech)."""

from __future__ import annotations

import pytest

from companion.recognition.commands import CommandSet, RoutinePhrases
from companion.session.context import Context
from companion.session.events import EventLog
from companion.session.player import PlayerState
from companion.session.session import HELP_TEXT, NOT_FOUND_TEXT, Session

BLOCK = 441


@pytest.fixture(scope="module")
def context():
    return Context.load(None)


@pytest.fixture()
def rig(context, synth):
    log = EventLog()
    player = context.player(synth, on_event=log)
    phrases = [RoutinePhrases(r.name, (r.name.replace("-", " "), r.title.lower(), *r.aliases))
               for r in context.routines.routines()]
    commands = CommandSet.load(phrases, ("red",))
    session = Session(commands, player, context.routines, on_event=log)
    return session, player, log


def advance(player, seconds: float) -> None:
    for _ in range(int(seconds * player.sample_rate / BLOCK)):
        player.render(BLOCK)


def said(log) -> list[str]:
    return [e.data["text"] for e in log.of_type("say_start")]


def test_play_by_alias_with_minutes_starts_that_routine(rig):
    session, player, log = rig
    command = session.hear("play bedtime for ten minutes", 0.0)
    assert command is not None and command.slots == {"routine": "wind-down", "minutes": 10}
    advance(player, 1.0)
    assert log.of_type("routine_start")[0].data["routine"] == "wind-down"
    assert 9 * 60 < player.status().seconds_left < 11 * 60
    heard = log.of_type("heard")[0]
    assert heard.data == {"text": "play bedtime for ten minutes", "intent": "play",
                          "slots": {"routine": "wind-down", "minutes": 10}}


def test_a_routine_asked_for_n_minutes_says_the_minutes_it_heard_first(rig):
    """A misheard duration ("ten" heard as "two") must be noticeable before it plays out."""
    session, player, log = rig
    session.hear("quiet presence for two minutes", 0.0)
    advance(player, 4.0)
    assert said(log)[:1] == ["Quiet presence, for 2 minutes."]
    session.hear("stop", 4.0)
    session.hear("play wind down", 4.5)
    advance(player, 8.0)
    assert "Wind down, for" not in " ".join(said(log))


@pytest.mark.parametrize("state_setup", ["idle", "playing", "paused", "asking"])
def test_stop_and_the_safeword_work_in_every_state(rig, state_setup):
    session, player, log = rig
    if state_setup != "idle":
        session.hear("play check in", 0.0)
        advance(player, 1.0)
    if state_setup == "paused":
        session.hear("pause", 1.0)
        advance(player, 0.5)
    if state_setup == "asking":
        for _ in range(600):
            advance(player, 0.1)
            if player.state is PlayerState.ASKING:
                break
    assert player.state.value == state_setup
    session.hear("red" if state_setup == "asking" else "stop", 2.0)
    advance(player, 0.2)
    assert player.state is PlayerState.IDLE


def test_help_and_list_are_answered_aloud(rig):
    session, player, log = rig
    session.hear("what can i say", 0.0)
    advance(player, 12.0)
    session.hear("what routines do you have", 12.0)
    advance(player, 15.0)
    spoken = said(log)
    assert spoken[0] == HELP_TEXT
    assert "Aftercare" in spoken[1] and "Wind down" in spoken[1]


def test_time_left_says_the_minutes(rig):
    session, player, log = rig
    session.hear("time left?", 0.0)  # not a phrase: nothing happens
    session.hear("how long is left", 0.0)
    advance(player, 3.0)
    assert said(log) == ["Nothing is playing right now."]
    session.hear("quiet presence for twenty minutes", 3.0)
    advance(player, 1.0)
    session.hear("how much time is left", 4.0)
    advance(player, 3.0)
    assert "About 20 minutes." in said(log)


def test_yes_and_no_answer_the_question_being_asked(rig):
    session, player, log = rig
    session.hear("play check in", 0.0)
    for _ in range(600):
        advance(player, 0.1)
        if player.state is PlayerState.ASKING:
            break
    session.hear("yes please", 60.0)
    advance(player, 0.1)
    assert player.state is PlayerState.PLAYING


def test_a_play_without_a_known_routine_gets_a_spoken_pointer(rig):
    session, player, log = rig
    from companion.recognition.commands import Command, Intent

    session._act(Command(Intent.PLAY, {}, "play"))
    advance(player, 5.0)
    assert said(log) == [NOT_FOUND_TEXT]
