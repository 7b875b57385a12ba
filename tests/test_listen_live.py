"""The real microphone path: commands played into the PulseAudio null sink are heard by
`companion listen` on its monitor source and acted on; its own voice comes back too."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.live_room import Person, events_of, interrupt, wait_for, write_command


@pytest.fixture()
def person(pulse_null_sink):
    """Someone in the room, whose voice stream is open before the companion starts."""
    with Person() as someone:
        yield someone


@pytest.fixture()
def stop_wav(tmp_path):
    """ "stop", made before the companion starts, so it can be said the moment it listens."""
    return write_command(tmp_path / "stop-first.wav", "stop")


@pytest.fixture()
def live_listen(pulse_null_sink, companion_env, tmp_path, person):
    events = tmp_path / "events.jsonl"
    # SIGINT back to default in the child: run in the background by a shell without job
    # control, pytest's children start with it ignored, and Ctrl-C below would do nothing.
    proc = subprocess.Popen([sys.executable, "-m", "companion", "listen", "--events", str(events)],
                            env=companion_env, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    ready = False
    end = time.monotonic() + 30
    while time.monotonic() < end and not ready:
        line = proc.stderr.readline()
        ready = line.startswith("Listening")
        if not line and proc.poll() is not None:
            break
    assert ready, f"companion listen did not start (exit {proc.poll()})"
    # Keep reading its stderr: a full pipe would block the companion on its next line.
    drain = threading.Thread(target=proc.stderr.read, daemon=True)
    drain.start()
    yield proc, events
    interrupt(proc)


def test_a_spoken_command_in_the_room_is_heard_and_stop_cuts_it(live_listen, person, tmp_path):
    proc, events_path = live_listen
    play, stop = tmp_path / "play.wav", tmp_path / "stop.wav"
    write_command(play, "play aftercare")
    write_command(stop, "stop")
    person.say(play)
    events = wait_for(lambda ev: any(e["type"] == "say_start" for e in ev), events_path, 10)
    assert [e["intent"] for e in events if e["type"] == "heard"][:1] == ["play"]
    assert any(e["type"] == "routine_start" and e["routine"] == "aftercare" for e in events)
    time.sleep(4.0)  # it is speaking now, and hears itself through the monitor
    before = len(events_of(events_path))
    person.say(stop)
    # The routine ends when its fade-out has played, a moment after the stop is heard.
    events = wait_for(lambda ev: any(e["type"] == "heard" and e["intent"] == "stop"
                                     for e in ev[before:])
                      and any(e["type"] == "routine_end" for e in ev), events_path, 10)
    assert any(e["type"] == "heard" and e["intent"] == "stop" for e in events[before:]), events
    ends = [e for e in events if e["type"] == "routine_end"]
    assert ends and ends[0]["reason"] == "stopped"
    assert proc.poll() is None  # still listening after stop
    heard = [e["intent"] for e in events if e["type"] == "heard"]
    # It never takes its own voice or start tone for a command (self_heard_per_min in the
    # benchmark has been 0 since the echo gate learns the echo's level near the output's peaks).
    assert heard == ["play", "stop"], f"it heard its own voice or start tone: {heard}"


def test_a_stop_said_the_moment_it_says_listening_is_heard(stop_wav, live_listen, person):
    """"Listening." means it hears now: the voice engine still loading in the background
    (it loads after "Listening.") does not keep a stop from being heard."""
    proc, events_path = live_listen
    person.say(stop_wav)
    events = wait_for(lambda ev: any(e["type"] == "heard" for e in ev), events_path, 10)
    assert [e["intent"] for e in events if e["type"] == "heard"] == ["stop"], events
    assert proc.poll() is None
