"""sd_notify(3) without libsystemd: one datagram per message to ``$NOTIFY_SOCKET``.

systemd passes ``NOTIFY_SOCKET`` to a ``Type=notify`` service: a filesystem path, or a name in
the abstract namespace when it starts with ``@``. When it is unset (run by hand, in tests) every
call is a no-op, so the daemon calls the notifier unconditionally.

``WATCHDOG_USEC`` (set with ``WatchdogSec=``) is the deadline; we ping at half of it, and only
while audio advances (the service decides; ``Notifier.watchdog()`` just sends).
"""

from __future__ import annotations

import logging
import os
import socket
import time

log = logging.getLogger(__name__)

WATCHDOG_FRACTION = 0.5
"""Ping the watchdog at this fraction of ``WATCHDOG_USEC`` (sd_watchdog_enabled(3) advice)."""


def _address(value: str) -> str | bytes:
    if value.startswith("@"):
        return b"\0" + value[1:].encode()  # abstract namespace
    return value


class Notifier:
    """Sends READY/STATUS/WATCHDOG/STOPPING to systemd; silent when not under systemd."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = env.get("NOTIFY_SOCKET", "")
        self._sock: socket.socket | None = None
        self.watchdog_interval_s: float | None = None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            self.watchdog_interval_s = int(usec) / 1e6 * WATCHDOG_FRACTION
        self._last_ping = float("-inf")
        self._last_status = ""

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, *fields: str) -> bool:
        """Send ``KEY=VALUE`` lines in one datagram; False when disabled or the send failed."""
        if not self.address:
            return False
        message = "\n".join(fields).encode()
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(message, _address(self.address))
        except OSError as exc:  # systemd gone or socket removed: the daemon keeps running
            log.warning("sd_notify to %s failed: %s", self.address, exc)
            return False
        return True

    def ready(self, status: str = "") -> bool:
        if status:
            self._last_status = _one_line(status)
        return self.notify("READY=1", *([f"STATUS={_one_line(status)}"] if status else []))

    def status(self, text: str) -> bool:
        """Send ``STATUS=`` when the text changed (systemctl status shows the last one)."""
        text = _one_line(text)
        if text == self._last_status:
            return False
        self._last_status = text
        return self.notify(f"STATUS={text}")

    def reloading(self) -> bool:
        return self.notify("RELOADING=1")

    def stopping(self, status: str = "") -> bool:
        return self.notify("STOPPING=1", *([f"STATUS={_one_line(status)}"] if status else []))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def watchdog_due(self, now_s: float | None = None) -> bool:
        """True when a watchdog ping is due (never when ``WatchdogSec=`` is not set)."""
        if self.watchdog_interval_s is None:
            return False
        now = time.monotonic() if now_s is None else now_s
        return now - self._last_ping >= self.watchdog_interval_s

    def watchdog_if_due(self, healthy: bool, now_s: float | None = None) -> bool:
        """Ping when due and ``healthy`` (every source's frames advanced); returns True if sent."""
        now = time.monotonic() if now_s is None else now_s
        if not healthy or not self.watchdog_due(now):
            return False
        self._last_ping = now
        return self.watchdog()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _one_line(text: str) -> str:
    return " ".join(text.split())
