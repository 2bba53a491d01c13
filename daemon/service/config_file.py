"""The TOML configuration file → ``Settings``; command-line flags override the file.

Every error is one line naming the file, the key and the fix, raised as ``ConfigError`` (exit
code 78, which the systemd unit lists in ``RestartPreventExitStatus=``). Unknown keys are errors:
a typo must not silently fall back to a default.

Layout (``systemd/genrecast.toml`` is the commented example)::

    [model]      path, threads
    [[sources]]  name, id, kind, target, pcm_format, rate_hz, channels, realtime, loop
    [decisions]  hop_s, smooth_windows, threshold, min_windows, silence_db, reset_on_track,
                 [decisions.thresholds]
    [publish]    endpoint, heartbeat_s, high_water_mark, startup_grace_s
    [engine]     workers
    [control]    endpoint
    [metrics]    port, host
    [mqtt]       url, username, password | password_file, client_id, topic_prefix,
                 discovery_prefix, predictions, ca_file, keepalive_s, commands
    [web]        listen, token, token_file, prediction_interval_s
    [security]   ipc_mode, ipc_group, curve_secret_key, curve_authorized_dir

Overrides use the same dotted keys (``{"decisions.hop_s": 0.25, "sources": ["mic"]}``); a value
of ``None`` means "flag not given". ``sources.KEY`` (``sources.realtime``, ``sources.loop``, ...)
applies to every source.
"""

from __future__ import annotations

import grp
import ipaddress
import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from genrecast.daemon.errors import ConfigError
from genrecast.daemon.service.config_names import source_id_and_display_name
from genrecast.daemon.service.config_outputs import mqtt_settings, web_settings
from genrecast.daemon.service.config_report import (
    CLI_ORIGIN,
    Reporter,
    read_small_text,
    resolve_path,
)
from genrecast.daemon.service.config_schema import SCHEMA, SOURCE_SCHEMA, Check, as_mode
from genrecast.daemon.settings import (
    AUTO_WORKERS,
    ControlSettings,
    DecisionSettings,
    MetricsSettings,
    PublishSettings,
    Settings,
    SourceSettings,
    parse_source_spec,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

log = logging.getLogger(__name__)

DEFAULT_CONFIG_PATH = Path("/etc/genrecast/genrecast.toml")
DEFAULT_SOURCE_SPEC = "mic"  # the default input device


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a missing, unreadable or malformed file is one ConfigError line."""
    try:
        return tomllib.loads(read_small_text(path))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: configuration file not found; create it (see systemd/genrecast.toml) "
            "or pass --config PATH"
        ) from None
    except PermissionError:
        raise ConfigError(f"{path}: cannot read the configuration file; "
                          "make it readable by the daemon's user") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory; pass the .toml file itself") from None
    except ValueError as exc:  # not a regular file, too large, not UTF-8 (see read_small_text)
        if isinstance(exc, tomllib.TOMLDecodeError):
            raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax there") from None
        raise ConfigError(f"{path}: {exc}; pass the .toml file itself") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a configuration; fix the "
                          "tables there") from None


def _check_table(rep: Reporter, section: str, table: Any,
                 schema: Mapping[str, tuple[Check, str]]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise rep.fail(section, "must be a table", f"write it as [{section}] with keys below it")
    for key, value in table.items():
        dotted = f"{section}.{key}"
        if key not in schema:
            raise rep.unknown(dotted, list(schema))
        check, example = schema[key]
        expected = check(value)
        if expected is not None:
            raise rep.fail(dotted, f"must be {expected}, got {value!r}",
                           rep.example(dotted, example))
    return table


def _split_overrides(overrides: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"decisions.hop_s": 0.25}`` → ``{"decisions": {"hop_s": 0.25}}`` (None = not given)."""
    rep = Reporter(CLI_ORIGIN)
    nested: dict[str, dict[str, Any]] = {}
    for dotted, value in overrides.items():
        if value is None or dotted == "sources" or dotted.startswith("sources."):
            continue
        section, _, key = dotted.partition(".")
        if section not in SCHEMA or not key:
            raise rep.unknown(dotted, [f"{s}.{k}" for s in SCHEMA for k in SCHEMA[s]])
        nested.setdefault(section, {})[key] = value
    return nested


def _sources(rep: Reporter, raw: Any, base: Path | None) -> tuple[SourceSettings, ...]:
    if raw is None:
        raise rep.fail("sources", "no audio source configured",
                       'add a [[sources]] table with kind = "mic" (or pass --source)')
    if not isinstance(raw, list) or not raw:
        raise rep.fail("sources", "must be a non-empty array of tables",
                       'write [[sources]] then name = "living" and kind = "mic" below it')
    result: list[SourceSettings] = []
    for i, entry in enumerate(raw):
        key = f"sources[{i}]"
        if isinstance(entry, SourceSettings):  # built by the command line already
            result.append(entry)
            continue
        if isinstance(entry, str):  # "name=kind:target", as on the command line
            try:
                result.append(parse_source_spec(entry, i))
            except ConfigError as exc:
                raise rep.fail(key, str(exc), "fix the source spec") from None
            continue
        table = _check_table(rep, key, entry, SOURCE_SCHEMA)
        if "kind" not in table:
            raise rep.fail(key, "missing kind", 'add kind = "mic" (or "file", "url", "stdin")')
        spec = table["kind"] + (f":{table['target']}" if table.get("target") else "")
        source_id, display_name = source_id_and_display_name(rep, key, table)
        if source_id:
            spec = f"{source_id}={spec}"
        try:
            src = parse_source_spec(spec, i)
        except ConfigError as exc:
            raise rep.fail(key, str(exc), "fix name, kind or target") from None
        if src.kind == "file" and base is not None:
            src = SourceSettings(name=src.name, kind="file",
                                 target=str(resolve_path(src.target, base)))
        extra = {k: table[k] for k in ("pcm_format", "rate_hz", "channels", "realtime", "loop")
                 if k in table}
        result.append(SourceSettings(name=src.name, kind=src.kind, target=src.target,
                                     display_name=display_name, **extra))
    names = [s.name for s in result]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise rep.fail("sources", f"duplicate source name {dupes[0]!r}",
                       "give every source a distinct name = \"...\" (NAME=KIND:TARGET on the "
                       "command line)")
    if sum(s.kind == "stdin" for s in result) > 1:
        raise rep.fail("sources", "more than one source reads stdin",
                       "keep one stdin source: standard input can be read only once")
    return tuple(result)


_PER_SOURCE_KEYS = ("pcm_format", "rate_hz", "channels", "realtime", "loop")


def _apply_source_overrides(rep: Reporter, sources: tuple[SourceSettings, ...],
                            overrides: Mapping[str, Any]) -> tuple[SourceSettings, ...]:
    """``sources.KEY`` overrides (``--fast``, ``--loop``, ``--format``...) apply to every source."""
    values: dict[str, Any] = {}
    for dotted, value in overrides.items():
        if not dotted.startswith("sources.") or value is None:
            continue
        key = dotted.split(".", 1)[1]
        if key not in _PER_SOURCE_KEYS:
            raise rep.unknown(dotted, list(_PER_SOURCE_KEYS))
        check, example = SOURCE_SCHEMA[key]
        expected = check(value)
        if expected is not None:
            raise rep.fail(dotted, f"must be {expected}, got {value!r}",
                           rep.example(dotted, example))
        values[key] = value
    return tuple(replace(s, **values) for s in sources) if values else sources


def _check_endpoint(rep: Reporter, key: str, value: str, *, loopback_only: bool) -> None:
    if not value or (key == "control.endpoint" and value == "off"):
        return
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in ("tcp", "ipc"):
        raise rep.fail(key, f"unsupported endpoint {value!r}",
                       "use tcp://HOST:PORT or ipc:///path/to.sock")
    if scheme == "ipc":
        if not rest.startswith("/"):
            raise rep.fail(key, f"ipc endpoint {value!r} needs an absolute path",
                           "e.g. ipc:///run/genrecast/events.sock")
        return
    host, _, port = rest.rpartition(":")
    if not host or not (port == "*" or port.isdigit() and 0 < int(port) < 65536):
        raise rep.fail(key, f"tcp endpoint {value!r} needs HOST:PORT",
                       "e.g. tcp://127.0.0.1:5555")
    if loopback_only and not _is_loopback(host):
        raise rep.fail(key, f"{value!r} is not a loopback address (the control socket "
                       "accepts pause/reload commands without authentication)",
                       "use tcp://127.0.0.1:PORT or an ipc:// path")


def _is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _decisions(rep: Reporter, table: dict[str, Any]) -> DecisionSettings:
    values = {k: v for k, v in table.items() if k != "thresholds"}
    labels = table.get("thresholds", {})
    check, _ = SCHEMA["decisions"]["threshold"]  # a label's threshold: the same bound
    for label, value in labels.items():
        problem = check(value)
        if problem is not None:
            raise rep.fail(f"decisions.thresholds.{label}", f"must be {problem}, got {value!r}",
                           f"e.g. {label} = 0.7")
    for key in ("hop_s", "threshold", "silence_db"):
        if key in values:
            values[key] = float(values[key])
    return DecisionSettings(**values, label_thresholds={k: float(v) for k, v in labels.items()})


def _publish(rep: Reporter, publish: dict[str, Any], security: dict[str, Any],
             base: Path | None) -> PublishSettings:
    values: dict[str, Any] = dict(publish)
    for key in ("heartbeat_s", "startup_grace_s"):
        if key in values:
            values[key] = float(values[key])
    _check_endpoint(rep, "publish.endpoint", values.get("endpoint", ""), loopback_only=False)
    if "ipc_mode" in security:
        values["ipc_mode"] = as_mode(security["ipc_mode"])
    group = security.get("ipc_group", "")
    if group:
        try:
            grp.getgrnam(group)
        except KeyError:
            raise rep.fail("security.ipc_group", f"no group named {group!r} on this machine",
                           f"create it (groupadd {group}) or remove the key") from None
        values["ipc_group"] = group
    secret = security.get("curve_secret_key", "")
    authorized = security.get("curve_authorized_dir", "")
    if bool(secret) != bool(authorized):
        missing = "curve_authorized_dir" if secret else "curve_secret_key"
        raise rep.fail(f"security.{missing}", "CURVE needs both a secret key and a folder of "
                       "authorized client keys", f"set security.{missing} too "
                       "(genrecast keys DIR NAME makes them)")
    if secret:
        secret_path = resolve_path(secret, base)
        auth_path = resolve_path(authorized, base)
        if not secret_path.is_file():
            raise rep.fail("security.curve_secret_key", f"{secret_path} does not exist",
                           "run genrecast keys DIR server and point this at DIR/server.key_secret")
        if not auth_path.is_dir():
            raise rep.fail("security.curve_authorized_dir", f"{auth_path} is not a folder",
                           "create it and copy each subscriber's NAME.key (public) into it")
        values["curve_secret_key"] = str(secret_path)
        values["curve_authorized_dir"] = str(auth_path)
    return PublishSettings(**values)


def _metrics(rep: Reporter, table: dict[str, Any]) -> MetricsSettings:
    host = table.get("host", "127.0.0.1")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise rep.fail("metrics.host", f"{host!r} is not an IP address",
                           'use "127.0.0.1" (or "0.0.0.0" to expose metrics)') from None
    return MetricsSettings(**table)


def _model(rep: Reporter, table: dict[str, Any], base: Path | None,
           default_model: Callable[[], Path] | None) -> tuple[Path, int]:
    threads = int(table.get("threads", 1))
    if "path" in table:
        path = resolve_path(table["path"], base)
        if not path.is_file():
            raise rep.fail("model.path", f"{path} does not exist",
                           "point it at a .tflite file (its .json card beside it)")
        return path, threads
    if default_model is None:
        from genrecast.models import default_model_path

        default_model = default_model_path
    return default_model(), threads


def decision_settings(overrides: Mapping[str, Any]) -> DecisionSettings:
    """``DecisionSettings`` from command-line values (``"decisions.hop_s"`` ...), checked against
    the same schema as the configuration file (``genrecast classify`` has no file)."""
    rep = Reporter(CLI_ORIGIN)
    table = _split_overrides(overrides).get("decisions", {})
    return _decisions(rep, _check_table(rep, "decisions", table, SCHEMA["decisions"]))


def load_settings(path: Path | str | None = None,
                  overrides: Mapping[str, Any] | None = None,
                  *, default_model: Callable[[], Path] | None = None) -> Settings:
    """Build ``Settings`` from a TOML file (optional) and command-line overrides.

    ``overrides`` maps dotted keys (``"model.path"``, ``"decisions.hop_s"``, ...) to values;
    ``None`` values are skipped; ``"sources"`` is a list of ``NAME=KIND:TARGET`` specs (or
    ``SourceSettings``) that replaces the file's sources. Raises ``ConfigError`` with one line on any problem.
    """
    overrides = dict(overrides or {})
    raw: dict[str, Any] = {}
    config_path = Path(path) if path is not None else None
    base = None
    if config_path is not None:
        raw = read_toml(config_path)
        base = config_path.parent
    file_rep = Reporter(str(config_path) if config_path else CLI_ORIGIN)
    valid_top = [*SCHEMA, "sources"]
    for key in raw:
        if key not in valid_top:
            raise file_rep.unknown(key, valid_top)
    tables = {s: _check_table(file_rep, s, raw.get(s, {}), SCHEMA[s]) for s in SCHEMA}

    cli_tables = _split_overrides(overrides)
    cli_keys = {f"{s}.{k}" for s, table in cli_tables.items() for k in table}
    if overrides.get("sources"):
        cli_keys.add("sources")
    cli_rep = Reporter(CLI_ORIGIN)
    for section, table in cli_tables.items():
        _check_table(cli_rep, section, table, SCHEMA[section])
    rep = Reporter(file_rep.origin, frozenset(cli_keys))
    merged = {s: {**tables[s], **cli_tables.get(s, {})} for s in SCHEMA}

    if overrides.get("sources"):
        sources = _sources(rep, list(overrides["sources"]), None)
    elif config_path is None:
        # No file and no --source: the default input device, as `genrecast run` promises. A
        # machine without one gets "no default input device ... genrecast devices" on open.
        sources = (parse_source_spec(DEFAULT_SOURCE_SPEC),)
    else:
        sources = _sources(rep, raw.get("sources"), base)
    sources = _apply_source_overrides(cli_rep, sources, overrides)
    # A model path given on the command line is relative to the working directory.
    model_base = None if "model.path" in cli_keys else base
    model_path, threads = _model(rep, merged["model"], model_base, default_model)
    decisions = _decisions(rep, merged["decisions"])
    publish = _publish(rep, merged["publish"], merged["security"], base)
    _check_endpoint(rep, "control.endpoint", merged["control"].get("endpoint", ""),
                    loopback_only=True)
    control = ControlSettings(**merged["control"])
    metrics = _metrics(rep, merged["metrics"])
    mqtt = mqtt_settings(rep, merged["mqtt"], base)
    web = web_settings(rep, merged["web"], base)
    workers_value = merged["engine"].get("workers", "auto")
    workers = (AUTO_WORKERS if workers_value == "auto"
               else int(workers_value) or (os.cpu_count() or 1))
    return Settings(sources=sources, model_path=model_path, decisions=decisions,
                    publish=publish, control=control, metrics=metrics, mqtt=mqtt, web=web,
                    num_threads=threads, workers=workers,
                    config_path=config_path.resolve() if config_path else None)
