"""No network, ever: the audit hook refuses IP sockets, and the companion runs without one."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from companion import privacy
from companion.cli import app as cli


def test_the_audit_hook_refuses_ip_sockets_but_not_local_ones():
    privacy.forbid_network()
    before = len(privacy.refused)
    with pytest.raises(privacy.NetworkBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(privacy.NetworkBlockedError):
        socket.getaddrinfo("example.org", 443)
    local = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # PulseAudio uses these
    local.close()
    assert len(privacy.refused) == before + 2


def test_play_in_process_opens_no_ip_socket(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    before = len(privacy.refused)
    code = cli.main(["play", "breathing", "--minutes", "4", "--output", str(tmp_path / "b.wav")])
    assert code == 0
    assert privacy.refused[before:] == []


def test_play_works_with_no_network_at_all(tmp_path, companion_env):
    """In a network namespace with only a down loopback, nothing can leave the machine."""
    out = tmp_path / "w.wav"
    result = subprocess.run(["unshare", "-rn", sys.executable, "-m", "companion", "play",
                             "wind-down", "--minutes", "3", "--output", str(out)],
                            capture_output=True, text=True, env=companion_env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 100_000


def test_listen_on_a_file_opens_no_ip_socket_and_runs_with_no_network(tmp_path, companion_env):
    """The whole speech loop (recogniser, session, player) needs no network either."""

    from tests import clips

    session = tmp_path / "in.wav"
    pcm = clips.add_floor(clips.concat(clips.silence(0.5), clips.speak("play breathing"),
                                       clips.silence(3.0), clips.speak("stop"),
                                       clips.silence(1.0)))
    clips.save_wav(session, pcm)
    before = len(privacy.refused)
    assert cli.main(["listen", "--input", str(session), "--output", str(tmp_path / "o.wav")]) == 0
    assert privacy.refused[before:] == []
    events = tmp_path / "ev.jsonl"
    result = subprocess.run(["unshare", "-rn", sys.executable, "-m", "companion", "listen",
                             "--input", str(session), "--events", str(events)],
                            capture_output=True, text=True, env=companion_env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert '"intent": "play"' in events.read_text()
