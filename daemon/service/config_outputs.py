"""The output tables of the configuration file: ``[mqtt]`` and ``[web]`` → their settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from genrecast.daemon.errors import ConfigError
from genrecast.daemon.service.config_report import (
    CLI_ORIGIN,
    Reporter,
    read_small_text,
    resolve_path,
)
from genrecast.daemon.settings import MqttSettings, WebSettings, check_name

_HOST_PORT_RE = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^:/\[\]@]+)(?::(\d{1,5}))?")


def _mqtt_topic(rep: Reporter, key: str, value: str, *, may_be_empty: bool) -> None:
    if not value and may_be_empty:
        return
    try:  # every level follows the one name rule (no +, #, NUL, newline, empty level)
        for level in value.split("/"):
            check_name(level, "topic level")
    except ConfigError as exc:
        raise rep.fail(key, f"{value!r} is not a usable MQTT topic prefix ({exc})",
                       'use levels of letters, digits, "-" and "_" joined by "/", e.g. '
                       '"genrecast" or "home/genrecast"') from None


def mqtt_settings(rep: Reporter, table: dict[str, Any], base: Path | None) -> MqttSettings:
    values = dict(table)
    url = values.get("url", "")
    if not url:
        if values:
            raise rep.fail("mqtt.url", "the [mqtt] table has no url",
                           'set url = "mqtt://HOST:1883" (or remove the table: MQTT stays off)')
        return MqttSettings()
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("mqtt", "mqtts"):
        raise rep.fail("mqtt.url", f"unsupported broker URL {url!r}",
                       "use mqtt://HOST:PORT (or mqtts://HOST:PORT for TLS)")
    if "@" in rest:
        raise rep.fail("mqtt.url", "the URL carries a login", "remove it from the URL and set "
                       "[mqtt] username and password_file (never a password on the command line)")
    match = _HOST_PORT_RE.fullmatch(rest.rstrip("/"))
    if match is None or match.group(2) and not 0 < int(match.group(2)) < 65536:
        raise rep.fail("mqtt.url", f"{url!r} needs a host and an optional port 1-65535",
                       "e.g. mqtt://127.0.0.1:1883")
    if "password" in values and "password_file" in values:
        raise rep.fail("mqtt.password", "both password and password_file are set",
                       "keep password_file (a systemd credential) and remove password")
    if "password_file" in values:
        path = resolve_path(values.pop("password_file"), base)
        try:
            values["password"] = read_small_text(path).rstrip("\r\n")
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
            reason = getattr(exc, "strerror", None) or str(exc)
            raise rep.fail("mqtt.password_file", f"cannot read {path} ({reason})",
                           "point it at a readable file holding the password (e.g. "
                           "LoadCredential=mqtt_password:/etc/genrecast/mqtt_password and "
                           "/run/credentials/genrecast.service/mqtt_password)") from None
        if not values["password"]:
            raise rep.fail("mqtt.password_file", f"{path} is empty", "write the password into it")
    if values.get("password") and not values.get("username"):
        raise rep.fail("mqtt.username", "a password without a username",
                       'set username = "..." as well')
    if values.get("ca_file"):
        ca = resolve_path(values["ca_file"], base)
        if not ca.is_file():
            raise rep.fail("mqtt.ca_file", f"{ca} does not exist",
                           "point it at a PEM CA bundle or remove it (system CAs)")
        values["ca_file"] = str(ca)
    _mqtt_topic(rep, "mqtt.topic_prefix", values.get("topic_prefix", "genrecast"),
                may_be_empty=False)
    _mqtt_topic(rep, "mqtt.discovery_prefix", values.get("discovery_prefix", "homeassistant"),
                may_be_empty=True)
    return MqttSettings(**values)
def web_settings(rep: Reporter, table: dict[str, Any], base: Path | None) -> WebSettings:
    """``[web]``: the token comes from the file (``token``, or ``token_file`` read here), never
    from a flag alone, so it does not show in ``ps``."""
    from genrecast.daemon.outputs.web.output import check_web_settings

    token = table.get("token", "")
    if table.get("token_file"):
        path = resolve_path(table["token_file"], base)
        try:
            token = read_small_text(path).strip()
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the path, not UTF-8
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise rep.fail("web.token_file", f"cannot read {path} ({reason})",
                           "create it with a long random line (e.g. openssl rand -hex 32) "
                           "readable by the daemon") from None
        if not token:
            raise rep.fail("web.token_file", f"{path} is empty",
                           "write a long random line into it (e.g. openssl rand -hex 32)")
    web = WebSettings(listen=table.get("listen", ""), token=token,
                      prediction_interval_s=float(table.get("prediction_interval_s", 1.0)))
    if web.enabled:
        from_cli = "web.listen" in rep.cli_keys
        try:
            check_web_settings(web, "--web" if from_cli else "web.listen")
        except ConfigError as exc:
            raise ConfigError(f"{CLI_ORIGIN if from_cli else rep.origin}: {exc}") from None
    return web
