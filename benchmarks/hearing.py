"""Hearing in a noisy room: ``python -m benchmarks.hearing [--quick] [--configs ...]``.

Commands said by espeak-ng voices the recogniser was not tuned on (variants with changed
pitch and speed, :data:`DEV_VOICES` and :data:`TEST_VOICES`), one after another in one
long stream, with pink or brown noise running through the WHOLE stream (not per clip) at
12 and 6 dB below the speech. One recogniser hears each stream from start to end without
a reset, as it would in a room. Front-end levels are tuned on the dev voices only; the
test voices are the figures to report.

Prints, per front end and split, commands right (exactly one command heard during the
clip, right intent and slots) per condition, and stop recall (share of stop phrases heard
as stop), plus false commands in the gaps.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from benchmarks.accuracy import TRUTH
from companion.recognition.commands import CommandSet, RoutinePhrases
from companion.recognition.frontend import FrontendSettings
from companion.recognition.pocketsphinx_engine import PocketsphinxRecognizer
from tests import clips

ROUTINES = [RoutinePhrases("wind-down", ("wind down", "bedtime")),
            RoutinePhrases("aftercare", ("aftercare",)),
            RoutinePhrases("quiet-presence", ("quiet presence",))]

DEV_VOICES = (("en-us+m3", 70, 150), ("en-gb+m2", 40, 165), ("en-us+f1", 55, 140))
"""(voice, pitch, words a minute) the front end's levels are chosen on."""
TEST_VOICES = (("en-us+m1", 30, 155), ("en-us+f4", 65, 170), ("en-gb+m4", 45, 145))
"""Held out: reported, never tuned on."""
CONDITIONS = (("pink", 12.0), ("pink", 6.0), ("brown", 12.0), ("brown", 6.0))
CONFIGS = {
    "off": FrontendSettings(),
    "ns1": FrontendSettings(noise_suppression=1),
    "ns2": FrontendSettings(noise_suppression=2),
    "ns3": FrontendSettings(noise_suppression=3),
}
GAP_S = 1.6
"""Pause between commands."""


def brown_noise(n: int, seed: int) -> np.ndarray:
    """``n`` samples of unit-RMS brown (1/f²) noise, high-passed at 20 Hz."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.normal(size=n))
    f = np.fft.rfftfreq(n, 1 / clips.RATE)
    f[0] = 1.0
    noise = np.fft.irfft(spectrum / np.maximum(f, 20.0), n)
    return noise / (np.sqrt(np.mean(noise**2)) or 1.0)


@dataclass(frozen=True)
class Said:
    start: float
    end: float
    text: str
    intent: str
    slots: dict


def build_stream(voices, kind: str, snr_db: float, quick: bool) -> tuple[np.ndarray, list[Said]]:
    """Every command in every voice back to back, noise under the whole stream."""
    truth = TRUTH[::3] if quick else TRUTH
    parts = [clips.silence(1.0)]
    said: list[Said] = []
    t = 1.0
    levels = []
    for i, (text, intent, slots) in enumerate(truth):
        for v, (voice, pitch, rate) in enumerate(voices):
            if (i + v) % 2 and not intent == "stop":
                continue  # half the commands per voice (all stops), to keep it short
            speech = clips.speak(text, voice=voice, rate=rate, pitch=pitch)
            levels.append(clips.active_rms(speech))
            parts += [speech, clips.silence(GAP_S)]
            said.append(Said(t, t + speech.size / clips.RATE, text, intent, slots))
            t += speech.size / clips.RATE + GAP_S
    audio = np.concatenate(parts).astype(np.float64)
    level = float(np.median(levels))
    seed = 11 if kind == "pink" else 13
    noise = clips.pink_noise(audio.size, seed) if kind == "pink" else brown_noise(audio.size, seed)
    mixed = audio + noise * level * 10 ** (-snr_db / 20)
    return np.clip(np.round(mixed), -32768, 32767).astype(np.int16), said


def score(config: str, split: str, kind: str, snr_db: float, quick: bool) -> dict:
    voices = DEV_VOICES if split == "dev" else TEST_VOICES
    audio, said = build_stream(voices, kind, snr_db, quick)
    commands = CommandSet.load(ROUTINES)
    rec = PocketsphinxRecognizer(commands, frontend=CONFIGS[config])
    heard = clips.stream(rec, audio)
    right = stops = stops_heard = false = 0
    used = set()
    for s in said:
        # An utterance belongs to the clip it starts in (up to the next clip).
        mine = [u for u in heard if s.start - 0.3 <= u.start < s.end + GAP_S - 0.3]
        used.update(id(u) for u in mine)
        got = [commands.parse(u.text) for u in mine]
        ok = (len(got) == 1 and got[0] is not None and got[0].intent.value == s.intent
              and dict(got[0].slots) == s.slots)
        right += ok
        if s.intent == "stop":
            stops += 1
            stops_heard += any(c is not None and c.intent.value == "stop" for c in got)
    false = sum(1 for u in heard if id(u) not in used)
    return {"config": config, "split": split, "cond": f"{kind} {snr_db:g} dB", "right": right,
            "n": len(said), "stops": stops_heard, "n_stops": stops, "false": false}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a third of the commands")
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--splits", nargs="*", default=["dev", "test"], choices=["dev", "test"])
    args = parser.parse_args(argv)
    if not clips.have_espeak():
        print("needs espeak-ng and sox", file=sys.stderr)
        return 1
    jobs = [(c, s, k, snr, args.quick) for s in args.splits for c in args.configs
            for k, snr in CONDITIONS]
    with ProcessPoolExecutor(2) as pool:
        rows = list(pool.map(score, *zip(*jobs, strict=True)))
    conds = [f"{k} {snr:g} dB" for k, snr in CONDITIONS]
    print(f"{'split':5} {'front end':9} " + " ".join(f"{c:>13}" for c in conds)
          + f" {'stop recall':>12} {'false':>5}")
    for split in args.splits:
        for config in args.configs:
            mine = {r["cond"]: r for r in rows if r["split"] == split and r["config"] == config}
            cells = [f"{mine[c]['right']:>3}/{mine[c]['n']:<3} "
                     f"{100 * mine[c]['right'] / mine[c]['n']:3.0f}%" for c in conds]
            stops = sum(r["stops"] for r in mine.values())
            n_stops = sum(r["n_stops"] for r in mine.values())
            false = sum(r["false"] for r in mine.values())
            print(f"{split:5} {config:9} " + " ".join(f"{x:>13}" for x in cells)
                  + f" {stops:>4}/{n_stops:<3} {100 * stops / n_stops:3.0f}% {false:>5}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
