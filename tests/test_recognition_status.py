"""What is wrong with the microphone reaches the status line (live loop, real recogniser)."""

from __future__ import annotations

import io

import numpy as np

from companion.audio.echo_path import AlignedReference
from companion.recognition.commands import CommandSet
from companion.recognition.pocketsphinx_engine import PocketsphinxRecognizer
from companion.session.context import Context
from companion.session.listening import LiveLoop
from companion.session.session import Session
from companion.session.status import StatusLine
from tests.test_recognition_pocketsphinx import ROUTINES


class _FakeListSource:
    """Stands in for the microphone stream: hands out prepared 20 ms chunks, then ends."""

    sample_rate = 16000
    overflows = 0

    def __init__(self, audio: np.ndarray) -> None:
        data = audio.astype("<i2").tobytes()
        self._chunks = [data[i:i + 640] for i in range(0, len(data), 640)]

    def read(self, timeout: float | None = None) -> bytes | None:
        return self._chunks.pop(0) if self._chunks else None

    def close(self) -> None:
        self._chunks = []


def _status_after(audio: np.ndarray, synth) -> str:
    context = Context.load(None)
    player = context.player(synth)
    commands = CommandSet.load(ROUTINES)
    session = Session(commands, player, context.routines)
    status = StatusLine(player, session, stream=io.StringIO())
    loop = LiveLoop(_FakeListSource(audio), PocketsphinxRecognizer(commands), session, player,
                    AlignedReference(player.sample_rate), on_tick=status.update,
                    on_input_problem=status.input_problem)
    loop.run()
    return status.text()


def test_live_loop_fake_source_names_a_clipping_microphone_on_the_status_line(synth) -> None:
    rng = np.random.default_rng(5)
    clipped = np.clip(rng.normal(0, 30000, 16000 * 5), -32768, 32767).astype(np.int16)
    assert "clipping" in _status_after(clipped, synth)


def test_live_loop_fake_source_says_nothing_about_a_working_microphone(synth) -> None:
    rng = np.random.default_rng(5)
    room = rng.normal(0, 60, 16000 * 7).astype(np.int16)
    assert "microphone" not in _status_after(room, synth)
    assert "noisy" not in _status_after(room, synth)
