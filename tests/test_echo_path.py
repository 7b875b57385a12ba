"""Lining the companion's output up with its echo, on real espeak-ng speech and the real
start tone: what the live loop's echo canceller is given."""

from __future__ import annotations

import numpy as np
import pytest

from companion.audio.echo import EchoCanceller
from companion.audio.echo_path import AlignedReference
from companion.audio.resample import Resampler
from companion.audio.sounds import chime
from companion.audio.stream import INPUT_RATE, OUTPUT_RATE
from tests.clips import room_echo, speak

SR = INPUT_RATE
BLOCK = 220
"""The output device's block (10 ms at 22050 Hz)."""


@pytest.fixture(scope="module")
def sentence() -> np.ndarray:
    """A routine's sentence at the output rate (float, as the player renders it)."""
    x = speak("Hello. I'm here, and there's no rush. Let's breathe together, slowly.",
              voice="en-us+f4", rate=135).astype(np.float32) / 32768 * 0.5
    return Resampler(SR, OUTPUT_RATE).process(x).astype(np.float32)


def heard_by_mic(output: np.ndarray, lag: int, seed: int = 1) -> np.ndarray:
    """``output`` (output rate) as the microphone hears it: at 16 kHz, ``lag`` samples
    after its place in the output count, through a -6 dB room path, over a faint floor."""
    at16 = Resampler(OUTPUT_RATE, SR).process(output).astype(np.float64)
    rng = np.random.default_rng(seed)
    echo = room_echo(at16, 0.0, seed)
    shifted = np.zeros(len(at16) + max(lag, 0))
    if lag >= 0:
        shifted[lag:lag + len(echo)] = echo
    else:
        shifted[:len(echo) + lag] = echo[-lag:]
    return (shifted + 10 ** (-70 / 20) * rng.standard_normal(len(shifted))).astype(np.float32)


def run_loop(output: np.ndarray, mic: np.ndarray, lag: int,
             reference: AlignedReference | None = None, dropped: range = range(0)
             ) -> tuple[AlignedReference, list[int | None], np.ndarray, np.ndarray]:
    """The live loop's order of events: the output device takes each block 100 ms before
    the microphone chunk that hears it (delayed ``lag``) is read. Returns the reference,
    its lag after every chunk, the aligned reference and the newest output per chunk.
    Microphone chunks at indexes in ``dropped`` are lost (the loop fell behind)."""
    ahead = SR // 10 - lag
    reference = reference or AlignedReference(OUTPUT_RATE)
    pushed, lags, aligned, newest = 0, [], [], []
    for i in range(0, len(mic) - 320, 320):
        while pushed * SR / OUTPUT_RATE < i + 320 + ahead and pushed < len(output):
            reference.push(output[pushed:pushed + BLOCK])
            pushed += BLOCK
        if i // 320 in dropped:
            continue
        if i // 320 - 1 in dropped:
            reference.skip_input(len(dropped) * 320)
        a, b = reference.take(mic[i:i + 320])
        lags.append(reference.lag)
        aligned.append(a)
        newest.append(b)
    return reference, lags, np.concatenate(aligned), np.concatenate(newest)


@pytest.mark.parametrize("lag", [1743, 5108, -3126], ids=["109ms", "319ms", "count-ahead"])
def test_finds_the_echo_delay_and_the_canceller_then_removes_the_echo(
        sentence: np.ndarray, lag: int) -> None:
    """Live on the null sink the delay from an output sample to its echo was 110-320 ms,
    different in every run, while the old reference queue assumed 40-100 ms: the canceller
    took 1-2 dB off the companion's voice. Here the delay must be found (to 2 samples, as
    the live runs' delays held to the sample) within the sentence, and the canceller, given
    the lined-up reference, must take at least 10 dB off the echo after that (10-20 dB
    replayed from live recordings)."""
    output = np.concatenate([np.zeros(OUTPUT_RATE // 2, np.float32), sentence])
    mic = heard_by_mic(output, lag)
    reference, lags, aligned, _ = run_loop(output, mic, lag)
    assert reference.lag is not None and abs(reference.lag - lag) <= 2, lags[-1]
    found = next(k for k, v in enumerate(lags) if v is not None) * 320
    assert found < len(mic) * 0.6
    canceller = EchoCanceller(SR)
    n = len(aligned)
    cleaned = np.concatenate([canceller.process(mic[i:i + 320], aligned[i:i + 320])
                              for i in range(found, n, 320)])
    rest = slice(len(cleaned) // 3, len(cleaned))  # after it converged
    heard = mic[found:found + len(cleaned)][rest]
    removed = 10 * np.log10(np.sum(np.square(heard)) / np.sum(np.square(cleaned[rest])))
    assert removed >= 10.0, f"{removed:.1f} dB"


def test_before_the_delay_is_known_the_output_comes_before_its_echo(
        sentence: np.ndarray) -> None:
    """Until the delay is found, what the echo gate is given must never come after the
    echo it explains, or the echo's first words pass as a person's voice."""
    output = np.concatenate([np.zeros(OUTPUT_RATE // 2, np.float32), sentence])
    mic = heard_by_mic(output, 5108)
    _, _, _, newest = run_loop(output, mic, 5108)
    loud = np.abs(newest) > 0.01
    heard = np.abs(mic[:len(newest)]) > 0.01
    assert np.argmax(loud) < np.argmax(heard)


def test_a_delay_that_moves_is_found_again(sentence: np.ndarray) -> None:
    """On the null sink the delay moved when another stream started (by 50-400 ms);
    the reference must follow within a few seconds of speech."""
    output = np.concatenate([np.zeros(OUTPUT_RATE // 2, np.float32), sentence, sentence,
                             sentence])
    half = len(output) // 3 + len(sentence) // 2
    first = heard_by_mic(output, 1743)
    moved = heard_by_mic(output, 1743 - 2000)  # 125 ms of output never played
    mic = np.concatenate([first[:int(half * SR / OUTPUT_RATE)],
                          moved[int(half * SR / OUTPUT_RATE):]])
    reference, lags, _, _ = run_loop(output, mic, 1743)
    assert 1743 in lags
    assert reference.lag == pytest.approx(1743 - 2000, abs=2)
    assert reference.generation == 2


def test_the_start_tone_alone_sets_no_wrong_delay() -> None:
    """The start tone's two notes match each other as well as their echo: live, delays
    learned from it alone were off by 250 ms. It may teach the right delay or none."""
    tone = (0.5 * chime("ack", OUTPUT_RATE)).astype(np.float32)
    output = np.concatenate([np.zeros(OUTPUT_RATE // 2, np.float32), tone,
                             np.zeros(2 * OUTPUT_RATE, np.float32)])
    mic = heard_by_mic(output, 4330)
    _, lags, _, _ = run_loop(output, mic, 4330)
    assert {v for v in lags if v is not None} <= set(range(4328, 4333))


def test_output_played_before_the_microphone_starts_is_not_counted(
        sentence: np.ndarray) -> None:
    """The speaker starts ~2 s before the microphone's first chunk: counted from each
    side's first sample, the echo looked 2-3.5 s early live, outside the delays looked
    for, and the canceller never started. ``start`` counts both from the same moment."""
    reference = AlignedReference(OUTPUT_RATE)
    early = sentence[:int(2.5 * OUTPUT_RATE)]
    for k in range(0, len(early), BLOCK):
        reference.push(early[k:k + BLOCK])
    reference.start()
    output = np.concatenate([np.zeros(OUTPUT_RATE // 2, np.float32), sentence])
    reference, _, _, _ = run_loop(output, heard_by_mic(output, 1743), 1743, reference)
    assert reference.lag is not None and abs(reference.lag - 1743) <= 2, reference.lag


def test_microphone_chunks_lost_while_behind_keep_the_delay(sentence: np.ndarray) -> None:
    """When the loop falls a second behind, the oldest microphone chunks are dropped.
    Counted as silence, the delay stays right (not 0.5 s off), and is in doubt until an
    estimate confirms it."""
    output = np.concatenate([np.zeros(OUTPUT_RATE // 2, np.float32), sentence, sentence])
    mic = heard_by_mic(output, 1743)
    middle = len(mic) // 2 // 320
    dropped = range(middle, middle + 25)
    doubted: list[bool] = []

    class Watched(AlignedReference):
        def skip_input(self, n: int) -> None:
            super().skip_input(n)
            doubted.append(not self.settled)

    reference, lags, _, _ = run_loop(output, mic, 1743, Watched(OUTPUT_RATE), dropped)
    assert {v for v in lags if v is not None} <= set(range(1741, 1746)), set(lags)
    assert doubted == [True]
    assert reference.settled
