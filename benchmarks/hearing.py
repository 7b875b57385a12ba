"""Hearing in real rooms: ``python -m benchmarks.hearing [--quick] [--recognisers ...]``.

Commands said by voices the recogniser was not tuned on (:mod:`benchmarks.hearing_mix`:
espeak-ng variants and flite voices, a dev split to choose settings on and a held-out test
split), one after another in ONE long stream per room, with the noise running under the
whole stream. One recogniser hears each stream from start to end without a reset, as it
would in a room. Then a stream of talk that holds no command (chatter, interjections, in
the test split real people from pocketsphinx-testdata, in the dev split passages read aloud
and murmurs: :mod:`benchmarks.hearing_talk`) with pink noise at 12 dB under it
(``--talk-rooms`` for others; ``--list`` names what took each command heard there).

Per split and room it prints commands right (exactly one command heard during the clip,
right intent and slots), stop and safeword recall (stop phrases, "red", "banana"), and for
the talk stream false commands and false stops per hour and interjections taken for a
command, for each recogniser asked for; ``peer`` is a plain pocketsphinx + JSGF grammar
with the energy endpointer (no garbage path, no coverage rule, no noise suppression),
what Rhasspy 2.5 does, and every figure of ``default`` is also given as a ratio to it.
"""

from __future__ import annotations

import argparse
import ctypes
import multiprocessing
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from benchmarks.accuracy import INTERJECTIONS, MORE_CHATTER, TRUTH
from benchmarks.hearing_mix import (
    DEV_VOICES,
    TEST_VOICES,
    Condition,
    Said,
    have_flite,
    human_talk,
    mix,
    say,
)
from benchmarks.hearing_talk import DecisionLog, dev_talk, listing
from companion.recognition.commands import CommandSet, RoutinePhrases
from companion.recognition.endpointing import EndpointerSettings
from companion.recognition.frontend import FrontendSettings
from companion.recognition.phrase_spotter import SpotSettings
from companion.recognition.phrase_verifier import VerifierSettings
from companion.recognition.pocketsphinx_engine import PocketsphinxRecognizer
from companion.recognition.pocketsphinx_rejection import RejectionSettings
from tests import clips


def shipped_routines() -> list[RoutinePhrases]:
    """The spoken names of every shipped routine, as ``companion listen`` builds them (no
    user file): the commands a user meets. Before, three routines stood in for them and 3
    of the 27 commands in each room ("start breathing", "keep me company", "play kind
    words") named a routine the recogniser did not know: no room could pass 89%."""
    from companion.config import shipped_dir
    from companion.routines.library import RoutineLibrary

    library = RoutineLibrary.load([shipped_dir("routines")])
    return [RoutinePhrases(r.name, tuple(dict.fromkeys(
        (r.name.replace("-", " "), r.title.lower(), *r.aliases)))) for r in library.routines()]


ROUTINES = shipped_routines()
SAFEWORDS = ("red", "banana")
""""banana" is in no dictionary: its pronunciation comes from G2P."""
COMMANDS = TRUTH + (("banana", "stop", {}),)

ENERGY = EndpointerSettings(vad="energy")
PLAIN = RejectionSettings(garbage_word_prob=1e-30, min_coverage=0.0, stop_min_coverage=0.0,
                          minutes_min_coverage=0.0, phrase_min_coverage=0.0,
                          stop_rescue_max_s=0.0, rescue_max_s=0.0,
                          verifier=VerifierSettings(enabled=False))
"""No garbage path (a word probability nothing beats), no coverage rule, no stop rescue."""
NO_HAMA = RejectionSettings(verifier=VerifierSettings(enabled=False))
"""Round 1's default rejection: pocketsphinx alone (no hama verifier or rescue)."""
ROUND3_VERIFIER = VerifierSettings(safeword_floor=-3.0, long_phones=10**6,
                                   min_matched_share=0.0)
"""The verifier before the precision rules (main at dbf3ab6): a looser safeword floor, no
floor for long commands, no count of the phonemes hama heard."""
RECOGNISERS = {
    "default": (None, EndpointerSettings(), RejectionSettings()),
    "peer": (FrontendSettings(), ENERGY, PLAIN),
    "before": (FrontendSettings(), ENERGY, NO_HAMA),
    "energy-ns2": (FrontendSettings(noise_suppression=2), ENERGY, NO_HAMA),
    "silero": (FrontendSettings(), EndpointerSettings(), NO_HAMA),
    "silero-ns2": (FrontendSettings(noise_suppression=2), EndpointerSettings(), NO_HAMA),
    "hama-ns2": (FrontendSettings(noise_suppression=2), EndpointerSettings(),
                 RejectionSettings()),
    "hp200": (FrontendSettings(highpass_hz=200), EndpointerSettings(), RejectionSettings()),
    "round2": (FrontendSettings(), EndpointerSettings(), RejectionSettings(
        verifier=VerifierSettings(stop_floor=-4.0, stop_rescue_floor=-1e9),
        spot=SpotSettings(enabled=False))),
    "hama-rescue": (None, EndpointerSettings(),
                    RejectionSettings(verifier=VerifierSettings(rescue=True))),
    "round3": (None, EndpointerSettings(), RejectionSettings(verifier=ROUND3_VERIFIER)),
    "no-sw-share": (None, EndpointerSettings(), RejectionSettings(
        verifier=VerifierSettings(safeword_min_matched_share=0.0))),
    "matched": (None, EndpointerSettings(), RejectionSettings(
        verifier=VerifierSettings(min_matched_share=1 / 3))),
}
"""name -> (front end (None: the default), endpointer, rejection). ``round2``: the default
before the phrase spotter, the rumble high-pass and the stricter stop floors (main at
de3c95c); ``hp200``: the rumble high-pass at 200 Hz; ``round3``: the default before the
precision rules; ``matched``: with the count of phonemes heard (off by default)."""

CONDITIONS = (Condition(""), Condition("pink", 20), Condition("pink", 12), Condition("pink", 6),
              Condition("brown", 12), Condition("brown", 6),
              Condition("talk", 20), Condition("talk", 12), Condition("talk", 6),
              Condition("bursts", 0), Condition("pink", 20, reverb=True))
QUICK_CONDITIONS = (Condition(""), Condition("pink", 12), Condition("talk", 12))
TALK_ROOM = Condition("pink", 12)
TALK_ROOMS = (TALK_ROOM, Condition(""), Condition("brown", 12), Condition("talk", 12),
              Condition("pink", 6))
"""Rooms the talk stream can be heard in (``--talk-rooms``); the figures use pink 12 dB."""
GAP_S = 1.6
"""Pause between commands."""


def _commands(split: str, quick: bool) -> list[tuple]:
    """Half the commands (a quarter with ``quick``) and every stop phrase, each in one voice
    of the split, round robin (to keep the run short on two shared cores)."""
    voices = DEV_VOICES if split == "dev" else TEST_VOICES
    every = 4 if quick else 2
    chosen = [c for i, c in enumerate(COMMANDS) if i % every == 0 or c[1] == "stop"]
    return [(say(text, voices[i % len(voices)]), text, intent, slots)
            for i, (text, intent, slots) in enumerate(chosen)]


def _talk(split: str, quick: bool) -> list[tuple]:
    """Talk that holds no command: chatter, interjections, and (test) real people."""
    voices = DEV_VOICES if split == "dev" else TEST_VOICES
    lines = clips.CHATTER + MORE_CHATTER
    step = 4 if quick else 1
    items: list[tuple[np.ndarray, str, str | None, dict]] = [
        (say(t, voices[i % len(voices)]), t, None, {}) for i, t in enumerate(lines[::step])]
    items += [(say(t, voices[(i + 1) % len(voices)]), t, "interjection", {})
              for i, t in enumerate(INTERJECTIONS[::step])]
    if split == "test":
        items += [(a, "human", None, {}) for a in human_talk()[::step]]
    else:
        items += dev_talk(say, voices)[::step]
    return items


def _recogniser(name: str, commands: CommandSet) -> PocketsphinxRecognizer:
    front, ends, rejection = RECOGNISERS[name]
    return PocketsphinxRecognizer(commands, endpointer=ends, rejection=rejection,
                                  frontend=front)


def _heard_in(heard: list, s: Said) -> list:
    """Utterances that belong to the clip they start in (up to the next clip)."""
    return [u for u in heard if s.start - 0.3 <= u.start < s.end + GAP_S - 0.3]


def score(name: str, split: str, cond: Condition, quick: bool) -> dict:
    """Commands right, stops heard and false commands of one recogniser in one room."""
    commands = CommandSet.load(ROUTINES, safewords=SAFEWORDS)
    audio, said = mix(_commands(split, quick), cond, GAP_S, seed=11)
    heard = clips.stream(_recogniser(name, commands), audio)
    right = stops = stops_heard = 0
    used: set[int] = set()
    for s in said:
        mine = _heard_in(heard, s)
        used.update(id(u) for u in mine)
        got = [commands.parse(u.text) for u in mine]
        right += (len(got) == 1 and got[0] is not None and got[0].intent.value == s.intent
                  and dict(got[0].slots) == s.slots)
        if s.intent == "stop":
            stops += 1
            stops_heard += any(c is not None and c.intent.value == "stop" for c in got)
    return {"name": name, "split": split, "cond": cond.name, "right": right, "n": len(said),
            "stops": stops_heard, "n_stops": stops,
            "false": sum(1 for u in heard if id(u) not in used)}


def score_talk(name: str, split: str, quick: bool, room: Condition = TALK_ROOM,
               listed: bool = False) -> dict:
    """False commands and stops per hour of noisy talk; interjections taken; with
    ``listed``, what was taken and why (see :func:`benchmarks.hearing_talk.listing`)."""
    commands = CommandSet.load(ROUTINES, safewords=SAFEWORDS)
    audio, said = mix(_talk(split, quick), room, GAP_S, seed=17)
    recogniser = _recogniser(name, commands)
    chunks: list[tuple[list, list[str]]] = []
    with DecisionLog() as log:
        data = audio.tobytes()
        for i in range(0, len(data), 640):
            seen = len(log.lines)
            chunks.append((recogniser.accept(data[i:i + 640]), log.lines[seen:]))
        chunks.append((recogniser.flush(), log.lines[len(log.lines):]))
    heard = [u for got, _ in chunks for u in got]
    parsed = [commands.parse(u.text) for u in heard]
    taken = sum(1 for s in said if s.intent == "interjection" and _heard_in(heard, s))
    return {"name": name, "split": split, "room": room.name,
            "hours": audio.size / clips.RATE / 3600,
            "false": sum(c is not None for c in parsed),
            "false_stops": sum(c is not None and c.intent.value == "stop" for c in parsed),
            "interj": taken, "n_interj": sum(s.intent == "interjection" for s in said),
            "listing": listing(chunks, said, GAP_S) if listed else []}


def _ratio(a: float, b: float) -> str:
    return f"x{a / b:.2f}" if b else "  -  "


def report(rows: list[dict], talk: list[dict], names: list[str], splits: list[str]) -> None:
    conds = list(dict.fromkeys(r["cond"] for r in rows))
    for split in splits:
        print(f"\n[{split} split] commands right % | stop+safeword recall % "
              f"({', '.join(names)})" + ("; default/peer" if "peer" in names else ""))
        for cond in conds:
            got = {r["name"]: r for r in rows if r["split"] == split and r["cond"] == cond}
            right = [100 * got[n]["right"] / got[n]["n"] for n in names]
            stop = [100 * got[n]["stops"] / max(got[n]["n_stops"], 1) for n in names]
            cells = " ".join(f"{r:5.1f}" for r in right) + " | " + " ".join(
                f"{s:5.1f}" for s in stop)
            extra = ""
            if "peer" in names and "default" in names:
                d, p = names.index("default"), names.index("peer")
                extra = f"  {_ratio(right[d], right[p])} {_ratio(stop[d], stop[p])}"
            n = got[names[0]]
            print(f"  {cond:16} {cells}  (n={n['n']}, stops={n['n_stops']}, false in gaps "
                  + "/".join(str(got[x]["false"]) for x in names) + f"){extra}")
        for t in (t for t in talk if t["split"] == split):
            print(f"  talk+{t['room']:8} {t['name']:10} {t['hours'] * 60:4.1f} min: "
                  "false commands "
                  f"{t['false'] / t['hours']:6.1f}/h ({t['false']}), false stops "
                  f"{t['false_stops'] / t['hours']:6.1f}/h ({t['false_stops']}), interjections "
                  f"taken {t['interj']}/{t['n_interj']}")
            print("\n".join(t["listing"]))



def hearing_pool() -> ProcessPoolExecutor:
    """Two worker processes, started fresh (spawn). Forked from a process that has run
    threads (the suite's live sections, the synthesis and onnxruntime threads), both workers
    hung on a lock the fork had copied held: the quick suite in CI never ended."""
    return ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_end_with_parent)


def _end_with_parent() -> None:
    """In a worker: end when the process that started it ends (stopped with SIGTERM, the
    benchmark left both workers running on to the end of their rooms). Linux only."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


PR_SET_PDEATHSIG = 1
"""prctl(2): the signal this process gets when its parent ends."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="test split, 3 rooms, fewer")
    parser.add_argument("--recognisers", nargs="*", default=["default", "peer"],
                        choices=list(RECOGNISERS))
    parser.add_argument("--splits", nargs="*", default=None, choices=["dev", "test"])
    parser.add_argument("--list", action="store_true",
                        help="list every command heard in the talk stream, and why")
    parser.add_argument("--talk-rooms", nargs="*", default=[TALK_ROOM.name],
                        help="rooms of the talk stream, e.g. 'pink 12' 'brown 12' clean")
    parser.add_argument("--no-commands", action="store_true",
                        help="the talk stream alone (no command streams)")
    args = parser.parse_args(argv)
    if not clips.have_espeak():
        print("needs espeak-ng and sox", file=sys.stderr)
        return 1
    if not have_flite():
        print("flite is not installed: its voices are spoken by espeak-ng", file=sys.stderr)
    splits = args.splits or (["test"] if args.quick else ["dev", "test"])
    conds = QUICK_CONDITIONS if args.quick else CONDITIONS
    began = time.monotonic()
    jobs = [] if args.no_commands else [
        (n, s, c, args.quick) for s in splits for c in conds for n in args.recognisers]
    rooms = [c for c in TALK_ROOMS if c.name in args.talk_rooms]
    with hearing_pool() as pool:
        talk_f = [pool.submit(score_talk, n, s, args.quick, r, args.list) for s in splits
                  for r in rooms for n in args.recognisers]
        rows = list(pool.map(score, *zip(*jobs, strict=True))) if jobs else []
        talk = [f.result() for f in talk_f]
    report(rows, talk, args.recognisers, splits)
    print(f"\n({time.monotonic() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
