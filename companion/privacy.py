"""No network, ever: an audit hook that turns any IP socket into an error."""

from __future__ import annotations

import socket
import sys
from typing import Any

from companion.errors import CompanionError

_IP_FAMILIES = {int(socket.AF_INET), int(socket.AF_INET6)}
_installed = False
refused: list[str] = []
"""Every refused attempt in this process (so a test can see one even if it was caught)."""


class NetworkBlockedError(CompanionError):
    """Something tried to open an IP socket."""


def _hook(event: str, args: tuple[Any, ...]) -> None:
    """Refuse IP sockets and name look-ups; local (AF_UNIX) sockets stay allowed."""
    if event == "socket.__new__" and len(args) > 1 and args[1] in _IP_FAMILIES:
        refused.append(event)
        raise NetworkBlockedError("Quiet Companion never uses the network (an IP socket "
                                  "was refused); please report this as a bug")
    if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
        refused.append(event)
        raise NetworkBlockedError(f"Quiet Companion never uses the network ({event} was "
                                  "refused); please report this as a bug")


def forbid_network() -> None:
    """Install the audit hook once for this process (it cannot be removed)."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
