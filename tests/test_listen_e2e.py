"""End to end: `companion listen --input` on generated spoken sessions, checked on the
events it writes and the audio it would have played (same timeline as the input)."""

from __future__ import annotations

import json
import wave

import numpy as np
import pytest

from tests import clips
from tests.audio_checks import silent_after
from tests.userfiles import write_user_routine

OUT_RATE = 22050


def write_session(path, parts: list[tuple[str, float]], voice: str = "en-us",
                  room_dbfs: float | None = None) -> dict[str, float]:
    """Silence and spoken commands in order, over a faint microphone floor (and pink room
    noise at ``room_dbfs``, a fan); returns when each command's speech ends."""
    audio: list[np.ndarray] = []
    ends: dict[str, float] = {}
    t = 0
    for text, gap in parts:
        if text:
            spoken = clips.speak(text, voice=voice, rate=150)
            audio.append(spoken)
            t += len(spoken)
            ends[text] = t / clips.RATE
        audio.append(clips.silence(gap))
        t += int(round(gap * clips.RATE))
    pcm = clips.add_floor(clips.concat(*audio))
    if room_dbfs is not None:
        fan = clips.pink_noise(pcm.size, seed=5) * 32768 * 10 ** (room_dbfs / 20)
        pcm = np.clip(pcm + fan, -32768, 32767).astype(np.int16)
    clips.save_wav(path, pcm)
    return ends


def read_output(path) -> np.ndarray:
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768


def read_events(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run_listen(run_companion, tmp_path, parts, *extra: str, room_dbfs: float | None = None):
    session = tmp_path / "in.wav"
    ends = write_session(session, parts, room_dbfs=room_dbfs)
    out, events = tmp_path / "out.wav", tmp_path / "events.jsonl"
    result = run_companion("listen", "--input", session, "--output", out, "--events", events,
                           *extra)
    assert result.returncode == 0, result.stderr
    return ends, read_output(out), read_events(events)


def heard(events: list[dict]) -> list[str]:
    return [e["intent"] for e in events if e["type"] == "heard"]


SESSION = [("", 1.0), ("play breathing", 6.0), ("pause", 3.0), ("resume", 5.0), ("stop", 3.0)]


@pytest.mark.parametrize("echo", [None, "-6"])
def test_play_pause_resume_stop(run_companion, tmp_path, echo):
    extra = ("--echo-db", echo) if echo else ()
    ends, output, events = run_listen(run_companion, tmp_path, SESSION, *extra)
    assert heard(events) == ["play", "pause", "resume", "stop"]
    play = next(e for e in events if e["type"] == "heard")
    assert play["slots"] == {"routine": "breathing"}
    types = [e["type"] for e in events]
    assert types.index("routine_start") < types.index("paused") < types.index("resumed")
    end = [e for e in events if e["type"] == "routine_end"]
    assert end and end[-1]["reason"] == "stopped"
    # the companion answered at once (a soft tone, then the routine), silent while paused
    onset = np.flatnonzero(np.abs(output) > 10 ** (-50 / 20))[0] / OUT_RATE
    assert ends["play breathing"] < onset < ends["play breathing"] + 0.5
    pause_t = ends["pause"]
    paused = output[int((pause_t + 0.5) * OUT_RATE): int((ends["resume"] - 0.1) * OUT_RATE)]
    assert np.max(np.abs(paused)) < 10 ** (-50 / 20)
    # nothing is spoken after stop; the output goes quiet right after the command
    stop_t = next(e["t"] for e in events if e["type"] == "heard" and e["intent"] == "stop")
    assert not [e for e in events if e["type"] == "say_start" and e["t"] > stop_t]
    quiet_after = silent_after(output, OUT_RATE, ends["stop"])
    print(f"echo {echo}: end of 'stop' to silence {1000 * quiet_after:.0f} ms")
    assert quiet_after < 0.6


def test_commands_over_its_own_voice_with_a_fan_running(run_companion, tmp_path):
    """Room noise (pink, -50 dBFS) plus the companion's voice mixed back at -6 dB: the gate
    that hides its voice must leave the fan's noise in place, or every pause and stop said
    over its voice is lost in "speech" that never ends."""
    _, _, events = run_listen(run_companion, tmp_path, SESSION, "--echo-db", "-6", room_dbfs=-50)
    assert heard(events) == ["play", "pause", "resume", "stop"]


def test_the_companion_does_not_obey_its_own_voice(run_companion, tmp_path, companion_env):
    """A routine that keeps saying command words, mixed back at -6 dB: nothing is heard."""
    write_user_routine(companion_env, "tricky", """\
name: tricky
title: Tricky
aliases: [tricky]
steps:
  - say: You can say stop at any time.
  - pause: 1s
  - say: Pause. Wait. Skip. Next. Louder. Softer.
  - pause: 1s
  - say: Stop. Stop please. That's enough.
  - pause: 1s
  - say: Play wind down. Play aftercare. Goodnight.
  - pause: 1s
  - say: This is the end.
""")
    ends, output, events = run_listen(run_companion, tmp_path,
                                      [("", 0.5), ("play tricky", 30.0)], "--echo-db", "-6")
    assert heard(events) == ["play"]
    assert not [e for e in events if e["type"] in ("paused", "resumed")]
    said = [e["text"] for e in events if e["type"] == "say_start"]
    assert said[-1] == "This is the end."  # it went on to the end, undisturbed


@pytest.mark.parametrize("echo", [None, "-6"])
def test_a_question_asked_over_its_voice_waits_for_its_quiet(run_companion, tmp_path,
                                                             companion_env, echo):
    """"What can I say" said over its sentence is not taken (its own words under a "stop"
    sounded like such commands); "help" said in the pause after is answered."""
    write_user_routine(companion_env, "patience", """\
name: patience
title: Patience
aliases: [patience]
steps:
  - say: Take all the time you need. There is nothing you have to do right now.
  - pause: 9s
  - say: This is the end.
""")
    extra = ("--echo-db", echo) if echo else ()
    ends, output, events = run_listen(run_companion, tmp_path,
                                      [("", 0.5), ("play patience", 1.5),
                                       ("what can i say", 7.0), ("help", 4.0)], *extra)
    assert heard(events) == ["play", "help"]
    sentence = next(e for e in events if e["type"] == "say_start")
    sentence_end = next(e["t"] for e in events if e["type"] == "say_end")
    assert sentence["t"] < ends["what can i say"] - 1.0 < sentence_end  # the first: over it
    help_heard = [e["t"] for e in events if e["type"] == "heard"][1]
    assert help_heard > ends["help"] > sentence_end + 1.0  # the second one, in the pause
    said = [e["text"] for e in events if e["type"] == "say_start"]
    assert said[1].startswith("You can say")


def test_a_question_is_answered_by_voice(run_companion, tmp_path, companion_env):
    write_user_routine(companion_env, "water", """\
name: water
title: Water
aliases: [water]
steps:
  - ask: Would you like some water?
    timeout: 8s
    yes: [{say: Take your time.}]
    no: [{say: Okay then.}]
    silence: [{say: That's fine.}]
""")
    ends, output, events = run_listen(run_companion, tmp_path,
                                      [("", 0.5), ("play water", 3.5), ("yes", 4.0)])
    said = [e["text"] for e in events if e["type"] == "say_start"]
    assert said == ["Would you like some water?", "Take your time."]


def test_chatter_starts_nothing(run_companion, tmp_path):
    parts = [("", 0.5)] + [(sentence, 1.0) for sentence in clips.CHATTER[:6]]
    ends, output, events = run_listen(run_companion, tmp_path, parts)
    assert heard(events) == []
    assert np.max(np.abs(output)) == 0.0


def test_an_unreadable_wav_is_one_clear_line(run_companion, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_text("this is not audio")
    result = run_companion("listen", "--input", bad)
    assert result.returncode != 0
    assert str(bad) in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_transcribe_prints_one_json_object_per_command(run_companion, tmp_path):
    session = tmp_path / "t.wav"
    ends = write_session(session, [("", 0.5), ("softer", 1.0), ("stop", 1.0)])
    result = run_companion("transcribe", session, "--json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["intent"] for r in records] == ["softer", "stop"]
    assert records[1]["end"] == pytest.approx(ends["stop"], abs=0.2)
