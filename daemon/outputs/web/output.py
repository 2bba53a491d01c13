"""``WebOutput``: the dashboard as a peer of the other outputs (bind early, serve after start).

The service layer builds it before the daemon starts (a port in use fails the start with one
line), attaches ``hub.offer`` to the daemon's ``on_event`` hook, starts it once the model is
loaded and closes it after the daemon stopped, so the final ``stopped`` statuses reach the page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from genrecast.daemon.errors import ConfigError
from genrecast.daemon.outputs.web.address import is_loopback, parse_listen
from genrecast.daemon.outputs.web.hub import EventHub
from genrecast.daemon.outputs.web.server import WebServer
from genrecast.daemon.outputs.web.state import Dashboard
from genrecast.daemon.settings import WebSettings

if TYPE_CHECKING:
    from genrecast.daemon.engine.daemon import Daemon

log = logging.getLogger(__name__)


MIN_TOKEN_CHARS = 16  # a token guessed in a few requests protects nothing


def check_web_settings(settings: WebSettings, what: str = "--web") -> None:
    """One-line ConfigError when the dashboard would be reachable from elsewhere without a token."""
    host, _ = parse_listen(settings.listen, what)
    if not is_loopback(host) and not settings.token:
        raise ConfigError(
            f"{what} {settings.listen!r} is not a loopback address and the dashboard has no "
            "token; set token_file = \"/etc/genrecast/web.token\" (or token) in the [web] "
            "table of the configuration file, or serve on 127.0.0.1")
    if not is_loopback(host) and len(settings.token) < MIN_TOKEN_CHARS:
        raise ConfigError(
            f"{what} {settings.listen!r} is reachable from other machines and the dashboard's "
            f"token has {len(settings.token)} characters; use at least {MIN_TOKEN_CHARS} "
            "(e.g. openssl rand -hex 32 > /etc/genrecast/web.token)")


class WebOutput:
    def __init__(self, settings: WebSettings, status: Callable[[], dict[str, Any]]) -> None:
        check_web_settings(settings)
        host, port = parse_listen(settings.listen)
        self.dashboard = Dashboard()
        self.hub = EventHub(self.dashboard, settings.prediction_interval_s)
        self.server = WebServer(host, port, settings.token, self.hub, self.dashboard, status)
        self._started = False

    @property
    def url(self) -> str:
        return self.server.url

    def attach(self, daemon: Daemon) -> None:
        daemon.on_event.append(self.hub.offer)

    def start(self, labels: Sequence[str] = ()) -> WebOutput:
        with self.dashboard.lock:
            if not self.dashboard.labels:
                self.dashboard.labels = tuple(labels)
        self.hub.start()
        self.server.start()
        self._started = True
        log.info("dashboard on %s", self.url)
        return self

    def close(self) -> None:
        if self._started:
            self.hub.close()
        self.server.close()
