"""Which output blocks a device will play: a callback storm's are not (PaceGuard), on the
callback timings measured live on the null sink."""

from __future__ import annotations

from companion.audio.pace import PaceGuard

RATE, BLOCK = 24000, 220
PERIOD = BLOCK / RATE


def test_steady_callbacks_are_all_played_even_on_a_clock_a_little_fast() -> None:
    """A device's clock is never the wall clock: 2% fast for ten minutes, every block is
    still handed its audio."""
    guard = PaceGuard(RATE)
    t = 100.0
    for _ in range(int(600 / PERIOD)):
        assert guard.keeps_pace(BLOCK, t)
        t += PERIOD / 1.02
    assert guard.withheld == 0


def test_a_storm_is_withheld_past_the_limit_and_the_stream_then_plays_on() -> None:
    """Measured live: 862 callbacks (8.1 s of audio) in 0.5 s of wall clock after an
    underrun. Only real time plus the limit is handed audio; steady callbacks after it
    are played again."""
    guard = PaceGuard(RATE)
    t = 0.0
    for _ in range(500):  # 4.6 s steady
        guard.keeps_pace(BLOCK, t)
        t += PERIOD
    storm = [guard.keeps_pace(BLOCK, t + k * 0.5 / 862) for k in range(862)]
    handed = sum(storm) * PERIOD
    assert 0.5 <= handed <= 0.5 + guard.limit_s + PERIOD, handed
    assert guard.withheld == (862 - sum(storm)) * BLOCK
    t += 0.5
    after = [guard.keeps_pace(BLOCK, t + k * PERIOD) for k in range(2, 300)]
    assert all(after[50:]), "steady callbacks after a storm must be played"


def test_a_stream_that_starts_again_after_a_pause_is_played_from_its_priming() -> None:
    """A stream reopened (or stalled half a second) starts afresh: its priming burst, a
    few blocks at once, is played."""
    guard = PaceGuard(RATE)
    for k in range(100):
        guard.keeps_pace(BLOCK, k * PERIOD)
    restart = 100 * PERIOD + 1.0
    assert all(guard.keeps_pace(BLOCK, restart + k * 1e-4) for k in range(8))
