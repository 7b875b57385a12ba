"""Sound devices by name: listing them, finding one, and loading PortAudio quietly.

Names are looked up afresh each time (a device that was unplugged and plugged back in may
have another index). The streams on them are in ``companion.audio.device_streams``.
"""

from __future__ import annotations

import ctypes
import logging
import os
from typing import Any

from companion.errors import AudioDeviceError

log = logging.getLogger(__name__)


def _sd() -> Any:
    """The sounddevice module, imported late (it loads PortAudio)."""
    try:
        import sounddevice
    except OSError as exc:  # PortAudio library missing
        raise AudioDeviceError(f"PortAudio is not available ({exc}): "
                               "install libportaudio2") from None
    _quiet_alsa()
    return sounddevice


_ALSA_ERROR_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                       ctypes.c_int, ctypes.c_char_p)
_alsa_handler: Any = None
"""Kept referenced: ALSA calls it for as long as the process lives."""


def _quiet_alsa() -> None:
    """Stop ALSA printing "underrun occurred" on stderr for every late buffer.

    On a busy machine it printed hundreds of lines a second straight to file descriptor 2:
    it buried the status line, and when stderr was a pipe nobody read, the companion
    blocked on its next log line and could not quit. Underruns are counted by the sink.
    """
    global _alsa_handler
    if _alsa_handler is not None or log.isEnabledFor(logging.DEBUG):
        return
    try:
        alsa = ctypes.CDLL("libasound.so.2")
    except OSError:  # no ALSA: nothing prints
        return
    _alsa_handler = _ALSA_ERROR_HANDLER(lambda *_: None)
    alsa.snd_lib_error_set_handler(_alsa_handler)


def list_devices() -> list[str]:
    """One line per audio device for ``companion devices``."""
    sd = _sd()
    default_in, default_out = _default_indices(sd)
    lines = []
    for i, dev in enumerate(sd.query_devices()):
        marks = [m for m, d in (("default input", default_in), ("default output", default_out))
                 if d == i]
        line = (f"{dev['name']}  (in {dev['max_input_channels']}, "
                f"out {dev['max_output_channels']}, {dev['default_samplerate']:.0f} Hz)")
        lines.append(line + (f"  [{', '.join(marks)}]" if marks else ""))
    return lines


def _default_indices(sd: Any) -> tuple[int, int]:
    dev = sd.default.device
    try:
        return int(dev[0]), int(dev[1])
    except (TypeError, IndexError, ValueError):
        return -1, -1


def find_device(name: str | None, kind: str) -> str:
    """The name of the input/output (``kind``) device matching ``name`` (None: the default).

    Exact names win over substring matches (case-insensitive). Raises ``AudioDeviceError``.
    """
    sd = _sd()
    chan_key = "max_input_channels" if kind == "input" else "max_output_channels"
    what = "microphone" if kind == "input" else "speaker"
    try:
        devices = list(sd.query_devices())
    except sd.PortAudioError as exc:
        raise AudioDeviceError(f"cannot list audio devices ({exc}): is the sound server "
                               "running? try `companion doctor`") from None
    usable = [d["name"] for d in devices if d[chan_key] > 0]
    if not usable:
        raise AudioDeviceError(f"no {what} found: plug one in or pick one with "
                               "`companion devices`")
    if name is None:
        idx = _default_indices(sd)[0 if kind == "input" else 1]
        if 0 <= idx < len(devices) and devices[idx][chan_key] > 0:
            return str(devices[idx]["name"])
        return str(usable[0])
    exact = [d for d in usable if d.lower() == name.lower()]
    partial = [d for d in usable if name.lower() in d.lower()]
    if exact or partial:
        return str((exact or partial)[0])
    raise AudioDeviceError(f"no {kind} device matches '{name}': pick one of the names "
                           "shown by `companion devices`")


def _device_index(name: str, kind: str) -> int:
    """Index of the device called ``name`` right now (looked up afresh each time)."""
    sd = _sd()
    chan_key = "max_input_channels" if kind == "input" else "max_output_channels"
    for i, d in enumerate(sd.query_devices()):
        if d["name"] == name and d[chan_key] > 0:
            return i
    raise AudioDeviceError(f"{kind} device '{name}' has gone away: plug it back in or "
                           "pick another with `companion devices`")


def reinitialize_portaudio() -> None:
    """Terminate and initialise PortAudio again, so it lists the devices there are now.

    Every stream must be closed first (terminating frees them). Errors are logged: the
    caller's next open says what is wrong.
    """
    sd = _sd()
    try:
        while sd._initialized > 0:
            sd._terminate()
        sd._initialize()
    except sd.PortAudioError as exc:
        log.warning("PortAudio could not be re-initialised: %s", exc)


class quiet_stderr:
    """File descriptor 2 sent to /dev/null for a moment: PortAudio's ALSA host prints four
    "Expression ... failed" lines straight to it on every failed open, which while a
    device is gone would be every retry. (A line another thread logs in that moment, a
    few milliseconds, is lost.)"""

    def __enter__(self) -> None:
        self._saved: int | None = None
        if log.isEnabledFor(logging.DEBUG):
            return
        try:
            self._saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        except OSError:
            self._saved = None

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            os.dup2(self._saved, 2)
            os.close(self._saved)
