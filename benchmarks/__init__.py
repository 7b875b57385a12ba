"""Benchmark suite for Quiet Companion; run ``python -m benchmarks --help``.

One concern per module: :mod:`.sessions` (generate spoken sessions, run ``listen --input``),
:mod:`.onsets` (measuring on output audio), :mod:`.latency` (command/stop latency),
:mod:`.accuracy` (recognition accuracy), :mod:`.live` (live-process metrics),
:mod:`.throughput` (engine speed), :mod:`.korean` (the Vosk model set-up),
:mod:`.env` (private dirs, launching), :mod:`.report` (figures, table, JSON).
"""
