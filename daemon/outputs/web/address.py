"""``--web HOST:PORT`` parsing and the loopback rules (a token is required anywhere else; the
``Host`` of a request to a loopback server must be loopback too)."""

from __future__ import annotations

import ipaddress

from genrecast.daemon.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"


def parse_listen(text: str, what: str = "--web") -> tuple[str, int]:
    """``127.0.0.1:8090``, ``[::1]:8090``, ``0.0.0.0:8090`` or a bare port (loopback)."""
    value = text.strip()
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = DEFAULT_HOST, value
    host = host.strip("[]") or DEFAULT_HOST
    if not port.isdigit() or not 0 <= int(port) < 65536:  # 0: any free port (printed)
        raise ConfigError(f"{what} {text!r} needs HOST:PORT; e.g. {what} 127.0.0.1:8090")
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ConfigError(f"{what} {text!r}: {host!r} is not an IP address; use 127.0.0.1 "
                              "(or 0.0.0.0 with a token to reach it from other machines)") from None
    return host, int(port)


def host_header_is_loopback(host_header: str) -> bool:
    """A request's ``Host`` (``127.0.0.1:8090``, ``[::1]:8090``, ``localhost``) names a loopback
    address: a page elsewhere that reached us through DNS rebinding sends its own name."""
    host = host_header.rpartition(":")[0] if host_header.rfind(":") > host_header.rfind(
        "]") else host_header
    return is_loopback(host.strip("[]"))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
