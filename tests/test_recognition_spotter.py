"""Commands said over other people talking: hama's phrase spotter, for real.

Real espeak-ng speech, the real hama model and pocketsphinx; the "other people" are two
more espeak-ng voices reading chatter under the speaker for the whole clip.
"""

from __future__ import annotations

import numpy as np
import pytest

from companion.recognition.commands import CommandSet
from companion.recognition.phrase_spotter import SpotSettings, contrast
from companion.recognition.phrase_verifier import VerifierSettings
from companion.recognition.pocketsphinx_engine import PocketsphinxRecognizer
from companion.recognition.pocketsphinx_rejection import RejectionSettings
from companion.recognition.stop_spotter import SpotterSettings
from tests.clips import CHATTER, RATE, active_rms, add_floor, have_espeak, mix_pink, pad, speak
from tests.clips import stream as stream_clip
from tests.test_recognition_pocketsphinx import ROUTINES

pytestmark = pytest.mark.skipif(not have_espeak(), reason="needs espeak-ng and sox")

BACKGROUND = (("en-us+m7", 175, CHATTER[6:10]), ("en-gb+f2", 165, CHATTER[10:14]))
"""Two other people, each reading chatter without a command in it."""


@pytest.fixture(scope="module")
def commands() -> CommandSet:
    return CommandSet.load(ROUTINES)


@pytest.fixture(scope="module")
def rec(commands: CommandSet) -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer(commands)


def background(seconds: float) -> np.ndarray:
    """``seconds`` of two people talking at once, unit RMS."""
    n = int(seconds * RATE)
    out = np.zeros(n)
    for voice, rate, lines in BACKGROUND:
        talk = np.concatenate([np.concatenate((speak(t, voice, rate), np.zeros(2400)))
                               for t in lines]).astype(np.float64)
        out += np.resize(talk, n)
    return out / np.sqrt(np.mean(out**2))


def over_talk(said: str, snr_db: float, at_s: float = 2.0, seconds: float = 4.5) -> np.ndarray:
    """``said`` (en-us) ``at_s`` into ``seconds`` of background talk ``snr_db`` under it."""
    speech = speak(said, "en-us", 160).astype(np.float64)
    room = background(seconds) * active_rms(speech.astype(np.int16)) * 10 ** (-snr_db / 20)
    start = int(at_s * RATE)
    room[start:start + speech.size] += speech
    return add_floor(np.clip(np.round(room), -32768, 32767).astype(np.int16))


def heard(rec: PocketsphinxRecognizer, audio: np.ndarray) -> list[str]:
    rec.reset()
    return [u.command.text for u in stream_clip(rec, audio) if u.command is not None]


@pytest.mark.parametrize("said", ["slow down", "how much time is left", "yes please"])
def test_a_command_said_over_other_people_talking_is_heard(rec, commands, said: str) -> None:
    assert heard(rec, over_talk(said, 15)) == [commands.parse(said).text]  # type: ignore[union-attr]


def test_other_people_talking_alone_start_nothing(rec) -> None:
    talk = background(6.0) * 3000
    assert heard(rec, add_floor(np.round(talk).astype(np.int16))) == []


@pytest.mark.parametrize("sentence", ["please don't slow down the car so suddenly",
                                      "I think the aftercare went well",
                                      "we could play something later"])
def test_a_command_inside_ones_own_sentence_is_no_command(rec, sentence: str) -> None:
    """The spotter finds the command's words in these; they are as loud as the words
    around them, so they are one person's sentence, not a command over other talk.
    ("stop by the shop tomorrow" is left out: its "stop" is decided early, before the
    rest is said, which is the stop rule, not the spotter.)"""
    speech = speak(sentence, "en-us", 160)
    audio = mix_pink(add_floor(pad(speech)), 12, speech_rms=active_rms(speech))
    assert heard(rec, audio) == []


def test_with_the_spotter_off_a_command_over_talk_is_lost(commands) -> None:
    """The same clip with the spotter off (the setting works): what the spotter adds.
    The stop spotter is off too: alone, it takes this "slow down" for "that's enough"
    (hama scores that phrase -1.12 here, "slow down" lower), a false stop the phrase
    spotter's agreeing command prevents. The rescue by agreement is off too: it also hears
    this one (the commands-only pass and hama's best phrase both say "slow down")."""
    off = PocketsphinxRecognizer(commands, rejection=RejectionSettings(
        spot=SpotSettings(enabled=False), verifier=VerifierSettings(agree_floor=None)),
        spotter=SpotterSettings(enabled=False))
    assert heard(off, over_talk("slow down", 15)) == []


def test_a_long_command_stands_when_pocketsphinx_names_a_neighbour(rec, commands) -> None:
    """"hold on" said over two people at 12 dB: hama places it clearly, and pocketsphinx's
    commands-only pass on that part names another command (the talk pulls it to a
    neighbour). hama's phrase is long and clear enough to stand; with that rule off
    (the way it was) the command is lost."""
    audio = over_talk("hold on", 12)
    assert heard(rec, audio) == ["hold on"]
    strict = PocketsphinxRecognizer(commands, rejection=RejectionSettings(
        spot=SpotSettings(overrule_phones=10**6)))
    assert heard(strict, audio) == []


def test_a_weak_spot_never_overrules_pocketsphinx_with_another_command(rec) -> None:
    """"not now" over the same talk: hama's best is a weaker "hold on" (-1.2 a phoneme),
    pocketsphinx names "not now". A weak spot does not stand against it: no wrong command
    (taking any spot that pocketsphinx disputed, this started "hold on")."""
    assert heard(rec, over_talk("not now", 12, at_s=2.6)) in ([], ["not now"])


def test_contrast_says_how_much_louder_a_part_is() -> None:
    rng = np.random.default_rng(0)
    quiet = rng.normal(0, 100, RATE * 2)
    loud = rng.normal(0, 1000, RATE // 2)
    audio = np.concatenate((quiet[:RATE], loud, quiet[RATE:])).astype("<i2").tobytes()
    assert contrast(audio, 1.05, 1.45, 0.1) == pytest.approx(20.0, abs=2.0)
    level = np.concatenate((quiet, quiet)).astype("<i2").tobytes()
    assert abs(contrast(level, 1.05, 1.45, 0.1)) < 3.0
