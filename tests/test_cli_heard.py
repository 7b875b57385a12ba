"""`transcribe` and `listen --input` say when nothing was heard, and hear speech that starts
at a file's first sample (real CLI, real pocketsphinx, espeak-ng speech)."""

from __future__ import annotations

import json

import pytest

from tests.clips import concat, have_espeak, mix_pink, save_wav, silence, speak

pytestmark = pytest.mark.skipif(not have_espeak(), reason="needs espeak-ng and sox")


def test_transcribe_says_heard_nothing_on_silence(run_companion, tmp_path):
    wav = tmp_path / "quiet.wav"
    save_wav(wav, silence(5.0))
    out = run_companion("transcribe", wav)
    assert out.returncode == 0
    assert out.stdout == ""
    assert out.stderr.strip() == "heard nothing in 5.0 s of audio"


def test_listen_input_says_heard_nothing_on_silence(run_companion, tmp_path):
    wav = tmp_path / "quiet.wav"
    save_wav(wav, silence(5.0))
    out = run_companion("listen", "--input", wav)
    assert out.returncode == 0
    assert out.stderr.strip().splitlines()[-1] == "heard nothing in 5.0 s of audio"


@pytest.mark.parametrize("text", ["play aftercare", "stop", "softer"])
def test_speech_from_the_first_sample_is_heard_whole(run_companion, tmp_path, text):
    wav = tmp_path / "first.wav"
    save_wav(wav, concat(speak(text), silence(1.0)))
    out = run_companion("transcribe", "--json", wav)
    heard = [json.loads(line) for line in out.stdout.splitlines()]
    assert [h["text"] for h in heard] == [text], out.stderr
    assert heard[0]["start"] == 0.0


def test_noisy_file_start_is_not_taken_for_speech(run_companion, tmp_path):
    """Noise from sample 0, then "stop" at 1 s: heard once, at its own time."""
    speech = concat(silence(1.0), speak("stop"), silence(1.0))
    wav = tmp_path / "noisy.wav"
    save_wav(wav, mix_pink(speech, snr_db=15.0))
    out = run_companion("transcribe", "--json", wav)
    heard = [json.loads(line) for line in out.stdout.splitlines()]
    assert [h["text"] for h in heard] == ["stop"], out.stderr
    assert abs(heard[0]["start"] - 1.0) < 0.15


def test_listen_input_acts_on_a_command_at_the_first_sample(run_companion, tmp_path):
    wav = tmp_path / "first.wav"
    save_wav(wav, concat(speak("play breathing"), silence(3.0)))
    events = tmp_path / "events.jsonl"
    out = run_companion("listen", "--input", wav, "--events", events)
    assert out.returncode == 0, out.stderr
    starts = [json.loads(line) for line in events.read_text().splitlines()
              if '"routine_start"' in line]
    assert [s["routine"] for s in starts] == ["breathing"]
