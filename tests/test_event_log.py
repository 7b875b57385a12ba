"""The session's event log: bounded in memory, complete in its JSON-lines file."""

from __future__ import annotations

import json

from companion.session.events import EventLog, Heard, SayStart


def test_the_log_keeps_the_newest_events_and_writes_them_all(tmp_path) -> None:
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    total = EventLog.MAX_EVENTS + 500
    for i in range(total):
        log(SayStart(float(i), f"sentence {i}") if i % 2 else Heard(float(i), "stop", "stop"))
    log.close()
    assert len(log.events) == EventLog.MAX_EVENTS  # a night of events costs no more
    assert log.dropped == 500
    assert log.events[-1].t == total - 1 and log.events[0].t == 500  # the newest are kept
    assert log.count("heard") == total // 2  # counts cover the whole session
    assert log.count("say_start") == total // 2
    assert [e.t for e in log.of_type("heard")][-1] == total - 2
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == total  # the file gets every one
    assert json.loads(lines[0]) == {"t": 0.0, "type": "heard", "text": "stop",
                                    "intent": "stop", "slots": {}}
