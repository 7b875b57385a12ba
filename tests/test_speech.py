"""Speech synthesis with the real espeak-ng: PCM in memory, loudness, cache, odd text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from companion.errors import ModelError
from companion.speech.drivers import engine_for
from companion.speech.drivers.espeak_pcm import espeak_rate
from companion.speech.loudness import PEAK_CEILING, loudness
from companion.speech.synthesis import Pyttsx3Synthesizer, speakable, trim_silence
from companion.speech.voices import Voice

VOICE = Voice("test", espeak_voice="en-us", rate=150, pitch=40)


def test_speech_is_pcm_in_memory_at_the_voices_loudness(synth):
    pcm = synth.synthesize("You did so well today.", VOICE)
    assert pcm.dtype == np.float32
    assert 0.8 < len(pcm) / synth.sample_rate < 3.0
    assert loudness(pcm, synth.sample_rate) == pytest.approx(VOICE.loudness, abs=0.5)
    assert np.max(np.abs(pcm)) <= PEAK_CEILING + 1e-6


def test_a_louder_target_gives_louder_speech_and_peaks_stay_under_the_ceiling(synth):
    loud = Voice("loud", loudness=-18.0)
    pcm = synth.synthesize("Let the floor hold you.", loud)
    assert loudness(pcm, synth.sample_rate) == pytest.approx(-18.0, abs=1.0)
    assert np.max(np.abs(pcm)) <= PEAK_CEILING + 1e-6


def test_the_espeak_driver_keeps_every_sample_of_a_short_sentence():
    """pyttsx3's own espeak driver drops the samples that come with the end event (for a
    short sentence, all of them); ours hands back as much audio as espeak-ng itself makes."""
    engine = engine_for("espeak")
    got: dict[str, np.ndarray] = {}
    token = engine.connect("pcm", lambda pcm, **_: got.update(pcm=pcm))
    engine.setProperty("voice", "en-us")
    engine.setProperty("rate", 175)
    engine.say("Hi.")
    engine.runAndWait()
    engine.disconnect(token)
    setting = str(espeak_rate(175))  # what the driver asks espeak-ng for at 175 wpm
    cli = subprocess.run(["espeak-ng", "-v", "en-us", "-s", setting, "--stdout", "Hi."],
                         capture_output=True, check=True).stdout
    cli_samples = (len(cli) - 44) // 2
    assert len(got["pcm"]) == pytest.approx(cli_samples, rel=0.1)
    assert np.max(np.abs(got["pcm"])) > 0.05


def test_the_first_sentence_in_a_fresh_process_is_never_silent():
    code = ("from companion.speech.synthesis import Pyttsx3Synthesizer\n"
            "from companion.speech.voices import Voice\n"
            "import numpy as np\n"
            "s = Pyttsx3Synthesizer(warm=False)\n"
            "x = s.synthesize('Hello. Saying stop ends everything.', Voice('v', rate=135))\n"
            "print(len(x), float(np.max(np.abs(x))))\n")
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, cwd=Path(__file__).resolve().parent.parent).stdout
        frames, peak = out.split()
        assert int(frames) > 22050 and float(peak) > 0.3


def test_same_text_and_voice_comes_from_the_cache(synth):
    first = synth.synthesize("A sentence for the cache.", VOICE)
    second = synth.synthesize("A sentence for the cache.", VOICE)
    assert second is first
    other_voice = synth.synthesize("A sentence for the cache.", Voice("b", espeak_voice="en+f3"))
    assert other_voice is not first


def test_the_cache_keeps_the_latest_sentences_within_its_bytes():
    """The cache is bounded in bytes: a long session's new sentences push out the oldest."""
    bound = 300_000  # ~3.4 s of speech: two or three of these
    synth = Pyttsx3Synthesizer(cache_bytes=bound, warm=False)
    try:
        texts = [f"Number {n}." for n in range(8)]
        first = {t: synth.synthesize(t, VOICE) for t in texts}
        # newest first: asking for an evicted one renders it again, pushing out others
        kept = [t for t in reversed(texts) if synth.synthesize(t, VOICE) is first[t]]
        assert texts[-1] in kept and texts[0] not in kept and len(kept) >= 2
        assert sum(first[t].nbytes for t in kept) <= bound
        again = synth.synthesize(texts[0], VOICE)  # rendered again when asked for
        assert len(again) == pytest.approx(len(first[texts[0]]), rel=0.01)
    finally:
        synth.close()


CALM = ("Let your shoulders drop a little, and let the floor hold you.",
        "You do not have to do anything right now.",
        "Notice the air moving in, and the air moving out.",
        "Whenever you are ready, we can take one more slow breath together.",
        "It is okay to feel whatever you are feeling tonight.",
        "I will stay right here with you for a while.")


def test_espeak_speaks_the_voices_words_a_minute_within_sentences(synth):
    """A voice's rate is words a minute within sentences (first to last sound) for every
    engine, espeak-ng included: its own rate setting counts the pauses at commas too (at
    the gentle voice's 155 it spoke ~188 within sentences)."""
    for rate in (140, 155):
        voice = Voice("calm", espeak_voice="en-us+f4", rate=rate)
        wpm = []
        for text in CALM:
            spoken = len(trim_silence(synth.synthesize(text, voice), synth.sample_rate,
                                      threshold=0.01))
            wpm.append(len(text.split()) * 60.0 * synth.sample_rate / spoken)
        assert float(np.median(wpm)) == pytest.approx(rate, rel=0.08)


def median_pitch_hz(x: np.ndarray, rate: int) -> float:
    """Median fundamental frequency of the loud 40 ms frames (autocorrelation peak)."""
    n = int(0.04 * rate)
    pitches = []
    for start in range(0, len(x) - n, n):
        frame = x[start:start + n]
        if np.sqrt(np.mean(frame**2)) < 0.05:
            continue
        ac = np.correlate(frame, frame, "full")[n - 1:]
        lo, hi = rate // 400, rate // 60
        pitches.append(rate / (lo + int(np.argmax(ac[lo:hi]))))
    return float(np.median(pitches))


def test_the_pitch_setting_changes_the_voice_pitch(synth):
    low = synth.synthesize("Hello there, how are you.", Voice("low", pitch=10))
    high = synth.synthesize("Hello there, how are you.", Voice("high", pitch=90))
    assert median_pitch_hz(high, synth.sample_rate) > 1.3 * median_pitch_hz(low, synth.sample_rate)


def test_the_rate_setting_changes_how_long_a_sentence_takes(synth):
    slow = synth.synthesize("Take all the time you need tonight.", VOICE, rate_factor=0.7)
    fast = synth.synthesize("Take all the time you need tonight.", VOICE, rate_factor=1.3)
    assert len(slow) > 1.4 * len(fast)


def test_prefetch_runs_in_the_background_and_fills_the_cache(synth):
    future = synth.prefetch("Coming up next, gently.", VOICE)
    pcm = future.result(timeout=5)
    assert synth.synthesize("Coming up next, gently.", VOICE) is pcm


def test_spoken_text_never_lands_in_a_file(synth, tmp_path, monkeypatch):
    before = {p: p.stat().st_mtime for p in Path("/tmp").glob("*.wav")}
    for i in range(5):
        synth.synthesize(f"Private words number {i}.", VOICE)
    for path in Path("/tmp").glob("*.wav"):
        if before.get(path) != path.stat().st_mtime:
            assert b"Private words" not in path.read_bytes()
            pytest.fail(f"a WAV appeared or changed during synthesis: {path}")


def test_an_unknown_espeak_voice_is_a_clear_error(synth):
    with pytest.raises(ModelError, match="espeak-ng has no voice 'zz-nothing'"):
        synth.synthesize("Hello.", Voice("broken", espeak_voice="zz-nothing"))
    assert len(synth.synthesize("Still working.", VOICE)) > 0


def test_language_codes_work_like_on_the_espeak_command_line(synth):
    pcm = synth.synthesize("Hello there.", Voice("gb", espeak_voice="en-gb+f3"))
    assert len(pcm) > 0


def test_control_characters_in_text_cannot_change_the_voice(synth):
    plain = synth.synthesize("Rest now.", VOICE)
    injected = synth.synthesize("\x01" + "400S" + "Rest now.", VOICE)
    assert len(injected) > 0.8 * len(plain)


@pytest.mark.parametrize("text", [
    "You're safe 🌙 and warm 💛.",
    "Wait… what?! — (really) [yes] {ok} <no> ~~ ## && %% ¿¡",
    "Rest. " * 120,
    "a" * 600,
    "\u200d\ufe0f\u202e reversed?",
])
def test_odd_text_never_crashes_and_is_spoken(synth, text):
    pcm = synth.synthesize(text, VOICE)
    assert len(pcm) > 0.2 * synth.sample_rate
    assert np.all(np.isfinite(pcm))


def test_emoji_only_is_a_short_pause_not_an_error(synth):
    pcm = synth.synthesize("🌙💛", VOICE)
    assert 0 < len(pcm) < 0.2 * synth.sample_rate
    assert speakable("ok 🌙 now") == "ok now"


def test_a_closed_synthesizer_stops_its_thread():
    synth = Pyttsx3Synthesizer()
    synth.synthesize("Bye.", VOICE)
    synth.close()
    assert not synth._thread.is_alive()
