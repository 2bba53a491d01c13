"""Service commands: ctl (talk to a running daemon), keys (CURVE key pairs), proxy (fan-in)."""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path
from typing import Any

import typer
from genrecast.daemon.errors import UserError
from genrecast.daemon.settings import check_name
from genrecast.daemon.text import MAX_LINE_CHARS, safe_text

log = logging.getLogger(__name__)

SYSTEM_RUNTIME_DIR = Path("/run/genrecast")
PROXY_WATCHDOG_POLL_S = 0.5


def control_endpoint(endpoint: str | None, config: Path | None, instance: str | None) -> str:
    """--endpoint, else the file's control.endpoint, else the system service's socket, else the
    per-user default (the same rule the daemon uses)."""
    from genrecast.daemon.settings import ControlSettings

    if endpoint:
        return endpoint
    if config is not None:
        from genrecast.daemon.service.config_file import read_toml

        configured = read_toml(config).get("control", {}).get("endpoint", "")
        if configured == "off":
            raise UserError(f"{config}: control.endpoint is off; enable it to use genrecast ctl")
        if configured:
            return str(configured)
    if instance:
        check_name(instance, "instance name")  # it becomes part of a path
        # genrecast@INSTANCE.service: RuntimeDirectory=genrecast-INSTANCE
        return f"ipc://{SYSTEM_RUNTIME_DIR.with_name('genrecast-' + instance) / 'control.sock'}"
    system = SYSTEM_RUNTIME_DIR / "control.sock"
    if system.exists():
        return f"ipc://{system}"
    return ControlSettings().resolved_endpoint()


def _source_line(info: object) -> str:
    """One source in ``ctl status``: its state with the reason first (``lost: HTTP 503 ...,
    retry in 4.2 s``), then its counters."""
    if not isinstance(info, dict):
        return str(info)
    head = str(info.get("reason") or info.get("state", "?"))
    rest = " ".join(f"{k}={v}" for k, v in info.items() if k not in ("reason", "state"))
    return f"{head} | {rest}" if rest else head


def _print_reply(command: str, reply: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(reply, indent=2, sort_keys=True))
        return
    if command in ("status", "snapshot"):
        sources = reply.get("sources", {})
        for key, value in reply.items():
            if key not in ("ok", "sources"):
                typer.echo(safe_text(f"{key}: {value}", MAX_LINE_CHARS))
        for name, info in sorted(sources.items()):
            typer.echo(safe_text(f"  {name}: {_source_line(info)}", MAX_LINE_CHARS))
    else:
        typer.echo(safe_text(str(reply.get("message", "ok")), MAX_LINE_CHARS))


def register(app: typer.Typer) -> None:
    """Add the service commands to ``app``."""

    @app.command("ctl")
    def ctl_cmd(
        command: str = typer.Argument(..., help="status | pause SOURCE | resume SOURCE | "
                                      "threshold SOURCE VALUE | reload | snapshot"),
        source: str = typer.Argument(None, help="Source name (pause, resume, threshold)."),
        value: str = typer.Argument(None, help="threshold: the source's decision threshold, "
                                    "0 < VALUE <= 1 (until the daemon restarts)."),
        endpoint: str = typer.Option(None, "--endpoint", "-e",
                                     help="Control endpoint (ipc://PATH or tcp://127.0.0.1:PORT)."),
        config: Path = typer.Option(None, "--config", "-c",  # noqa: B008
                                    help="Read the control endpoint from this configuration."),
        instance: str = typer.Option(None, "--instance", "-i",
                                     help="The genrecast@INSTANCE system service."),
        as_json: bool = typer.Option(False, "--json", help="Print the raw JSON reply."),
        timeout: float = typer.Option(3.0, "--timeout", help="Seconds to wait for an answer."),
    ) -> None:
        """Query or steer a running daemon through its control socket."""
        from genrecast.daemon.service.control import (
            COMMANDS,
            NEEDS_SOURCE,
            NEEDS_VALUE,
            request,
            threshold_ok,
        )

        if command not in COMMANDS:
            raise UserError(f"unknown command {command!r}; use one of {', '.join(COMMANDS)}")
        if command in NEEDS_SOURCE and not source:
            raise UserError(f"{command} needs a source name, e.g. genrecast ctl {command} living")
        number = None
        if command in NEEDS_VALUE:
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = None
            if not threshold_ok(number):
                raise UserError(f"{command} needs a value > 0 and <= 1, got {value!r}; e.g. "
                                f"genrecast ctl {command} {source} 0.7")
        target = control_endpoint(endpoint, config, instance)
        reply = request(target, command, source if command in NEEDS_SOURCE else None,
                        timeout_s=timeout, value=number)
        if not reply.get("ok"):
            raise UserError(f"{command}: {reply.get('error', 'refused')}")
        _print_reply(command, reply, as_json)

    @app.command("keys")
    def keys_cmd(
        directory: Path = typer.Argument(..., help="Folder for the key files."),  # noqa: B008
        name: str = typer.Argument(..., help="Key name: NAME.key (public), NAME.key_secret."),
        force: bool = typer.Option(False, "--force", help="Overwrite existing keys."),
    ) -> None:
        """Make a CURVE key pair (server: the daemon; clients: each subscriber)."""
        from genrecast.daemon.wire.curve_auth import create_keys

        files = create_keys(directory, name, overwrite=force)
        typer.echo(f"public key: {files.public}  (give to the other side)")
        typer.echo(f"secret key: {files.secret}  (keep private, mode 0600)")

    @app.command("proxy")
    def proxy_cmd(
        frontend: str = typer.Option("tcp://127.0.0.1:5601", "--frontend",
                                     envvar="GENRECAST_PROXY_FRONTEND",
                                     help="XSUB endpoint publishers connect into ('' = none)."),
        upstream: list[str] = typer.Option([], "--upstream",  # noqa: B008
                                           envvar="GENRECAST_PROXY_UPSTREAM",
                                           help="A daemon's tcp publish endpoint to pull from "
                                           "(repeatable; space-separated in the variable)."),
        backend: str = typer.Option("tcp://127.0.0.1:5602", "--backend",
                                    envvar="GENRECAST_PROXY_BACKEND",
                                    help="XPUB endpoint subscribers connect to."),
        high_water_mark: int = typer.Option(100_000, "--hwm", envvar="GENRECAST_PROXY_HWM",
                                            help="Messages queued per subscriber."),
        curve_secret_key: str = typer.Option("", "--curve-secret-key",
                                             envvar="GENRECAST_PROXY_CURVE_SECRET_KEY",
                                             help="Require CURVE subscribers: server secret key."),
        curve_authorized_dir: str = typer.Option("", "--curve-authorized-dir",
                                                 envvar="GENRECAST_PROXY_CURVE_AUTHORIZED_DIR",
                                                 help="Folder of authorized subscriber keys."),
    ) -> None:
        """Forward events from many daemons to many subscribers (XSUB/XPUB)."""
        from genrecast.daemon.errors import ConfigError
        from genrecast.daemon.service.notify import Notifier
        from genrecast.daemon.wire.proxy import Proxy, ProxySettings

        if bool(curve_secret_key) != bool(curve_authorized_dir):
            raise ConfigError("--curve-secret-key and --curve-authorized-dir go together; "
                              "set both or neither")
        proxy = Proxy(ProxySettings(frontend, backend, high_water_mark, curve_secret_key,
                                    curve_authorized_dir, tuple(upstream))).start()
        notifier = Notifier()
        stop = threading.Event()

        def _on_signal(signum: int, _frame: object) -> None:
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _on_signal)
        inputs = " ".join(filter(None, [proxy.frontend_endpoint, *upstream]))
        summary = f"forwarding {inputs} -> {proxy.backend_endpoint}"
        typer.echo(f"genrecast proxy: {summary}", err=True)
        notifier.ready(summary)
        try:
            while not stop.wait(PROXY_WATCHDOG_POLL_S):
                if not proxy.running:
                    raise UserError("the proxy thread stopped; see the log above", 70)
                notifier.watchdog_if_due(healthy=True)
        finally:
            notifier.stopping("stopping")
            proxy.stop()
            notifier.close()
