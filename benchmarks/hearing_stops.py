"""Stop and safeword recall per room: ``python -m benchmarks.hearing_stops [--splits dev]``.

Every stop phrase and safeword said by every voice of the split, each followed by another
command (so the recogniser hears stops between other speech, as in use), in one long stream
per room with the noise under the whole stream (:mod:`benchmarks.hearing_mix`). Per room it
prints stop recall and, for each missed stop, what became of it: missed entirely, heard as
another command. Stops heard on the other commands count as false stops, as do stops heard
in the talk stream of :func:`benchmarks.hearing.score_talk` (per hour). A stop counts
for the clip when it is decided while the clip is said or in the pause after it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from benchmarks import hearing
from benchmarks.hearing_mix import DEV_VOICES, TEST_VOICES, Condition, Said, mix, say
from companion.recognition.commands import CommandSet
from companion.recognition.pocketsphinx_engine import PocketsphinxRecognizer
from companion.recognition.stop_spotter import SpotterSettings
from tests import clips

ROOMS = (Condition(""), Condition("pink", 12), Condition("brown", 12), Condition("talk", 12),
         Condition("pink", 6), Condition("brown", 6), Condition("talk", 6))
"""Where stops are listened for: 12 dB (target 100%) and 6 dB (target 97%)."""
STOPS = tuple(c for c in hearing.COMMANDS if c[1] == "stop")
OTHERS = tuple(c for c in hearing.COMMANDS if c[1] != "stop")


def _items(split: str) -> list[tuple]:
    """Each stop phrase in each voice of the split, each followed by another command."""
    voices = DEV_VOICES if split == "dev" else TEST_VOICES
    out: list[tuple] = []
    k = 0
    for v, voice in enumerate(voices):
        for text, intent, slots in STOPS:
            out.append((say(text, voice), text, intent, slots))
            other = OTHERS[(7 * k + v) % len(OTHERS)]
            out.append((say(other[0], voices[(k + 1) % len(voices)]), *other))
            k += 1
    return out


def _recogniser(name: str, commands: CommandSet) -> PocketsphinxRecognizer:
    """One of :data:`benchmarks.hearing.RECOGNISERS`, or ``no-spotter``: the default
    without the stop spotter (what came before it)."""
    if name != "no-spotter":
        return hearing._recogniser(name, commands)  # noqa: SLF001
    front, ends, rejection = hearing.RECOGNISERS["default"]
    return PocketsphinxRecognizer(commands, endpointer=ends, rejection=rejection,
                                  frontend=front, spotter=SpotterSettings(enabled=False))


def _decided_in(heard: list, s: Said) -> list:
    """Utterances decided while the clip is said or in the pause after it: in other
    people's talk an utterance starts before the clip (their talk), so its start says
    little; when the companion would act on it is what a user notices."""
    return [u for u in heard if s.start <= u.decided < s.end + hearing.GAP_S]


def score_stops(name: str, split: str, cond: Condition) -> dict:
    """Stops heard, what missed ones became, false stops on other commands, in one room."""
    commands = CommandSet.load(hearing.ROUTINES, safewords=hearing.SAFEWORDS)
    audio, said = mix(_items(split), cond, hearing.GAP_S, seed=23)
    heard = clips.stream(_recogniser(name, commands), audio)
    stops = hits = false = 0
    became: Counter[str] = Counter()
    for s in said:
        got = [commands.parse(u.text) for u in _decided_in(heard, s)]
        stop = any(c is not None and c.intent.value == "stop" for c in got)
        if s.intent == "stop":
            stops += 1
            hits += stop
            if not stop:
                other = [c.text for c in got if c is not None]
                became[f"{s.text} -> {other[0] if other else 'nothing'}"] += 1
        else:
            false += stop
    return {"name": name, "split": split, "cond": cond.name, "stops": hits, "n_stops": stops,
            "false": false, "n_other": len(said) - stops, "missed": dict(became)}


def score_talk(name: str, split: str) -> dict:
    """False stops (and commands) per hour in the talk stream of the hearing benchmark."""
    commands = CommandSet.load(hearing.ROUTINES, safewords=hearing.SAFEWORDS)
    audio, _ = mix(hearing._talk(split, False), hearing.TALK_ROOM, hearing.GAP_S,  # noqa: SLF001
                   seed=17)
    parsed = [commands.parse(u.text) for u in clips.stream(_recogniser(name, commands), audio)]
    return {"name": name, "split": split, "hours": audio.size / clips.RATE / 3600,
            "false": sum(c is not None for c in parsed),
            "false_stops": sum(c is not None and c.intent.value == "stop" for c in parsed)}


def report(rows: list[dict], talk: list[dict]) -> None:
    for r in rows:
        print(f"  [{r['split']}] {r['name']:8} {r['cond']:8} stops {r['stops']:2}/{r['n_stops']}"
              f" ({100 * r['stops'] / r['n_stops']:5.1f}%)  false stops on other commands "
              f"{r['false']}/{r['n_other']}")
        for what, n in sorted(r["missed"].items()):
            print(f"      missed: {what}" + (f" x{n}" if n > 1 else ""))
    for t in talk:
        print(f"  [{t['split']}] {t['name']:8} talk+pink 12 {t['hours'] * 60:4.1f} min: "
              "false stops "
              f"{t['false_stops'] / t['hours']:6.1f}/h ({t['false_stops']}), false commands "
              f"{t['false'] / t['hours']:6.1f}/h ({t['false']})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", nargs="*", default=["dev", "test"], choices=["dev", "test"])
    parser.add_argument("--recognisers", nargs="*", default=["default"],
                        choices=[*hearing.RECOGNISERS, "no-spotter"])
    parser.add_argument("--rooms", nargs="*", default=None,
                        help="room names, e.g. 'talk 12' (default: all)")
    parser.add_argument("--no-talk", action="store_true", help="skip the talk stream")
    args = parser.parse_args(argv)
    if not clips.have_espeak():
        print("needs espeak-ng and sox", file=sys.stderr)
        return 1
    rooms = [c for c in ROOMS if args.rooms is None or c.name in args.rooms]
    began = time.monotonic()
    jobs = [(n, s, c) for s in args.splits for c in rooms for n in args.recognisers]
    with hearing.hearing_pool() as pool:
        talk_f = [] if args.no_talk else [
            pool.submit(score_talk, n, s) for s in args.splits
            for n in args.recognisers]
        rows = list(pool.map(score_stops, *zip(*jobs, strict=True)))
        talk = [f.result() for f in talk_f]
    report(rows, talk)
    print(f"\n({time.monotonic() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
