"""Session: joins what was heard, the spoken commands and the player, and answers aloud."""

from __future__ import annotations

import logging
from collections.abc import Callable

from companion.errors import UnknownNameError
from companion.recognition.commands import Command, CommandSet, Intent
from companion.routines.library import RoutineLibrary
from companion.session.events import EventHandler, Heard
from companion.session.player import PlayerState, RoutinePlayer

log = logging.getLogger(__name__)

HELP_TEXT = ("You can say: play aftercare, or the name of a routine. While I speak: pause, "
             "skip, softer, louder, slower, faster, or repeat that. After a pause: resume. "
             "Stop always works.")
NOT_FOUND_TEXT = "I don't have that one. You can ask: what routines do you have?"


def duration_text(title: str, minutes: int) -> str:
    """What is said before a routine asked for "for N minutes": the routine and the minutes
    as heard, so a misheard duration ("ten" heard as "two") is noticed and can be stopped."""
    return f"{title}, for {minutes} minute{'' if minutes == 1 else 's'}."


class Session:
    """Acts on each heard utterance; "stop" and safewords act in every state.

    ``clock`` gives the current time on the session timeline (the player's, in seconds),
    used to stamp ``heard`` events.
    """

    def __init__(self, commands: CommandSet, player: RoutinePlayer, routines: RoutineLibrary,
                 on_event: EventHandler | None = None, stop_now: Callable[[], None] | None = None,
                 voice: str | None = None) -> None:
        self.commands = commands
        self.player = player
        self.routines = routines
        self._on_event = on_event or (lambda event: None)
        self._stop_now = stop_now or player.stop
        self._voice = voice
        self.last_command: Command | None = None

    def hear(self, text: str, t: float) -> Command | None:
        """Act on words heard at ``t``; returns the command, or None if they were none."""
        command = self.commands.parse(text)
        if command is None:
            log.debug("not a command: %r", text)
            return None
        return self.act_on(command, t)

    def act_on(self, command: Command, t: float) -> Command:
        """Act on a command the recogniser already parsed, heard at ``t``."""
        self._on_event(Heard(t, command.text, command.intent.value, dict(command.slots)))
        log.info("heard %s", command.intent.value)
        log.debug("heard text %r", command.text)
        self.last_command = command
        self._act(command)
        return command

    def _act(self, command: Command) -> None:
        player = self.player
        simple: dict[Intent, Callable[[], None]] = {
            Intent.STOP: self._stop_now, Intent.PAUSE: player.pause,
            Intent.RESUME: player.resume, Intent.SKIP: player.skip,
            Intent.REPEAT: player.repeat, Intent.SLOWER: player.slower,
            Intent.FASTER: player.faster, Intent.SOFTER: player.softer,
            Intent.LOUDER: player.louder, Intent.GOODNIGHT: player.goodnight,
            Intent.YES: lambda: player.answer(True), Intent.NO: lambda: player.answer(False),
            Intent.HELP: lambda: player.say(HELP_TEXT),
            Intent.LIST: lambda: player.say(self._list_text()),
            Intent.TIME_LEFT: lambda: player.say(self._time_left_text()),
            Intent.PLAY: lambda: self._play(command),
        }
        simple[command.intent]()

    def _play(self, command: Command) -> None:
        name = command.slots.get("routine")
        try:
            routine = self.routines.get(str(name)) if name else None
        except UnknownNameError:
            routine = None
        if routine is None:
            self.player.say(NOT_FOUND_TEXT)
            return
        minutes = int(command.slots.get("minutes") or 0)  # type: ignore[call-overload]
        self.player.start(routine, float(minutes) if minutes else None, self._voice,
                          acknowledge=True,
                          announce=duration_text(routine.title, minutes) if minutes else None)

    def _list_text(self) -> str:
        titles = [r.title for r in self.routines.routines()]
        if not titles:
            return "I don't have any routines yet."
        listed = ", ".join(titles[:-1]) + (f", and {titles[-1]}" if len(titles) > 1 else titles[0])
        return f"I have {listed}."

    def _time_left_text(self) -> str:
        status = self.player.status()
        if status.state is PlayerState.IDLE or status.routine is None:
            return "Nothing is playing right now."
        minutes = round(status.seconds_left / 60)
        if minutes < 1:
            return "Less than a minute."
        return "About one minute." if minutes == 1 else f"About {minutes} minutes."
