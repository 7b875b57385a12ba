"""``companion service install | remove``: start listening at login, as a systemd --user unit
with the network cut off (only local sockets: the sound server's)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from companion.errors import CompanionError

UNIT_NAME = "quiet-companion.service"


def add_parsers(sub: Any) -> None:
    """Add ``service install`` and ``service remove`` to the subcommand parser."""
    service = sub.add_parser("service", help="start listening at login (systemd --user)")
    ssub = service.add_subparsers(dest="action", metavar="ACTION", required=True)
    install = ssub.add_parser("install", help=f"write and enable {UNIT_NAME}")
    install.add_argument("--no-enable", action="store_true",
                         help="only write the unit file; do not run systemctl")
    install.set_defaults(handler=_cmd_install)
    remove = ssub.add_parser("remove", help=f"disable and delete {UNIT_NAME}")
    remove.add_argument("--no-enable", action="store_true", help=argparse.SUPPRESS)
    remove.set_defaults(handler=_cmd_remove)


def unit_dir() -> Path:
    """``$XDG_CONFIG_HOME/systemd/user`` (``~/.config/systemd/user`` by default)."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config).expanduser() / "systemd" / "user"


def unit_text(config: Path | None) -> str:
    """The unit: ``companion listen`` with this Python, restarted on failure, no network."""
    command = [sys.executable, "-m", "companion"]
    if config is not None:
        command += ["--config", str(Path(config).expanduser().resolve())]
    command.append("listen")
    return f"""\
# Written by `companion service install`; `companion service remove` deletes it.
[Unit]
Description=Quiet Companion: an offline voice for aftercare and winding down
After=pipewire-pulse.service pulseaudio.service

[Service]
Type=simple
ExecStart={" ".join(_quote(part) for part in command)}
Restart=on-failure
RestartSec=10
# A settings or model mistake (exit 2, 3) does not mend itself: `companion doctor` says what.
RestartPreventExitStatus=2 3
# Nothing leaves this machine: only local (unix) sockets, which the sound server needs.
RestrictAddressFamilies=AF_UNIX
NoNewPrivileges=yes
Environment=PYTHONUNBUFFERED=1

[Install]
WantedBy=default.target
"""


def _quote(part: str) -> str:
    """One ExecStart word, quoted when it holds spaces or quotes (systemd's own rules)."""
    if part and not any(c in part for c in ' \t"\'\\;$%'):
        return part
    escaped = part.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{escaped.replace("$", "$$")}"'


def _cmd_install(args: argparse.Namespace) -> int:
    path = unit_dir() / UNIT_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(unit_text(args.config), encoding="utf-8")
    except OSError as exc:
        raise CompanionError(f"cannot write {path}: {exc.strerror}: check that folder "
                             "is yours and writable") from None
    print(f"wrote {path}")
    if args.no_enable:
        print(f"not enabled (--no-enable): run `systemctl --user daemon-reload && "
              f"systemctl --user enable {UNIT_NAME}` to start it at login")
        return 0
    problem = _systemctl("daemon-reload") or _systemctl("enable", UNIT_NAME)
    if problem:
        print(f"not enabled: {problem}; the unit is written: in a systemd login session "
              f"run `systemctl --user daemon-reload && systemctl --user enable {UNIT_NAME}`")
        return 0
    print(f"enabled: it starts at your next login; start it now with "
          f"`systemctl --user start {UNIT_NAME}`, follow it with `journalctl --user -u "
          f"{UNIT_NAME}`")
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    path = unit_dir() / UNIT_NAME
    problem = None if args.no_enable else _systemctl("disable", "--now", UNIT_NAME)
    if not path.exists():
        print(f"no service to remove: {path} does not exist")
        return 0
    try:
        path.unlink()
    except OSError as exc:
        raise CompanionError(f"cannot delete {path}: {exc.strerror}") from None
    if not args.no_enable and not problem:
        _systemctl("daemon-reload")
    print(f"removed {path}" + (f" (systemctl --user: {problem})" if problem else ""))
    return 0


def _systemctl(*argv: str) -> str | None:
    """Run ``systemctl --user ARGV``; None if it worked, else why not (one line)."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return "systemctl is not installed here (no systemd)"
    try:
        done = subprocess.run([systemctl, "--user", *argv], capture_output=True, text=True,
                              timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"systemctl --user did not answer ({exc.__class__.__name__})"
    if done.returncode == 0:
        return None
    reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
    return f"systemctl --user {' '.join(argv)} failed: {reason}"
