"""PocketsphinxRecognizer for real: espeak-ng commands, real human reading, chatter.

Accuracy floors here are below the measured state, not the product targets (97% clean,
90% at 12 dB, which the benchmark suite reports). With the shipped rejection settings
(:class:`RejectionSettings`) no chatter sentence and no testdata recording yields a command.
"""

from __future__ import annotations

import numpy as np
import pytest

from companion.recognition.commands import CommandSet, Intent, RoutinePhrases
from companion.recognition.factory import make_recognizer
from companion.recognition.overlap import CompanionVoice
from companion.recognition.pocketsphinx_engine import PocketsphinxRecognizer
from companion.recognition.utterance import Utterance
from tests.clips import (
    CHATTER,
    RATE,
    active_rms,
    add_floor,
    concat,
    have_espeak,
    load_wav,
    mix_pink,
    pad,
    pink_noise,
    silence,
    speak,
    stream,
)
from tests.clips import testdata_recordings as recordings

pytestmark = pytest.mark.skipif(not have_espeak(), reason="needs espeak-ng and sox")

ROUTINES = [RoutinePhrases("wind-down", ("wind down", "bedtime")),
            RoutinePhrases("aftercare", ("aftercare",)),
            RoutinePhrases("quiet-presence", ("quiet presence",))]
VOICES = [("en-us", 160), ("en-gb", 140), ("en-us+f3", 185), ("en-us+m3", 130)]
COMMANDS = ["stop", "pause", "play wind down", "quiet presence for ten minutes", "louder",
            "what can i say", "yes please", "go on"]


@pytest.fixture(scope="module")
def commands() -> CommandSet:
    return CommandSet.load(ROUTINES)


@pytest.fixture(scope="module")
def rec(commands: CommandSet) -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer(commands)


def hear(rec: PocketsphinxRecognizer, audio: np.ndarray) -> list[Utterance]:
    rec.reset()
    return stream(rec, audio)


def right(commands: CommandSet, said: str, utts: list[Utterance]) -> bool:
    want = commands.parse(said)
    got = [commands.parse(u.text) for u in utts]
    return len(got) == 1 and got[0] is not None and got[0].intent is want.intent \
        and dict(got[0].slots) == dict(want.slots)


def _score(rec, commands, noisy: bool) -> tuple[int, int, list]:
    ok, misses = 0, []
    for i, said in enumerate(COMMANDS):
        for j, (voice, rate) in enumerate(VOICES):
            speech = speak(said, voice, rate)
            audio = pad(speech)
            if noisy:
                audio = mix_pink(add_floor(audio, seed=i), 12, seed=i * 10 + j,
                                 speech_rms=active_rms(speech))
            utts = hear(rec, audio)
            if right(commands, said, utts):
                ok += 1
            else:
                misses.append((said, voice, rate, [u.text for u in utts]))
    return ok, len(COMMANDS) * len(VOICES), misses


def test_clean_commands(rec, commands) -> None:
    ok, total, misses = _score(rec, commands, noisy=False)
    assert ok / total >= 0.8, misses  # measured 27/32 = 84%


def test_noisy_commands(rec, commands) -> None:
    ok, total, misses = _score(rec, commands, noisy=True)
    assert ok / total >= 0.7, misses  # measured 23/32 = 72%


def test_utterance_times(rec, commands) -> None:
    speech = speak("pause", "en-us", 160)
    audio = pad(speech, before=0.7, after=0.8)
    utts = hear(rec, audio)
    assert [commands.parse(u.text).intent for u in utts] == [Intent.PAUSE]
    real_end = 0.7 + speech.size / RATE
    u = utts[0]
    assert abs(u.start - 0.7) < 0.15 and abs(u.end - real_end) < 0.15
    assert u.end <= u.decided < real_end + 0.5
    assert 0.0 <= u.confidence <= 1.0


def test_odd_chunk_sizes(rec, commands) -> None:
    audio = pad(speak("stop", "en-us", 160))
    rec.reset()
    data = audio.astype("<i2").tobytes()
    utts = []
    for i in range(0, len(data), 1234):
        utts += rec.accept(data[i:i + 1234])
    utts += rec.flush()
    assert [commands.parse(u.text).intent for u in utts] == [Intent.STOP]


def test_silence_and_noise_yield_nothing(rec) -> None:
    assert hear(rec, np.zeros(RATE * 3, dtype=np.int16)) == []
    assert hear(rec, mix_pink(add_floor(np.zeros(RATE * 3, dtype=np.int16)), 0,
                              speech_rms=2000.0)) == []


@pytest.mark.parametrize("path", recordings(), ids=lambda p: p.name)
def test_human_reading_yields_nothing(rec, path) -> None:
    assert hear(rec, load_wav(path)) == []


@pytest.mark.parametrize("sentence", CHATTER[:6])
def test_chatter_yields_nothing(rec, sentence: str) -> None:
    assert hear(rec, add_floor(pad(speak(sentence, "en-us", 160)))) == []


def hear_over(rec: PocketsphinxRecognizer, audio: np.ndarray,
              voice: CompanionVoice) -> list[Utterance]:
    """As :func:`hear`, with the companion voicing ``voice`` all through the clip."""
    rec.reset()
    rec.set_companion_voice(voice)
    try:
        return stream(rec, audio)
    finally:
        rec.set_companion_voice(CompanionVoice.QUIET)


TALKING, ASKING = CompanionVoice.TALKING, CompanionVoice.ASKING


@pytest.mark.parametrize("said,voice,taken", [
    ("stop", TALKING, True), ("pause", TALKING, True), ("quieter", TALKING, True),
    ("what can i say", TALKING, False), ("play wind down", TALKING, False),
    ("no thanks", TALKING, False), ("yes please", ASKING, True), ("no", ASKING, True),
    ("what can i say", ASKING, False),
])
def test_over_its_voice_only_what_changes_its_voice_is_taken(rec, commands, said, voice,
                                                              taken) -> None:
    """While it talks: stop, pause, softer and the like; while it asks, yes and no too.
    Questions and new routines wait for its quiet, where they are heard."""
    audio = add_floor(pad(speak(said, "en-us", 160)))
    assert right(commands, said, hear(rec, audio))
    intents = [commands.parse(u.text).intent for u in hear_over(rec, audio, voice)]
    want = commands.parse(said).intent
    assert intents == [want] if taken else want not in intents, intents


def test_make_recognizer(commands) -> None:
    assert isinstance(make_recognizer("pocketsphinx", commands, None), PocketsphinxRecognizer)
    with pytest.raises(ValueError):
        make_recognizer("whisper", commands, None)


def test_a_dropout_in_a_noisy_room_does_not_deafen_it(rec, commands) -> None:
    """100 ms of near-silence (a microphone glitch) in steady room noise, then "pause":
    the glitch must not become the noise floor, or the room noise counts as speech."""
    speech = speak("pause", "en-us", 160)
    room = mix_pink(add_floor(pad(speech, before=1.6, after=0.8)), 15, seed=3,
                    speech_rms=active_rms(speech))
    room[int(0.9 * RATE):int(1.0 * RATE)] //= 200
    utts = hear(rec, room)
    assert [commands.parse(u.text).intent for u in utts] == [Intent.PAUSE]


def test_commands_back_to_back_without_a_reset(rec, commands) -> None:
    """Several files streamed through one recogniser, each ended with ``flush``: the
    zero padding of a file's last partial frame must not throw the next file off."""
    rec.reset()
    heard = []
    for said in ("pause", "louder", "wait", "skip"):
        audio = add_floor(pad(speak(said, "en-us", 150), 0.5, 0.77), seed=len(said))
        heard.append([commands.parse(u.text).intent.value for u in stream(rec, audio)])
    assert heard == [["pause"], ["louder"], ["pause"], ["skip"]]


FIRST_WORDS = [("red", "en-us+f4", 135), ("red", "en-gb-x-rp", 160), ("red", "en-gb+m3", 175),
               ("wait", "en-us+f2", 150), ("wait", "en-gb-x-rp", 160),
               ("goodnight", "en-us+m1", 145)]


def test_the_first_words_after_start_up_are_heard_in_a_noisy_room(commands) -> None:
    """A new recogniser has heard nobody yet: its speech normalisation must come from
    what is said, not from a preset. Each phrase is the first thing a new recogniser
    hears, in four rooms at 12 dB. Measured: 22 of 24 heard; 14 with the preset."""
    heard, missed = 0, []
    for said, voice, rate in FIRST_WORDS:
        speech = speak(said, voice, rate)
        for seed in range(4):
            audio = mix_pink(add_floor(pad(speech, 0.6, 0.8), seed=seed), 12, seed=100 + seed,
                             speech_rms=active_rms(speech))
            utts = stream(PocketsphinxRecognizer(commands), audio)
            if right(commands, said, utts):
                heard += 1
            else:
                missed.append(f"{said} {voice} {seed}: {[u.text for u in utts]}")
    assert heard >= 20, missed


BRITISH_WORDS = ["faster", "slower", "louder", "quieter", "softer", "play aftercare"]
BRITISH_VOICES = [("en-gb", 130), ("en-gb", 160), ("en-gb+f2", 130), ("en-gb+f2", 160),
                  ("en-gb-x-rp", 150), ("en-gb+m3", 175)]


def test_british_voices_are_heard_saying_words_that_end_in_er(rec, commands) -> None:
    """The model is American; a British "faster" has a long A and ends in a schwa, not an
    R. Measured with US pronunciations only: 30 of 36 heard (every "faster" as "softer");
    with the British forms as well: 35."""
    heard, missed = 0, []
    for i, said in enumerate(BRITISH_WORDS):
        for j, (voice, rate) in enumerate(BRITISH_VOICES):
            utts = hear(rec, add_floor(pad(speak(said, voice, rate)), seed=i * 10 + j))
            if right(commands, said, utts):
                heard += 1
            else:
                missed.append(f"{said} {voice} {rate}: {[u.text for u in utts]}")
    assert heard >= 33, missed


ROOM_STEP_VOICES = [("en-us", 160), ("en-gb", 140), ("en-us+m3", 130), ("en-gb+f2", 160),
                    ("en-us+m7", 150)]


def test_stop_is_heard_just_after_the_room_gets_louder(commands) -> None:
    """A quiet room, then a fan switches on, and "stop" comes 0.3 or 0.6 s later. The noise
    floor has not caught up yet, so the fan counts as speech at first. Measured: 3 of these
    10 stops heard before the utterance was measured against the room's new level; 9 after."""
    heard = []
    for voice, rate in ROOM_STEP_VOICES:
        said = speak("stop", voice, rate)
        for lead in (0.3, 0.6):
            fan = pink_noise(int((lead + 1.1) * RATE), seed=3) * active_rms(said) / 10 ** 0.6
            fan[int(lead * RATE):int(lead * RATE) + said.size] += said
            room = concat(add_floor(silence(2.0), seed=1),
                          add_floor(np.clip(np.round(fan), -32768, 32767).astype(np.int16), seed=2))
            utts = hear(PocketsphinxRecognizer(commands), room)
            heard.append((voice, lead, [commands.parse(u.text).intent.value for u in utts]))
    assert sum(intents == ["stop"] for _, _, intents in heard) >= 8, heard
