"""Commands said while other people keep talking: the last seconds heard, searched again.

Real espeak-ng speech, the real pocketsphinx, Silero and hama; the other people are two
more espeak-ng voices reading chatter under the speaker for the whole stream.
"""

from __future__ import annotations

import numpy as np
import pytest

from companion.recognition.commands import CommandSet
from companion.recognition.pocketsphinx_engine import PocketsphinxRecognizer
from companion.recognition.talk_rescan import RescanSettings, TalkRescan
from companion.recognition.utterance import FRAME
from tests.clips import RATE, active_rms, add_floor, have_espeak, speak
from tests.clips import stream as stream_clip
from tests.test_recognition_pocketsphinx import ROUTINES
from tests.test_recognition_spotter import background

needs_espeak = pytest.mark.skipif(not have_espeak(), reason="needs espeak-ng and sox")


@pytest.fixture(scope="module")
def commands() -> CommandSet:
    return CommandSet.load(ROUTINES)


def talk_with(said: list[tuple[str, float]], seconds: float, snr_db: float) -> np.ndarray:
    """``said`` (phrase, when) by en-us over ``seconds`` of two people talking throughout."""
    clips = [(speak(text, "en-us", 160).astype(np.float64), at) for text, at in said]
    level = float(np.median([active_rms(c.astype(np.int16)) for c, _ in clips]))
    room = background(seconds) * level * 10 ** (-snr_db / 20)
    for clip, at in clips:
        room[int(at * RATE):int(at * RATE) + clip.size] += clip
    return add_floor(np.clip(np.round(room), -32768, 32767).astype(np.int16))


@needs_espeak
def test_commands_said_while_others_keep_talking_are_heard_where_they_were_said(
        commands: CommandSet) -> None:
    """Two commands in 11 s of unbroken talk: both heard, each placed where it was said
    (the utterance the talk opened starts seconds earlier)."""
    said = [("yes please", 3.0), ("how much time is left", 7.5)]
    rec = PocketsphinxRecognizer(commands)
    heard = [u for u in stream_clip(rec, talk_with(said, 11.0, 15)) if u.command is not None]
    meant = [commands.parse(t) for t, _ in said]
    assert [(u.command.intent, u.command.slots) for u in heard] == [
        (c.intent, c.slots) for c in meant if c is not None]
    for u, (_, at) in zip(heard, said, strict=True):
        assert abs(u.start - at) < 0.35


@needs_espeak
def test_long_talk_alone_gives_no_command_when_searched_again(commands: CommandSet) -> None:
    talk = add_floor(np.round(background(14.0) * 3000).astype(np.int16))
    rec = PocketsphinxRecognizer(commands)
    assert [u.text for u in stream_clip(rec, talk)] == []


def test_the_window_holds_the_last_seconds_after_the_last_command_taken() -> None:
    rescan = TalkRescan(RescanSettings(window=1.0))
    for i in range(100):  # 2 s of frames, each filled with its own number
        rescan.push(np.full(FRAME, i, dtype="<i2").tobytes())
    pcm, first = rescan.window()
    frames = np.frombuffer(pcm, dtype="<i2")[::FRAME]
    assert first == pytest.approx(1.0) and list(frames) == list(range(50, 100))
    rescan.taken(1.5)
    pcm, first = rescan.window()
    assert first == pytest.approx(1.5)
    assert np.frombuffer(pcm, dtype="<i2")[0] == 75 and len(pcm) == 25 * FRAME * 2


def test_only_utterances_in_others_talk_are_searched_again() -> None:
    rescan = TalkRescan(RescanSettings(talk_after=2.0, chain_gap=1.0))
    assert not rescan.due(1.0, 2.0)  # a short utterance alone: a command or nothing
    assert rescan.due(3.0, 5.5)  # ran 2.5 s: others talking
    assert rescan.due(6.0, 6.8)  # starts 0.5 s after that talk: the same talk goes on
    assert not rescan.due(9.0, 9.8)
    assert not TalkRescan(RescanSettings(enabled=False)).due(0.0, 5.0)

