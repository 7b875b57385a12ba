"""``companion listen`` on the microphone and speakers: start-up order and the live loop.

Start-up is ordered for the time to "Listening." (issue 15): the sound devices open
first, because a stream takes a while to deliver steady callbacks (on the PulseAudio null
sink 0 to 2 s, however little else the process does), and the recogniser loads while they
start. The voice engine is not needed to hear: it loads on the synthesis thread once
"Listening." is printed, and the first sentence waits for it if a command comes sooner
(the soft start tone does not: it is not speech). "Listening." still means what it said:
the microphone delivers, the recogniser is loaded and a stop or a command is heard from
that moment on.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from companion.cli.common import EXIT_INTERRUPTED, sigterm_as_interrupt

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 5.0
"""At most this long for the microphone's callbacks to run steadily before listening."""
LISTENING = ("Listening. Say \"play aftercare\", \"what can I say\", or \"stop\". "
             "Ctrl-C quits.")
"""Printed on stderr once the companion hears."""


def listen_live(args: argparse.Namespace, context: Any, events: Any,
                load_recognizer: Callable[[], tuple[Any, Any]]) -> int:
    """Open the devices, load the recogniser (``load_recognizer`` returns it and its command
    set) and the voice, then hear and act until Ctrl-C."""
    from companion.audio.device_streams import SoundDeviceSink, SoundDeviceSource
    from companion.audio.echo_path import AlignedReference
    from companion.cli.soundcheck import explained_device_errors
    from companion.speech.synthesis import SPEECH_RATE

    started = time.monotonic()
    reference = AlignedReference(SPEECH_RATE)
    with explained_device_errors():
        sink = SoundDeviceSink(context.settings.output_device, sample_rate=SPEECH_RATE,
                               observer=reference.push, on_withheld=reference.gap)
    source = None
    try:
        with explained_device_errors():
            source = SoundDeviceSource(context.settings.input_device)
        opened = time.monotonic() - started
        recognizer, commands = load_recognizer()
        loaded = time.monotonic() - started
        return _run(context, recognizer, commands, events, args.voice, sink, source,
                    reference, (started, opened, loaded))
    finally:
        if source is not None:
            source.close()
        sink.close()


def _run(context: Any, recognizer: Any, commands: Any, events: Any, voice: str | None,
         sink: Any, source: Any, reference: Any, times: tuple[float, float, float]) -> int:
    """Build the session on open devices, say "Listening.", then run the loop.

    ``times``: when start-up began (monotonic), and seconds into it when the devices were
    open and the recogniser loaded (logged with -v, read by ``benchmarks.live``)."""
    from companion.session.device_faults import DeviceFaults
    from companion.session.listening import LiveLoop
    from companion.session.playback import RealtimeOutput
    from companion.session.session import Session
    from companion.session.status import StatusLine
    from companion.speech.synthesis import Pyttsx3Synthesizer

    synth = Pyttsx3Synthesizer(warm=False)  # warmed once it hears (below)
    output = None
    try:
        player = context.player(synth, on_event=events, voice=voice)
        output = RealtimeOutput(player, sink)
        session = Session(commands, player, context.routines, on_event=events,
                          stop_now=output.stop_now, voice=voice)
        status = StatusLine(player, session)
        faults = DeviceFaults(source, sink, output, status.notice)

        def tick() -> None:
            faults.check()
            status.update()

        output.start()
        ready = source.wait_ready(timeout=READY_TIMEOUT_S)
        source.clear()  # both sides of the echo path counted from here (AlignedReference)
        reference.start()
        loop = LiveLoop(source, recognizer, session, player, reference, on_tick=tick,
                        on_input_problem=status.input_problem)
        started, opened, loaded = times
        log.info("start-up: devices opened %.3f s, recogniser loaded %.3f s, microphone "
                 "%s %.3f s", opened, loaded, "steady" if ready else "not steady yet",
                 time.monotonic() - started)
        print(LISTENING, file=sys.stderr, flush=True)
        synth.warm(context.voice(voice))
        with sigterm_as_interrupt():
            try:
                loop.run()
            except KeyboardInterrupt:
                output.stop_now()
                time.sleep(0.1)
                status.close()
                return EXIT_INTERRUPTED
        return 0
    finally:
        if output is not None:
            output.close()
        synth.close()
