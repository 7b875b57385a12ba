"""The routine player on real espeak-ng speech: timeline, controls, levels and fades."""

from __future__ import annotations

import random

import numpy as np
import pytest

from companion.audio.sounds import peak_dbfs, rms_dbfs
from companion.recognition.overlap import CompanionVoice
from companion.routines.model import (
    Ambient,
    Ask,
    Breathe,
    Chime,
    Include,
    Pause,
    Quiet,
    Routine,
    Say,
)
from companion.session.events import EventLog
from companion.session.player import VOLUME_STEP_DB, PlayerState, RoutinePlayer
from companion.speech.voices import Voice
from tests.audio_checks import loud_spans, silent_after

RATE = 22050
BLOCK = 441  # 20 ms, as a listen session renders
VOICE = Voice("test", espeak_voice="en-us", rate=150, pitch=40, volume=1.0)


def make_player(synth, routines: dict[str, Routine] | None = None, cap_db: float = -6.0):
    log = EventLog()
    table = routines or {}
    player = RoutinePlayer(synth, lambda name: VOICE, table.__getitem__, cap_db=cap_db,
                           on_event=log, rng=random.Random(3))
    return player, log


def render(player: RoutinePlayer, seconds: float) -> np.ndarray:
    blocks = [player.render(BLOCK) for _ in range(int(round(seconds * RATE / BLOCK)))]
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)


def render_until_idle(player: RoutinePlayer, limit_s: float = 600.0) -> np.ndarray:
    blocks = []
    for _ in range(int(limit_s * RATE / BLOCK)):
        blocks.append(player.render(BLOCK))
        if player.state is PlayerState.IDLE and not player.busy:
            break
    return np.concatenate(blocks)


def render_until(player: RoutinePlayer, done, limit_s: float = 60.0) -> None:
    for _ in range(int(limit_s * RATE / BLOCK)):
        if done():
            return
        player.render(BLOCK)
    raise AssertionError("the player never got there")


def said(log: EventLog) -> list[str]:
    return [e.data["text"] for e in log.of_type("say_start")]


def routine(*steps, ambient: Ambient = Ambient.NONE) -> Routine:
    return Routine(name="test", title="Test", steps=tuple(steps), ambient=ambient)


def test_speech_sits_where_say_steps_are_and_pauses_are_silent(synth):
    player, log = make_player(synth)
    player.start(routine(Say(("Let's slow down together.",)), Pause(3.0),
                         Say(("You are safe here.",))))
    audio = render_until_idle(player)
    spans = loud_spans(audio, RATE)
    assert len(spans) == 2, spans
    starts = [e.t for e in log.of_type("say_start")]
    ends = [e.t for e in log.of_type("say_end")]
    assert spans[0][0] == pytest.approx(starts[0], abs=0.05)
    assert spans[1][0] == pytest.approx(starts[1], abs=0.05)
    assert spans[1][0] - spans[0][1] >= 3.0
    assert starts[1] - ends[0] == pytest.approx(3.0, abs=0.03)
    assert log.of_type("routine_end")[0].data == {"routine": "test", "reason": "done"}


def test_peak_never_exceeds_the_cap_with_speech_chimes_and_ambient(synth):
    player, _ = make_player(synth, cap_db=-12.0)
    for _ in range(10):
        player.louder()
    player.start(routine(Say(("Loud words, as loud as it goes.",)), Chime("bell"),
                         Say(("And again.",)), ambient=Ambient.PINK_NOISE))
    audio = render_until_idle(player)
    assert peak_dbfs(audio) <= -12.0 + 1e-6
    assert peak_dbfs(audio) > -14.0  # at full volume speech reaches close to the cap


def test_stop_mid_sentence_is_silent_within_100_ms_with_a_fade(synth):
    steps = (Say(("This is a long sentence that keeps going on and on for a while so that we "
                  "can stop it in the middle.",)), Say(("This must never be heard.",)))
    twin, _ = make_player(synth)  # the same routine, never stopped: what the stop fades out
    twin.start(routine(*steps))
    unstopped = render(twin, 3.0)
    # stop at the first block edge after 1 s where it is speaking (whatever the voice's pace)
    at = next(i for i in range(RATE, 2 * RATE, BLOCK)
              if rms_dbfs(unstopped[i - RATE // 10:i]) > -40
              and np.max(np.abs(unstopped[i:i + RATE // 100])) > 0.02)
    player, log = make_player(synth)
    player.start(routine(*steps))
    before = render(player, at / RATE)
    assert np.array_equal(before, unstopped[:at])
    player.stop()
    after = render(player, 1.0)
    assert silent_after(after, RATE, 0.0) <= 0.1
    # a fade, not a cut: the sentence goes on under a gain that starts near 1 and only falls
    # (a cut would drop it to silence at once: a click)
    fade = int(0.04 * RATE)
    loud = np.flatnonzero(np.abs(unstopped[at:at + fade]) > 0.01)
    gain = after[loud] / unstopped[at + loud]
    assert loud.size and loud[0] < RATE // 100
    assert np.all((gain >= 0.0) & (gain <= 1.0 + 1e-5))
    assert np.all(np.diff(gain) <= 1e-4)
    assert gain[0] > 0.8
    assert "This must never be heard." not in said(log)
    assert log.of_type("routine_end")[-1].data["reason"] == "stopped"
    assert player.state is PlayerState.IDLE


def test_every_utterance_starts_and_ends_with_a_fade(synth):
    pcm = synth.synthesize("Hello, you did so well.", VOICE)
    head, tail = pcm[: int(0.004 * RATE)], pcm[-int(0.004 * RATE):]
    assert np.max(np.abs(head)) < 0.1
    assert np.max(np.abs(tail)) < 0.1
    assert np.max(np.abs(pcm)) > 0.3  # loud in between (speech is loudness-normalised)


def test_pause_silences_and_resume_restarts_the_interrupted_sentence(synth):
    player, log = make_player(synth)
    sentence = "Take a moment to notice where your body is resting right now."
    player.start(routine(Say((sentence,)), Say(("Then this.",))))
    render(player, 1.0)
    player.pause()
    paused = render(player, 3.0)
    assert silent_after(paused, RATE, 0.0) <= 0.1
    assert player.state is PlayerState.PAUSED
    player.resume()
    render_until_idle(player)
    assert said(log) == [sentence, sentence, "Then this."]
    assert [e.type for e in log.events if e.type in ("paused", "resumed")] == ["paused",
                                                                            "resumed"]


def test_skip_ends_a_long_quiet_step(synth):
    player, log = make_player(synth)
    player.start(routine(Quiet(600.0), Say(("After the quiet.",))))
    render(player, 2.0)
    player.skip()
    render(player, 0.5)
    assert said(log) == ["After the quiet."]
    assert log.of_type("say_start")[0].t < 2.2


def test_repeat_says_the_last_sentence_again(synth):
    player, log = make_player(synth)
    player.start(routine(Say(("Have a sip of water.",)), Pause(10.0), Say(("Done.",))))
    render(player, 3.0)
    player.repeat()
    render_until_idle(player)
    assert said(log) == ["Have a sip of water.", "Have a sip of water.", "Done."]


def test_slower_makes_speech_longer_and_faster_shorter(synth):
    lengths = {}
    for name, control in (("normal", None), ("slower", "slower"), ("faster", "faster")):
        player, log = make_player(synth)
        if control:
            getattr(player, control)()
        player.start(routine(Say(("You can rest here for as long as you like.",))))
        render_until_idle(player)
        lengths[name] = log.of_type("say_end")[0].t - log.of_type("say_start")[0].t
    assert lengths["slower"] > lengths["normal"] * 1.08
    assert lengths["faster"] < lengths["normal"] * 0.93


def test_softer_and_louder_step_the_level_and_stay_under_the_cap(synth):
    """It starts at the top (its peaks near the cap); "softer" steps down, "louder" back up,
    and no number of "louder"s goes above where it started."""
    levels = []
    for said_first in ((), ("softer",), ("softer", "softer"), ("softer", "softer", "louder"),
                       ("louder",) * 10):
        player, _ = make_player(synth)
        for control in said_first:
            getattr(player, control)()
        player.start(routine(Say(("Steady words.",))))
        levels.append(peak_dbfs(render_until_idle(player)))
    base, one_down, two_down, back_up, max_up = levels
    assert base > -6.0 - VOLUME_STEP_DB  # from the start, its peaks come near the cap
    assert one_down == pytest.approx(base - VOLUME_STEP_DB, abs=0.3)
    assert two_down == pytest.approx(base - 2 * VOLUME_STEP_DB, abs=0.3)
    assert back_up == pytest.approx(one_down, abs=0.3)
    assert max_up == pytest.approx(base, abs=0.3)
    assert max_up <= -6.0 + 1e-6


def test_yes_chooses_the_yes_branch(synth):
    player, log = make_player(synth)
    ask = Ask("Would you like some water?", yes=(Say(("Take your time.",)),),
              no=(Say(("That's okay.",)),), silence=(Say(("No answer is fine.",)),), timeout=8)
    player.start(routine(ask))
    render(player, 2.5)
    assert player.state is PlayerState.ASKING
    player.answer(True)
    render_until_idle(player)
    assert said(log) == ["Would you like some water?", "Take your time."]


def test_silence_takes_the_silence_branch_after_the_timeout(synth):
    player, log = make_player(synth)
    ask = Ask("Are you warm enough?", yes=(Say(("Good.",)),), no=(Say(("A blanket may help.",)),),
              silence=(Say(("That's okay.",)),), timeout=5)
    player.start(routine(ask))
    render_until_idle(player)
    question_end = log.of_type("say_end")[0].t
    answer = log.of_type("say_start")[1]
    assert answer.data["text"] == "That's okay."
    assert answer.t - question_end == pytest.approx(5.0, abs=0.05)


def test_an_answer_given_while_the_question_is_spoken_counts(synth):
    player, log = make_player(synth)
    ask = Ask("Would you like a blanket?", yes=(Say(("Okay.",)),), no=(Say(("Alright.",)),),
              silence=(Say(("Fine.",)),))
    player.start(routine(ask))
    render(player, 0.5)
    player.answer(False)
    render_until_idle(player)
    assert said(log)[-1] == "Alright."


def test_it_says_what_it_is_voicing_so_the_recogniser_knows_what_to_listen_for(synth):
    player, _ = make_player(synth)
    assert player.voicing(1.0) is CompanionVoice.QUIET  # not yet started: nothing said
    ask = Ask("Would you like a blanket?", yes=(), no=(), silence=(), timeout=3.0)
    player.start(routine(Say(("You are safe here.",)), Pause(2.0), ask,
                         ambient=Ambient.BROWN_NOISE))
    render(player, 0.5)
    assert player.voicing(0.3) is CompanionVoice.TALKING
    render_until(player, lambda: player.status().saying is None)
    render(player, 0.5)
    assert player.voicing(0.3) is CompanionVoice.QUIET  # the ambient bed is no voice
    assert player.voicing(1.0) is CompanionVoice.TALKING  # its echo may still be coming
    render_until(player, lambda: player.status().saying == "Would you like a blanket?")
    render(player, 0.5)
    assert player.voicing(0.3) is CompanionVoice.ASKING


def test_any_never_repeats_the_same_pick_back_to_back(synth):
    player, log = make_player(synth)
    pool = tuple(f"Kind word number {i}." for i in range(3))
    player.start(routine(*[Say(pool, pick_any=True) for _ in range(12)]))
    render_until_idle(player)
    picks = said(log)
    assert len(picks) == 12
    assert all(a != b for a, b in zip(picks, picks[1:], strict=False))
    assert len(set(picks)) == 3


def test_quiet_check_ins_keep_their_spacing_and_skip_the_last_minute(synth):
    player, log = make_player(synth)
    player.start(routine(Quiet(400.0, check_in_every=120.0, check_in_phrases=("I'm here.",)),
                         Say(("End.",))))
    render_until_idle(player)
    times = [e.t for e in log.of_type("say_start") if e.data["text"] == "I'm here."]
    end = [e.t for e in log.of_type("say_start") if e.data["text"] == "End."][0]
    assert len(times) == 2
    assert times[0] == pytest.approx(120.0, abs=0.1)
    assert 120.0 <= times[1] - times[0] <= 122.0
    assert end - times[-1] > 60.0


def test_breathing_cues_follow_the_pattern(synth):
    player, log = make_player(synth)
    player.start(routine(Breathe(inhale=4, hold=7, exhale=8, cycles=2)))
    render_until_idle(player)
    starts = [(e.t, e.data["text"]) for e in log.of_type("say_start")]
    assert [text for _, text in starts] == ["Breathe in.", "Hold.", "And breathe out.",
                                            "In.", "Hold.", "Out."]
    gaps = np.diff([t for t, _ in starts])
    assert gaps == pytest.approx([4, 7, 8, 4, 7], abs=0.03)


def test_ambient_bed_is_very_low_and_fades_in(synth):
    player, _ = make_player(synth)
    player.start(routine(Pause(4.0), ambient=Ambient.BROWN_NOISE))
    audio = render(player, 4.0)
    first, settled = audio[: RATE // 10], audio[2 * RATE: 3 * RATE]
    assert -75 < rms_dbfs(settled) < -40
    assert rms_dbfs(first) < rms_dbfs(settled) - 6


def test_include_runs_the_other_routines_steps(synth):
    other = Routine(name="other", title="Other", steps=(Say(("From the other one.",)),))
    player, log = make_player(synth, {"other": other})
    player.start(routine(Say(("First.",)), Include("other"), Say(("Last.",))))
    render_until_idle(player)
    assert said(log) == ["First.", "From the other one.", "Last."]


def test_goodnight_says_goodnight_and_ends_the_routine(synth):
    player, log = make_player(synth)
    player.start(routine(Quiet(300.0)))
    render(player, 1.0)
    player.goodnight()
    render_until_idle(player)
    assert said(log) == ["Goodnight."]
    assert log.of_type("routine_end")[-1].data["reason"] == "goodnight"


def test_an_announcement_interrupts_then_the_sentence_starts_again(synth):
    player, log = make_player(synth)
    sentence = "Notice the weight of your body on the bed beneath you."
    player.start(routine(Say((sentence,))))
    render(player, 0.8)
    player.say("About one minute.")
    render_until_idle(player)
    assert said(log) == [sentence, "About one minute.", sentence]


def test_minutes_stretch_the_quiet_to_fill_the_time(synth):
    player, _ = make_player(synth)
    player.start(routine(Say(("Quiet now.",)), Quiet(60.0), Say(("Ending now.",))), minutes=5)
    audio = render_until_idle(player, limit_s=900)
    assert len(audio) / RATE == pytest.approx(300.0, rel=0.05)


def test_a_voice_started_routine_is_acknowledged_at_once_and_softly(synth):
    player, _ = make_player(synth)
    player.start(routine(Pause(2.0), Say(("Hello.",))), acknowledge=True)
    audio = render(player, 1.0)
    onset = np.flatnonzero(np.abs(audio) > 10 ** (-50 / 20))[0] / RATE
    assert onset < 0.02
    speech_peak = np.max(np.abs(render_until_idle(player)))
    assert np.max(np.abs(audio)) < 0.5 * speech_peak  # softer than the voice
