"""Why there is (or is no) sound here: PortAudio, the sound server, cards, and the next step.

``companion devices``, ``doctor``, ``listen`` and ``play`` use it so that a machine without
sound always gets a reason and something to do, never silence.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from companion.errors import AudioDeviceError

NO_SPEAKERS_HINT = ("without speakers, `companion play aftercare --output aftercare.wav` "
                    "writes a routine to a file")
START_SERVER_HINT = ("start one with `pulseaudio --start` (or `systemctl --user start "
                     "pipewire-pulse`)")


@dataclass(frozen=True)
class SoundReport:
    """What this machine's sound looks like right now."""

    portaudio_error: str | None
    """Why PortAudio could not load, or None."""
    host_apis: tuple[str, ...]
    """PortAudio host API names (ALSA, JACK, ...)."""
    devices: tuple[str, ...]
    """One line per device, as ``companion devices`` prints them."""
    inputs: int
    outputs: int
    server: str | None
    """The PulseAudio/PipeWire server that answers, or None."""
    server_tried: str
    """Where the server was looked for (for the message)."""
    cards: int | None
    """ALSA sound cards in /proc/asound/cards, or None when that file does not exist."""

    def problem(self, kind: str = "both") -> str | None:
        """Why there is no device of ``kind`` (input, output, both), with the next step."""
        if self.portaudio_error is not None:
            return f"PortAudio is not available ({self.portaudio_error}): install libportaudio2"
        if not self.host_apis:
            return ("PortAudio has no host API (no ALSA, PulseAudio or JACK): install "
                    "libasound2-plugins and pulseaudio, then run `companion devices` again")
        lacking = [what for what, count, wanted in
                   (("microphone", self.inputs, kind in ("input", "both")),
                    ("speaker", self.outputs, kind in ("output", "both")))
                   if wanted and count == 0]
        if not lacking:
            return None
        missing = " or ".join(lacking)
        if self.server is None:
            why = f"no PulseAudio or PipeWire server answers ({self.server_tried})"
            if self.cards == 0:
                why += " and this machine has no sound card"
            return f"no {missing} found: {why}: {START_SERVER_HINT}; {NO_SPEAKERS_HINT}"
        if self.cards == 0:
            return (f"no {missing} found: the sound server {self.server} has none and this "
                    f"machine has no sound card: plug one in (or load a null sink: "
                    f"`pactl load-module module-null-sink`); {NO_SPEAKERS_HINT}")
        return (f"no {missing} found on the sound server {self.server}: plug one in or "
                f"check `pactl list short sinks`; {NO_SPEAKERS_HINT}")


def sound_report() -> SoundReport:
    """Look at PortAudio, the sound server and the cards (a second or two at most)."""
    server, tried = _sound_server()
    cards = _alsa_cards()
    try:
        from companion.audio.devices import _sd, list_devices

        sd = _sd()
        apis = tuple(str(api["name"]) for api in sd.query_hostapis())
        devices = list(sd.query_devices())
        lines = tuple(list_devices())
    except AudioDeviceError as exc:
        return SoundReport(str(exc), (), (), 0, 0, server, tried, cards)
    except Exception as exc:  # noqa: BLE001 - PortAudioError: report it, do not crash
        return SoundReport(f"{exc.__class__.__name__}: {exc}", (), (), 0, 0, server, tried,
                           cards)
    inputs = sum(1 for d in devices if d["max_input_channels"] > 0)
    outputs = sum(1 for d in devices if d["max_output_channels"] > 0)
    return SoundReport(None, apis, lines, inputs, outputs, server, tried, cards)


def require_device(kind: str) -> None:
    """Raise ``AudioDeviceError`` (one line: why and what to do) if no ``kind`` device."""
    report = sound_report()
    problem = report.problem(kind)
    if problem is not None:
        raise AudioDeviceError(problem)


@contextmanager
def explained_device_errors(kind: str = "both") -> Iterator[None]:
    """Turn "no device" inside the block into why there is none and what to do, one line."""
    try:
        yield
    except AudioDeviceError as exc:
        problem = sound_report().problem(kind)
        if problem is None:
            raise
        raise AudioDeviceError(problem) from exc


def _sound_server() -> tuple[str | None, str]:
    """The answering PulseAudio/PipeWire server (by ``pactl info``) and where it was sought."""
    tried = os.environ.get("PULSE_SERVER") or _default_socket()
    pactl = shutil.which("pactl")
    if pactl is None:
        return (tried if _socket_exists(tried) else None), tried
    try:
        out = subprocess.run([pactl, "info"], capture_output=True, text=True, timeout=3,
                             check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None, tried
    if out.returncode != 0:
        return None, tried
    name = "PulseAudio"
    where = tried
    for line in out.stdout.splitlines():
        if line.startswith("Server Name:"):
            name = "PipeWire" if "PipeWire" in line else "PulseAudio"
        elif line.startswith("Server String:"):
            where = line.split(":", 1)[1].strip()
    return f"{name} at {where}", tried


def _default_socket() -> str:
    runtime = os.environ.get("PULSE_RUNTIME_PATH")
    if runtime:
        return f"unix:{runtime}/native"
    xdg = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return f"unix:{xdg}/pulse/native"


def _socket_exists(server: str) -> bool:
    return server.startswith("unix:") and Path(server[len("unix:"):]).exists()


def _alsa_cards() -> int | None:
    path = Path("/proc/asound/cards")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0 if not Path("/proc/asound").exists() and Path("/proc").is_dir() else None
    return sum(1 for line in text.splitlines() if line[:3].strip().isdigit())


def describe(report: SoundReport) -> list[str]:
    """Lines for ``companion devices``: devices and defaults, or why there are none."""
    lines: list[str] = list(report.devices)
    problem = report.problem("both")
    if problem is not None:
        lines.append(f"{'' if not lines else 'but: '}{problem}")
    extra: list[str] = []
    if report.host_apis:
        extra.append("host APIs: " + ", ".join(report.host_apis))
    extra.append("sound server: " + (report.server or f"none answers ({report.server_tried})"))
    if report.cards is not None:
        extra.append(f"sound cards: {report.cards}")
    lines.append("; ".join(extra))
    return lines
