"""What each key of the configuration file accepts: a check and an example value per key.

``config`` turns a failed check into one line: ``<file>: <key>: must be <expected>, got <value>;
e.g. <key> = <example>``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from genrecast.daemon.settings import PCM_FORMATS

Check = Callable[[Any], "str | None"]
"""Returns None when the value is fine, else what is expected ("a number > 0")."""


def _number(lo: float | None = None, hi: float | None = None, *, integer: bool = False,
            lo_open: bool = False) -> Check:
    def check(value: Any) -> str | None:
        kind = "an integer" if integer else "a number"
        bounds = []
        if lo is not None:
            bounds.append(f"{'>' if lo_open else '>='} {lo:g}")
        if hi is not None:
            bounds.append(f"<= {hi:g}")
        expected = f"{kind} {' and '.join(bounds)}".strip()
        ok_type = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, ok_type):
            return expected
        if not math.isfinite(value):  # NaN passes every comparison; inf is no setting either
            return f"a finite {expected[2:] if not integer else expected}"
        if lo is not None and (value <= lo if lo_open else value < lo):
            return expected
        if hi is not None and value > hi:
            return expected
        return None

    return check


def _string(choices: tuple[str, ...] = ()) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "a string" if not choices else f"one of {', '.join(choices)}"
        if choices and value not in choices:
            return f"one of {', '.join(choices)}"
        return None

    return check


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _mode(value: Any) -> str | None:
    if isinstance(value, str) and value.isdigit() and set(value) <= set("01234567"):
        value = int(value, 8)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0o777:
        return "a file mode such as 0o660 or \"0660\""
    return None


def as_mode(value: Any) -> int:
    return int(value, 8) if isinstance(value, str) else int(value)


# section → key → (check, example value for the fix)
SCHEMA: dict[str, dict[str, tuple[Check, str]]] = {
    "model": {
        "path": (_string(), '"/opt/genrecast/models/default.tflite"'),
        "threads": (_number(1, 64, integer=True), "1"),
    },
    "decisions": {
        "hop_s": (_number(0.0, 60.0, lo_open=True), "0.5"),
        "smooth_windows": (_number(1, 1000, integer=True), "5"),
        "threshold": (_number(0.0, 1.0, lo_open=True), "0.6"),
        "min_windows": (_number(1, 1000, integer=True), "3"),
        "silence_db": (_number(-200.0, 0.0), "-60.0"),
        "reset_on_track": (_boolean, "true"),
        "thresholds": (lambda v: None if isinstance(v, dict) else "a table of label = threshold",
                       "{ rock = 0.7 }"),
    },
    "publish": {
        "endpoint": (_string(), '"tcp://127.0.0.1:5555"'),
        "heartbeat_s": (_number(0.0, 3600.0, lo_open=True), "5.0"),
        "high_water_mark": (_number(0, 10_000_000, integer=True), "10000"),
        "startup_grace_s": (_number(0.0, 60.0), "1.0"),
    },
    "engine": {
        "workers": (lambda v: None if v == "auto" else _number(0, 256, integer=True)(v),
                    '"auto" (default), 2, or 0 (one per core)'),
    },
    "control": {
        "endpoint": (_string(), '"ipc:///run/genrecast/control.sock"'),
    },
    "metrics": {
        "port": (_number(0, 65535, integer=True), "9464"),
        "host": (_string(), '"127.0.0.1"'),
    },
    "mqtt": {
        "url": (_string(), '"mqtt://127.0.0.1:1883"'),
        "username": (_string(), '"genrecast"'),
        "password": (_string(), '"..." (better: password_file)'),
        "password_file": (_string(), '"/run/credentials/genrecast.service/mqtt_password"'),
        "client_id": (_string(), '"genrecast-kitchen"'),
        "topic_prefix": (_string(), '"genrecast"'),
        "discovery_prefix": (_string(), '"homeassistant"'),
        "predictions": (_boolean, "false"),
        "ca_file": (_string(), '"/etc/ssl/certs/ca-certificates.crt"'),
        "keepalive_s": (_number(5, 3600, integer=True), "30"),
        "commands": (_boolean, "true"),
    },
    "web": {
        "listen": (_string(), '"127.0.0.1:8090"'),
        "token": (_string(), '"a-long-random-string"'),
        "token_file": (_string(), '"/etc/genrecast/web.token"'),
        "prediction_interval_s": (_number(0.1, 60.0), "1.0"),
    },
    "security": {
        "ipc_mode": (_mode, "0o660"),
        "ipc_group": (_string(), '"genrecast"'),
        "curve_secret_key": (_string(), '"/etc/genrecast/keys/server.key_secret"'),
        "curve_authorized_dir": (_string(), '"/etc/genrecast/keys/authorized"'),
    },
}

SOURCE_SCHEMA: dict[str, tuple[Check, str]] = {
    "name": (_string(), '"living" (or "Living room" with id = "living")'),
    "id": (_string(), '"living"'),
    "kind": (_string(("mic", "file", "url", "stdin")), '"mic"'),
    "target": (_string(), '"http://radio.example/stream"'),
    "pcm_format": (_string(PCM_FORMATS), '"s16le"'),
    "rate_hz": (_number(1000, 768_000, integer=True), "48000"),
    "channels": (_number(1, 64, integer=True), "1"),
    "realtime": (_boolean, "true"),
    "loop": (_boolean, "false"),
}
