"""Recognition accuracy in process: generated command clips, real and generated chatter.

Every clip goes through the default recogniser (``make_recognizer`` with the settings'
engine and ``command_set(Context.load(None))``) in 20 ms chunks, then a flush, and
``CommandSet.parse`` turns each utterance into a command. A command clip is right when it
yields exactly one command with the true intent and slots. Chatter is right when it
yields none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from benchmarks.report import Figure, Target, pooled
from tests import clips

TRUTH: tuple[tuple[str, str, dict[str, object]], ...] = (
    ("play aftercare", "play", {"routine": "aftercare"}),
    ("play wind down", "play", {"routine": "wind-down"}),
    ("start breathing", "play", {"routine": "breathing"}),
    ("play the check in routine", "play", {"routine": "check-in"}),
    ("keep me company", "play", {"routine": "quiet-presence"}),
    ("bedtime", "play", {"routine": "wind-down"}),
    ("play kind words", "play", {"routine": "affirmations"}),
    ("after a hard talk", "play", {"routine": "after-a-hard-talk"}),
    ("play aftercare for ten minutes", "play", {"routine": "aftercare", "minutes": 10}),
    ("wind down for twenty five minutes", "play", {"routine": "wind-down", "minutes": 25}),
    ("stop", "stop", {}), ("stop please", "stop", {}), ("stop it", "stop", {}),
    ("that's enough", "stop", {}), ("red", "stop", {}),
    ("pause", "pause", {}), ("hold on", "pause", {}), ("wait", "pause", {}),
    ("resume", "resume", {}), ("continue", "resume", {}), ("go on", "resume", {}),
    ("skip", "skip", {}), ("next", "skip", {}),
    ("repeat that", "repeat", {}), ("say that again", "repeat", {}),
    ("slower", "slower", {}), ("slow down", "slower", {}),
    ("faster", "faster", {}), ("go faster", "faster", {}),
    ("softer", "softer", {}), ("quieter", "softer", {}),
    ("louder", "louder", {}), ("speak up", "louder", {}),
    ("yes", "yes", {}), ("yes please", "yes", {}), ("yeah", "yes", {}),
    ("no", "no", {}), ("no thanks", "no", {}), ("not now", "no", {}),
    ("help", "help", {}), ("what can i say", "help", {}),
    ("what routines do you have", "list", {}), ("list routines", "list", {}),
    ("how long is left", "time_left", {}), ("how much time is left", "time_left", {}),
    ("goodnight", "goodnight", {}), ("good night", "goodnight", {}),
)
"""Spoken command → (intent, slots) it must give."""

RATES = (130, 160, 190)
"""espeak-ng speaking rates (words per minute)."""
NOISE_SNR_DB = 12.0
"""Pink noise level for the noisy set, relative to the speech."""

MORE_CHATTER = (
    "I read about aftercare routines in a book",
    "let's not stop now, we are almost there",
    "the breathing exercise was nice yesterday",
    "she said the wind down one helps her sleep",
    "we should check in with mum later this week",
    "play with the dog for a while before dinner",
    "after a long day I just want to rest",
    "he told me to speak up at the meeting",
)
"""Chatter near the commands' own words (none is a command)."""

INTERJECTIONS = (
    "mm", "hmm", "um", "oh", "ah", "aw", "huh", "haha", "wow", "ouch", "oops", "hey", "so",
    "well", "why", "really", "oh well", "oh my", "I see", "please", "thanks", "thank you",
    "sorry", "fine", "nice", "cool", "good", "great", "lovely", "me too",
)
"""Short things a person says back to a calm voice ("thanks", "me too", "huh"), none a
command; words that could answer a question (yeah, okay, nope) are left out."""

RAW_RECORDINGS = ("goforward.raw", "numbers.raw", "something.raw", "tidigits/dhd.2934z.raw")
"""Other real speech in pocketsphinx-testdata (raw int16, 16 kHz)."""


@dataclass(frozen=True)
class Clip:
    """One audio clip and what it says."""

    audio: np.ndarray
    """int16 16 kHz, padded with silence."""
    group: str
    """Voice (or source) it belongs to."""
    text: str
    """What is said (chatter: the source)."""
    intent: str | None = None
    """True intent (None for chatter)."""
    slots: dict[str, object] = field(default_factory=dict)
    """True slots."""


def command_clips(variants: int, noisy: bool) -> list[Clip]:
    """Each command in ``variants`` voice/rate combinations, clean (faint floor) or noisy."""
    out = []
    for i, (text, intent, slots) in enumerate(TRUTH):
        for k in range(variants):
            voice = clips.VOICES[(i + 2 * k) % len(clips.VOICES)]
            rate = RATES[(i + k) % len(RATES)]
            speech = clips.speak(text, voice=voice, rate=rate)
            padded = clips.pad(speech)
            seed = 1000 * i + k
            audio = (clips.mix_pink(padded, NOISE_SNR_DB, seed=seed,
                                    speech_rms=clips.active_rms(speech))
                     if noisy else clips.add_floor(padded, seed=seed))
            out.append(Clip(audio, voice, text, intent, slots))
    return out


def stop_clips(noisy: bool) -> list[Clip]:
    """Plain "stop" in every voice and rate (on top of the stop phrases in the command set)."""
    out = []
    for v, voice in enumerate(clips.VOICES):
        for r, rate in enumerate(RATES):
            speech = clips.speak("stop", voice=voice, rate=rate)
            seed = 77 + 10 * v + r
            padded = clips.pad(speech)
            audio = (clips.mix_pink(padded, NOISE_SNR_DB, seed=seed,
                                    speech_rms=clips.active_rms(speech))
                     if noisy else clips.add_floor(padded, seed=seed))
            out.append(Clip(audio, voice, "stop", "stop", {}))
    return out


def _loop(recordings: list[np.ndarray], seconds: float, group: str) -> Clip:
    """Recordings end to end, looped (at varying level and floor) to at least ``seconds``."""
    parts: list[np.ndarray] = []
    total, k = 0, 0
    gains = (1.0, 0.5, 1.6, 0.8)
    while total < seconds * clips.RATE or k == 0:
        for rec in recordings:
            scaled = clips.add_floor(rec.astype(np.float64) * gains[k % len(gains)], seed=k)
            parts += [scaled, clips.add_floor(clips.silence(0.4 + 0.1 * (k % 5)), seed=k)]
            total += len(parts[-2]) + len(parts[-1])
        k += 1
    return Clip(clips.concat(*parts), group, f"{group} x{k}")


def chatter(seconds_real: float, voices: Iterable[str]) -> list[Clip]:
    """Non-command speech: testdata recordings (looped) and espeak-ng chatter sentences."""
    real = {
        "librivox": [clips.load_wav(p) for p in clips.testdata_recordings()
                     if "librivox" in str(p)],
        "cards": [clips.load_wav(p) for p in clips.testdata_recordings() if "cards" in str(p)],
        "testdata-raw": [np.fromfile(clips.TESTDATA / name, dtype="<i2")
                         for name in RAW_RECORDINGS if (clips.TESTDATA / name).exists()],
    }
    if not real["librivox"]:
        raise RuntimeError(f"no recordings under {clips.TESTDATA}: install pocketsphinx-testdata")
    out = [_loop(recs, seconds_real, group) for group, recs in real.items() if recs]
    for v, voice in enumerate(voices):
        for j, text in enumerate(clips.CHATTER + MORE_CHATTER):
            rate = RATES[(v + j) % len(RATES)]
            speech = clips.pad(clips.speak(text, voice=voice, rate=rate), 0.5, 0.5)
            out.append(Clip(clips.add_floor(speech, seed=v * 100 + j), f"chatter-{voice}", text))
    return out


def interjection_clips(voices: Iterable[str]) -> list[Clip]:
    """Each interjection alone, as a command would be said, in each voice."""
    out = []
    for v, voice in enumerate(voices):
        for j, text in enumerate(INTERJECTIONS):
            speech = clips.speak(text, voice=voice, rate=RATES[(v + j) % len(RATES)])
            out.append(Clip(clips.add_floor(clips.pad(speech), seed=5000 + 100 * v + j),
                            voice, text))
    return out


@dataclass
class Outcome:
    """What the recogniser made of one clip."""

    clip: Clip
    """The clip."""
    commands: list[tuple[str, dict[str, object]]]
    """(intent, slots) of every utterance that parsed as a command."""
    texts: list[str]
    """Every utterance's text."""

    @property
    def right(self) -> bool:
        """Exactly the one true command."""
        return self.commands == [(self.clip.intent, self.clip.slots)]


def recognise(recognizer, commands, items: list[Clip]) -> list[Outcome]:
    """Stream each clip (20 ms chunks, then flush) and parse what was heard."""
    out = []
    for clip in items:
        utterances = clips.stream(recognizer, clip.audio)
        parsed = [commands.parse(u.text) for u in utterances]
        out.append(Outcome(clip, [(c.intent.value, dict(c.slots)) for c in parsed if c is not None],
                           [u.text for u in utterances]))
    return out


def _rate(outcomes: list[Outcome], ok) -> tuple[float, dict[str, float], list[str]]:
    groups: dict[str, list[bool]] = {}
    wrong = []
    for o in outcomes:
        good = bool(ok(o))
        groups.setdefault(o.clip.group, []).append(good)
        if not good:
            wrong.append(f"{o.clip.text!r} ({o.clip.group}) -> {o.texts}")
    total = sum(sum(g) for g in groups.values()) / max(1, len(outcomes))
    return total, {k: sum(v) / len(v) for k, v in groups.items()}, wrong


def accuracy_figure(name: str, outcomes: list[Outcome], bound: float) -> Figure:
    """Share of command clips recognised exactly right."""
    value, groups, wrong = _rate(outcomes, lambda o: o.right)
    return pooled(name, value, groups, Target(">=", bound), clips=len(outcomes), wrong=wrong)


def stop_recall_figure(outcomes: list[Outcome]) -> Figure:
    """Share of stop clips (clean and noisy) that produced a stop command."""
    stops = [o for o in outcomes if o.clip.intent == "stop"]
    value, groups, wrong = _rate(stops, lambda o: any(i == "stop" for i, _ in o.commands))
    return pooled("stop_recall", value, groups, Target(">=", 1.0), clips=len(stops), missed=wrong)


def false_commands_figure(outcomes: list[Outcome]) -> Figure:
    """Commands heard per hour of speech that holds none."""
    seconds: dict[str, float] = {}
    false: dict[str, int] = {}
    heard = []
    for o in outcomes:
        group = o.clip.group.split("-")[0] if o.clip.group.startswith("chatter") else o.clip.group
        seconds[group] = seconds.get(group, 0.0) + len(o.clip.audio) / clips.RATE
        false[group] = false.get(group, 0) + len(o.commands)
        heard += [f"{o.clip.text!r} -> {c}" for c in o.commands]
    hours = sum(seconds.values()) / 3600
    groups = {g: false[g] / (seconds[g] / 3600) for g in seconds}
    return pooled("false_commands_per_hour", sum(false.values()) / hours, groups,
                  Target("<=", 0.0), audio_minutes=round(hours * 60, 1),
                  per_group_seconds=seconds, commands_heard=heard)


def interjection_figure(outcomes: list[Outcome]) -> Figure:
    """Share of spoken interjections that were taken for a command."""
    value, groups, _ = _rate(outcomes, lambda o: bool(o.commands))
    heard = [f"{o.clip.text!r} ({o.clip.group}) -> {o.commands}" for o in outcomes if o.commands]
    return pooled("interjection_commands", value, groups, Target("<=", 0.05),
                  clips=len(outcomes), heard=heard)
