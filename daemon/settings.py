"""Daemon settings: nested frozen dataclasses, built once (from CLI flags and/or the TOML file).

Nothing below the CLI and configuration loader sees CLI objects; every stage takes the part of
``Settings`` it needs.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from genrecast.daemon.errors import ConfigError

SOURCE_KINDS = ("mic", "file", "url", "stdin")
PCM_FORMATS = ("s16le", "f32le")
# The one rule for a name that becomes part of a ZeroMQ topic, an MQTT topic, a Home Assistant
# id or a file path. fullmatch, not match with "$": "$" also matches before a trailing newline,
# and a source named "room\n" made mosquitto drop the daemon for a malformed packet every second.
_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
NAME_RULE = "1-64 letters, digits, '-' or '_'"


def check_name(name: str, what: str) -> str:
    """``name`` if it follows the name rule, else a ConfigError naming ``what`` and the rule."""
    if not _NAME_RE.fullmatch(name):
        raise ConfigError(f"{what} {name!r} must be {NAME_RULE} (it is used in topics, ids "
                          "and file names)")
    return name


def default_runtime_dir() -> Path:
    """Where ipc sockets live: $RUNTIME_DIRECTORY (systemd), else $XDG_RUNTIME_DIR, else /tmp."""
    for var in ("RUNTIME_DIRECTORY", "XDG_RUNTIME_DIR"):
        value = os.environ.get(var)
        if value:
            return Path(value.split(":")[0]) / ("" if var == "RUNTIME_DIRECTORY" else "genrecast")
    return Path("/tmp") / f"genrecast-{os.getuid()}"


@dataclass(frozen=True)
class SourceSettings:
    """One audio input."""

    name: str
    """Name used in topics (``genrecast.prediction.<name>``) and metrics."""
    kind: str
    """``mic``, ``file``, ``url`` or ``stdin``."""
    target: str = ""
    """Device (mic, empty = default), path (file), URL (url); unused for stdin."""
    pcm_format: str = "s16le"
    """Sample format of raw PCM on stdin."""
    rate_hz: int = 48_000
    """Sample rate of raw PCM on stdin."""
    channels: int = 1
    """Channel count of raw PCM on stdin."""
    realtime: bool = True
    """Pace a file source in real time (False: as fast as possible)."""
    loop: bool = False
    """Start a file source again when it ends (demos)."""
    display_name: str = ""
    """What people see (Home Assistant's device name), e.g. "Living room"; empty = ``name``.
    ``name`` stays the id in topics, so renaming this keeps every id."""

    @property
    def shown_name(self) -> str:
        return self.display_name or self.name

    @property
    def spec(self) -> str:
        return f"{self.kind}:{self.target}" if self.target else self.kind


@dataclass(frozen=True)
class DecisionSettings:
    """Hop, smoothing and the rules for declaring a genre."""

    hop_s: float = 0.5
    """Seconds between the starts of consecutive windows."""
    smooth_windows: int = 5
    """Moving average of probabilities over this many windows."""
    threshold: float = 0.6
    """A genre is declared when its smoothed probability stays above this..."""
    min_windows: int = 3
    """...for this many consecutive windows (hysteresis: no flapping inside a track)."""
    silence_db: float = -60.0
    """Windows whose RMS is below this (dBFS) are reported as silence, not as a genre."""
    label_thresholds: dict[str, float] = field(default_factory=dict)
    """Per-label overrides of ``threshold``."""
    reset_on_track: bool = True
    """url sources: when the station's now-playing title changes, the smoother forgets the
    previous track, so the new song's genre is declared from its own windows."""

    def threshold_for(self, label: str) -> float:
        return self.label_thresholds.get(label, self.threshold)

    def check_labels(self, labels: tuple[str, ...], model: str) -> None:
        """ConfigError for a per-label threshold naming no label of the model (a typo would
        otherwise silently leave that label at the default threshold)."""
        unknown = sorted(set(self.label_thresholds) - set(labels))
        if unknown:
            raise ConfigError(f"decisions.thresholds.{unknown[0]}: {unknown[0]!r} is not a label "
                              f"of model {model} ({', '.join(labels)}); correct it or remove it")


@dataclass(frozen=True)
class PublishSettings:
    """Where and how events are published."""

    endpoint: str = ""
    """ZeroMQ endpoint to bind; empty = ``ipc://<runtime dir>/events.sock``."""
    heartbeat_s: float = 5.0
    """Seconds between heartbeat events."""
    high_water_mark: int = 10_000
    """Messages queued per subscriber before ZeroMQ drops (drops are counted)."""
    startup_grace_s: float = 0.0
    """Seconds to wait after binding before reading the sources (subscribers connecting now
    receive the first events)."""
    ipc_mode: int = 0o660
    """File mode of an ipc socket."""
    ipc_group: str = ""
    """Group that owns an ipc socket (empty: the daemon's group)."""
    curve_secret_key: str = ""
    """Path to the server's CURVE secret key file; set it to require authenticated subscribers."""
    curve_authorized_dir: str = ""
    """Folder of client public key files allowed to subscribe (with ``curve_secret_key``)."""

    def resolved_endpoint(self, runtime_dir: Path | None = None) -> str:
        if self.endpoint:
            return self.endpoint
        return f"ipc://{(runtime_dir or default_runtime_dir()) / 'events.sock'}"


@dataclass(frozen=True)
class ControlSettings:
    """The control socket (status, pause, resume, reload, snapshot)."""

    endpoint: str = ""
    """Empty = ``ipc://<runtime dir>/control.sock``; ``off`` disables it."""

    def resolved_endpoint(self, runtime_dir: Path | None = None) -> str:
        if self.endpoint:
            return self.endpoint
        return f"ipc://{(runtime_dir or default_runtime_dir()) / 'control.sock'}"


@dataclass(frozen=True)
class MetricsSettings:
    """Prometheus metrics over HTTP."""

    port: int = 0
    """TCP port for /metrics; 0 disables the endpoint."""
    host: str = "127.0.0.1"
    """Address to bind (loopback unless you mean it)."""


@dataclass(frozen=True)
class MqttSettings:
    """MQTT output with Home Assistant discovery (off unless ``url`` is set)."""

    url: str = ""
    """``mqtt://HOST[:PORT]`` (1883) or ``mqtts://HOST[:PORT]`` (TLS, 8883); empty = off."""
    username: str = ""
    """Login name at the broker (empty: anonymous)."""
    password: str = field(default="", repr=False)
    """The password itself, read from ``password_file`` (or given in the file as ``password``)."""
    client_id: str = ""
    """MQTT client id; empty = ``genrecast-<hostname>-<6 hex digits>`` (the digits from the event
    endpoint, so two daemons on one host differ). Also the Home Assistant node id, so the
    entities' unique ids stay the same across restarts."""
    topic_prefix: str = "genrecast"
    """State topics are ``<topic_prefix>/<source>/<entity>``."""
    discovery_prefix: str = "homeassistant"
    """Home Assistant's discovery prefix; empty = no discovery messages."""
    predictions: bool = False
    """Also publish every window's prediction (``<topic_prefix>/<source>/prediction``)."""
    ca_file: str = ""
    """CA bundle for ``mqtts://`` (empty: the system's trusted CAs)."""
    keepalive_s: int = 30
    """Seconds between MQTT pings; the broker declares the daemon dead (last will) after 1.5×."""
    commands: bool = True
    """Offer Home Assistant a switch (pause/resume), a threshold and a reload button, and act on
    their command topics (false: state only)."""

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    @property
    def tls(self) -> bool:
        return self.url.startswith("mqtts://")

    @property
    def host(self) -> str:
        return self._host_port()[0]

    @property
    def port(self) -> int:
        return self._host_port()[1]

    def _host_port(self) -> tuple[str, int]:
        rest = self.url.partition("://")[2].rstrip("/")
        default = 8883 if self.tls else 1883
        if rest.startswith("["):  # [::1]:1883
            host, _, tail = rest[1:].partition("]")
            return host, int(tail[1:]) if tail.startswith(":") and tail[1:].isdigit() else default
        host, sep, port = rest.rpartition(":")
        if sep and port.isdigit():
            return host, int(port)
        return rest, default


@dataclass(frozen=True)
class WebSettings:
    """The live dashboard (``/``, ``/events``, ``/api/status``) served by the daemon itself."""

    listen: str = ""
    """``HOST:PORT`` to serve on; empty = no dashboard."""
    token: str = field(default="", repr=False)
    """Bearer token the dashboard requires (from ``[web] token`` or ``token_file``); required
    when ``listen`` is not a loopback address."""
    prediction_interval_s: float = 1.0
    """Per-window updates go to the page at most this often per source."""

    @property
    def enabled(self) -> bool:
        return bool(self.listen)


@dataclass(frozen=True)
class Settings:
    """Everything ``genrecast run`` needs."""

    sources: tuple[SourceSettings, ...]
    """Audio inputs; at least one."""
    model_path: Path
    """The .tflite model (its card sits beside it)."""
    decisions: DecisionSettings = field(default_factory=DecisionSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    control: ControlSettings = field(default_factory=ControlSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    web: WebSettings = field(default_factory=WebSettings)
    num_threads: int = 1
    """Threads for the LiteRT interpreter."""
    workers: int = 0
    """``[engine] workers``: processes the sources are sharded over (1: everything in this
    process; AUTO_WORKERS: see ``resolved_workers``). 0 in the file means one per core."""
    config_path: Path | None = None
    """The TOML file these settings came from, if any (reloaded on SIGHUP)."""


AUTO_WORKERS = 0
# "auto" adds a worker process per this many sources, up to one per core. Measured with
# benchmarks/radio.py: 200 MP3 streams cost about a third of a core and a worker's fixed cost
# (interpreter, libraries, model: ~75 MB) is then under 0.4 MB per stream; a few sources on a
# Raspberry Pi stay in one process.
SOURCES_PER_AUTO_WORKER = 200


def resolved_workers(settings: Settings, cores: int | None = None) -> int:
    """The number of processes ``genrecast run`` uses for these settings."""
    n = len(settings.sources)
    if settings.workers != AUTO_WORKERS:
        return max(1, min(settings.workers, n))
    if any(s.kind == "stdin" for s in settings.sources):
        return 1  # stdin cannot be shared; an explicit workers > 1 says so with an error
    cores = cores or os.cpu_count() or 1
    return max(1, min(cores, -(-n // SOURCES_PER_AUTO_WORKER)))


def parse_source_spec(text: str, index: int = 0) -> SourceSettings:
    """``[NAME=]KIND[:TARGET]`` → SourceSettings, e.g. ``living=mic:2``, ``file:song.ogg``."""
    name, sep, spec = text.partition("=")
    if not sep or "://" in name or ":" in name:
        name, spec = "", text
    kind, _, target = spec.partition(":")
    if kind not in SOURCE_KINDS:
        raise ConfigError(
            f"source {text!r}: unknown kind {kind!r}; use one of mic[:DEVICE], file:PATH, url:URL, "
            "stdin (optionally NAME=... in front)"
        )
    if kind in ("file", "url") and not target:
        example = "song.ogg" if kind == "file" else "http://host/stream"
        raise ConfigError(f"source {text!r}: {kind} needs a target, e.g. {kind}:{example}")
    if not name:
        name = kind if index == 0 else f"{kind}{index}"
    check_name(name, "source name")
    return SourceSettings(name=name, kind=kind, target=target)
