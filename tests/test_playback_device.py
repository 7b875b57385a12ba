"""Real playback: routines through sounddevice into the PulseAudio null sink, recorded back
from its monitor, as a person in the room would hear them."""

from __future__ import annotations

import math
import random
import sys
import threading
import time

import numpy as np
import pytest

from companion.audio.device_streams import SoundDeviceSink, SoundDeviceSource
from companion.routines.model import Pause, Routine, Say
from companion.session.events import EventLog
from companion.session.playback import RealtimeOutput
from companion.session.player import RoutinePlayer
from companion.session.player_state import PlayerState, PlayerStatus
from companion.speech.voices import Voice
from tests.audio_checks import loud_spans

VOICE = Voice("test", espeak_voice="en-us", rate=150, volume=1.0)
IN_RATE = 16000


class Recorder:
    """Records the monitor source on a thread until stopped."""

    def __init__(self) -> None:
        self.source = SoundDeviceSource(None)
        assert self.source.wait_ready(timeout=10)
        self.source.clear()
        self.chunks: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            chunk = self.source.read(timeout=0.2)
            if chunk:
                self.chunks.append(chunk)

    def seconds(self) -> float:
        """How much has been recorded so far."""
        return sum(len(c) for c in self.chunks) / 2 / IN_RATE

    def stop(self) -> np.ndarray:
        self._stop.set()
        self._thread.join()
        self.source.close()
        return np.frombuffer(b"".join(self.chunks), "<i2").astype(np.float32) / 32768


def play_live(synth, routine: Routine, cap_db: float = -6.0, stop_after: float | None = None):
    log = EventLog()
    player = RoutinePlayer(synth, lambda name: VOICE, lambda name: None, cap_db=cap_db,
                           on_event=log, rng=random.Random(1))
    for _ in range(3):
        player.louder()
    sink = SoundDeviceSink(None, sample_rate=player.sample_rate)
    assert sink.wait_ready(timeout=10)
    recorder = Recorder()
    output = RealtimeOutput(player, sink)
    player.start(routine)
    output.start()
    began = time.monotonic()
    stopped_at_frame = None
    while player.busy and time.monotonic() - began < 60:
        if stop_after is not None and stopped_at_frame is None and \
                time.monotonic() - began > stop_after:
            stopped_at_frame = player.frames
            output.stop_now()
        time.sleep(0.01)
    # What the monitor records lags what was written (the sound server buffers it): the
    # routine has been heard once the recording reaches its end on the timeline.
    end = log.of_type("routine_end")[-1].t if log.of_type("routine_end") else 0.0
    while recorder.seconds() < end + 0.5 and time.monotonic() - began < 60:
        time.sleep(0.05)
    output.close()
    sink.close()
    ahead = sink.frames_written / sink.sample_rate - (time.monotonic() - began)
    assert ahead < 1.0, (f"the speaker took {ahead:.1f} s more audio than real time: PortAudio "
                         "or the sound server dropped it (CPU starved?), so what was heard is "
                         "not what was played")
    return recorder.stop(), log, stopped_at_frame


def test_speech_and_silence_arrive_where_the_routine_puts_them(pulse_null_sink, synth):
    routine = Routine("dev", "Dev", (Say(("Hello, I am right here with you.",)), Pause(2.5),
                                     Say(("And now we are done.",))))
    recording, log, _ = play_live(synth, routine, cap_db=-9.0)
    spans = loud_spans(recording, IN_RATE, threshold=0.02, min_gap_s=1.0)
    assert len(spans) == 2, spans
    gap = spans[1][0] - spans[0][1]
    said = [e.t for e in log.of_type("say_start")]
    said_end = [e.t for e in log.of_type("say_end")]
    print(f"gap heard {gap:.3f} s, gap rendered {said[1] - said_end[0]:.3f} s")
    assert gap == pytest.approx(said[1] - said_end[0], abs=0.15)
    assert np.max(np.abs(recording)) <= 10 ** (-9 / 20) * 1.02  # cap holds on the device
    assert np.max(np.abs(recording)) > 10 ** (-9 / 20) * 0.5


def test_stop_cuts_a_sentence_short_on_the_real_device(pulse_null_sink, synth):
    long = ("This sentence is long on purpose, it goes on and on, slowly, with many words, "
            "so that there is plenty of it left when stop arrives.")
    recording, log, stopped_frame = play_live(synth, Routine("s", "S", (Say((long,)),)),
                                              stop_after=2.0)
    spans = loud_spans(recording, IN_RATE, threshold=0.003, min_gap_s=0.5)
    assert spans, "nothing was heard"
    heard = spans[-1][1] - spans[0][0]
    full = len(synth.synthesize(long, VOICE)) / synth.sample_rate
    rendered = stopped_frame / synth.sample_rate
    print(f"heard {heard:.3f} s of a {full:.1f} s sentence; rendered {rendered:.3f} s at stop; "
          f"stop to silence about {1000 * (heard - rendered):.0f} ms")
    assert heard < full / 2
    assert log.of_type("routine_end")[-1].data["reason"] == "stopped"


def test_status_read_from_another_thread_is_never_torn(pulse_null_sink, synth):
    """The status line reads ``status()`` on its own thread while the output thread
    renders: every snapshot must be one consistent moment of the routine."""
    said = ("Breathe in.", "And out.", "Once more.", "Good.")
    steps: list[Say | Pause] = []
    for text in said:
        steps += [Say((text,)), Pause(0.3)]
    routine = Routine("calm", "Calm", tuple(steps))
    events = EventLog()
    player = RoutinePlayer(synth, lambda name: VOICE, lambda name: None, on_event=events,
                           rng=random.Random(1))
    sink = SoundDeviceSink(None, sample_rate=player.sample_rate)
    output = RealtimeOutput(player, sink)
    seen: dict[PlayerStatus, None] = {}
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen[player.status()] = None

    reader = threading.Thread(target=read)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(2e-5)  # threads switch every few bytecodes: races show up
    try:
        assert sink.wait_ready(timeout=10)
        reader.start()
        player.start(routine)
        output.start()
        began = time.monotonic()
        while not events.of_type("routine_end") and time.monotonic() - began < 60:
            time.sleep(0.02)
        time.sleep(0.3)
    finally:
        sys.setswitchinterval(switch)
        done.set()
        if reader.is_alive():
            reader.join()
        output.close()
        sink.close()
    print(f"{len(seen)} distinct snapshots")
    torn = [s for s in seen if not (
        math.isfinite(s.seconds_left) and s.seconds_left >= 0
        and (s.routine is None) == (s.state is PlayerState.IDLE)
        and (s.routine is not None or (s.saying is None and s.seconds_left == 0))
        and s.routine in (None, "calm") and s.saying in (None, *said))]
    assert not torn, torn[:5]
    assert {s.saying for s in seen} >= set(said)  # it saw both sentences being said
    assert player.status() == PlayerStatus(PlayerState.IDLE, None, None, 0.0)
