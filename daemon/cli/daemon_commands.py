"""Daemon commands: run, listen, classify, devices, demo, model."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from genrecast.daemon.errors import ConfigError

log = logging.getLogger(__name__)


def _default_model() -> Path:
    from genrecast.models import default_model_path

    return default_model_path()


def _label_thresholds(items: list[str]) -> dict[str, float]:
    """``--label-threshold LABEL=P`` (repeatable) → {label: P}; the bounds are checked with the
    configuration file's (one schema for flags and file)."""
    out = {}
    for item in items:
        label, sep, value = item.partition("=")
        try:
            out[label] = float(value)
        except ValueError:
            sep = ""
        if not sep or not label:
            raise ConfigError(f"--label-threshold {item!r} must be LABEL=P, e.g. rock=0.7")
    return out


Model = Annotated[Path | None, typer.Option("--model", "-m",
                                            help="A .tflite model (default: the shipped model).")]
Hop = Annotated[float, typer.Option("--hop", help="Seconds between window starts.")]
Smooth = Annotated[int, typer.Option("--smooth", help="Moving average over N windows.")]
Threshold = Annotated[float, typer.Option("--threshold",
                                          help="Smoothed probability needed to declare a genre.")]
MinWindows = Annotated[int, typer.Option("--min-windows",
                                         help="Windows above the threshold before a change.")]
SilenceDb = Annotated[float, typer.Option("--silence-db",
                                          help="Windows quieter than this (dBFS) are silence.")]
LabelThr = Annotated[list[str] | None, typer.Option(
    "--label-threshold", help="Per-label threshold LABEL=P (repeatable).")]


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_cmd(
        ctx: typer.Context,
        source: Annotated[list[str] | None, typer.Option(
            "--source", "-s", help="[NAME=]mic[:DEVICE] | file:PATH | url:URL | stdin "
            "(repeatable; replaces the configuration's sources).")] = None,
        config: Annotated[Path | None, typer.Option(
            "--config", "-c", help="TOML configuration (default: /etc/genrecast/genrecast.toml "
            "when it exists); flags override its values.")] = None,
        model: Model = None,
        publish: Annotated[str, typer.Option(
            "--publish", help="ZeroMQ endpoint to bind (default: ipc socket in the runtime "
            "directory; tcp://127.0.0.1:PORT for TCP).")] = "",
        hop: Hop = 0.5,
        smooth: Smooth = 5,
        threshold: Threshold = 0.6,
        min_windows: MinWindows = 3,
        silence_db: SilenceDb = -60.0,
        label_threshold: LabelThr = None,
        fast: Annotated[bool, typer.Option("--fast", help="Read files as fast as possible.")] = False,
        loop: Annotated[bool, typer.Option("--loop", help="Start files again at the end.")] = False,
        pcm_format: Annotated[str, typer.Option("--format", help="stdin PCM: s16le or f32le.")
                              ] = "s16le",
        rate: Annotated[int, typer.Option("--rate", help="stdin PCM sample rate (Hz).")] = 48_000,
        channels: Annotated[int, typer.Option("--channels", help="stdin PCM channels.")] = 1,
        heartbeat: Annotated[float, typer.Option("--heartbeat",
                                                 help="Seconds between heartbeats.")] = 5.0,
        hwm: Annotated[int, typer.Option("--hwm", help="ZeroMQ send high-water mark.")] = 10_000,
        threads: Annotated[int, typer.Option("--threads", help="LiteRT threads.")] = 1,
        startup_grace: Annotated[float, typer.Option(
            "--startup-grace", help="Seconds to wait after binding before reading the sources, so "
            "subscribers already connecting receive every event.")] = 0.0,
        mqtt: Annotated[str, typer.Option(
            "--mqtt", help="Also publish to this MQTT broker with Home Assistant discovery: "
            "mqtt://HOST:PORT or mqtts://HOST:PORT (a login goes in the file's [mqtt] table, "
            "never on the command line).")] = "",
        web: Annotated[str, typer.Option(
            "--web", help="Serve the live dashboard on HOST:PORT (e.g. 127.0.0.1:8090); other "
            "than loopback it needs [web] token_file in the configuration.")] = "",
    ) -> None:
        """Listen to the sources, classify every window, publish events over ZeroMQ (Ctrl-C stops)."""

        # Every value below is checked by load_settings against the configuration file's
        # schema, so a bound is stated once for flags and file alike. Flags given on the
        # command line override the file.
        from genrecast.daemon.service.config_file import DEFAULT_CONFIG_PATH, load_settings
        from genrecast.daemon.service.service_run import config_path_or_default, run_service

        def given(name: str, value: object) -> object:
            # click's ParameterSource (typer may vendor click, so compare by name)
            source_of = ctx.get_parameter_source(name)
            return value if getattr(source_of, "name", "") in ("COMMANDLINE",
                                                               "ENVIRONMENT") else None

        overrides = {
            "sources": list(source) if source else None,
            "model.path": str(model) if model else None,
            "model.threads": given("threads", threads),
            "publish.endpoint": given("publish", publish),
            "publish.heartbeat_s": given("heartbeat", heartbeat),
            "publish.high_water_mark": given("hwm", hwm),
            "publish.startup_grace_s": given("startup_grace", startup_grace),
            "mqtt.url": given("mqtt", mqtt),
            "web.listen": given("web", web),
            "decisions.hop_s": given("hop", hop),
            "decisions.smooth_windows": given("smooth", smooth),
            "decisions.threshold": given("threshold", threshold),
            "decisions.min_windows": given("min_windows", min_windows),
            "decisions.silence_db": given("silence_db", silence_db),
            "decisions.thresholds": (_label_thresholds(label_threshold)
                                     if label_threshold else None),
            "sources.realtime": False if fast else None,
            "sources.loop": True if loop else None,
            "sources.pcm_format": given("pcm_format", pcm_format),
            "sources.rate_hz": given("rate", rate),
            "sources.channels": given("channels", channels),
        }
        settings = load_settings(config_path_or_default(config, DEFAULT_CONFIG_PATH), overrides)
        run_service(settings, overrides)

    @app.command("listen")
    def listen_cmd(
        endpoint: Annotated[str | None, typer.Argument(
            help="Endpoint to connect to (default: the daemon's default ipc socket).")] = None,
        kind: Annotated[list[str] | None, typer.Option(
            "--kind", "-k", help="prediction, genre, status or heartbeat (repeatable; "
            "default: all but heartbeat).")] = None,
        source: Annotated[list[str] | None, typer.Option(
            "--source", "-s", help="Only these source names (repeatable).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
        count: Annotated[int, typer.Option("--count", help="Stop after N events.")] = 0,
        seconds: Annotated[float, typer.Option("--seconds", help="Stop after S seconds.")] = 0.0,
    ) -> None:
        """Subscribe to a daemon and print its events (one readable line each, or JSON lines)."""
        from genrecast.daemon.cli.listen import listen
        from genrecast.daemon.settings import PublishSettings

        listen(endpoint or PublishSettings().resolved_endpoint(), kind or [], source or [],
               as_json, count=count, seconds=seconds)

    @app.command("classify")
    def classify_cmd(
        # readable=False: click would abort the whole batch (exit 2) for one unreadable path;
        # the run reports it on its own line and goes on (offline/walk.py's rule).
        paths: Annotated[list[Path], typer.Argument(help="Audio files and folders.",
                                                    readable=False)],
        model: Model = None,
        as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
        as_csv: Annotated[bool, typer.Option("--csv", help="CSV, one row per window.")] = False,
        summary: Annotated[bool, typer.Option(
            "--summary", help="One row per file (CSV, or JSON with --json): duration, decided "
            "genre, share of each label, genre changes.")] = False,
        recursive: Annotated[bool, typer.Option(
            "--recursive", "-r", help="Look for audio in the folders' subfolders too.")] = False,
        plot: Annotated[Path | None, typer.Option(
            "--plot", help="Draw probabilities over time and the decided genre to this PNG.")
                        ] = None,
        hop: Hop = 0.5,
        smooth: Smooth = 5,
        threshold: Threshold = 0.6,
        min_windows: MinWindows = 3,
        silence_db: SilenceDb = -60.0,
        label_threshold: LabelThr = None,
        threads: Annotated[int, typer.Option(
            "--threads", min=1, help="LiteRT threads and files decoded at once (default: every "
            "core; a batch job).")] = os.cpu_count() or 1,
        cluster: Annotated[str, typer.Option(
            "--cluster", help="Split the files over the nodes of this Ray cluster: its head "
            "HOST:PORT, or auto (pip install 'genrecast[cluster]'; the files at the same path "
            "on every node).")] = "",
    ) -> None:
        """Classify files and folders offline (same pipeline, streamed, as fast as possible):
        timeline and genre changes, or one summary row per file."""
        from genrecast.daemon.cli.plot import plot_timelines
        from genrecast.daemon.offline.run import ClassifyOptions, run_classify
        from genrecast.daemon.service.config_file import decision_settings

        if as_json and as_csv:
            raise ConfigError("choose one of --json and --csv")
        decisions = decision_settings({
            "decisions.hop_s": hop, "decisions.smooth_windows": smooth,
            "decisions.threshold": threshold, "decisions.min_windows": min_windows,
            "decisions.silence_db": silence_db,
            "decisions.thresholds": _label_thresholds(label_threshold or []) or None})
        output = "json" if as_json else "csv" if as_csv else "text"
        opts = ClassifyOptions(
            paths=tuple(paths), model=model or _default_model(), decisions=decisions,
            output=output, summary=summary, recursive=recursive, plot=plot, threads=threads)
        if cluster:
            from genrecast.daemon.cluster.classify import run_classify_cluster

            run_classify_cluster(opts, cluster, draw=plot_timelines)
        else:
            run_classify(opts, draw=plot_timelines)

    @app.command("devices")
    def devices_cmd(
        as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
    ) -> None:
        """List input devices with their native rates (use the index or name in --source mic:)."""
        from genrecast.daemon.audio.sources.mic import list_input_devices

        devices = list_input_devices()
        if as_json:
            typer.echo(json.dumps(devices, indent=2))
            return
        if not devices:
            typer.echo("no input devices (PortAudio found none); use --source file:PATH, url:URL "
                       "or stdin", err=True)
            return
        for d in devices:
            mark = "*" if d["default"] else " "
            typer.echo(f"{mark} {d['index']:>3}  {d['name']:<40} {d['hostapi']:<10} "
                       f"{d['channels']:>3} ch  {d['rate_hz']} Hz")

    @app.command("demo")
    def demo_cmd(
        model: Model = None,
        seconds: Annotated[float, typer.Option("--seconds",
                                               help="Stop after S seconds (0: Ctrl-C).")] = 0.0,
        file: Annotated[bool, typer.Option(
            "--file", help="Use the demo recording even when there is an input device.")] = False,
        kind: Annotated[list[str] | None, typer.Option(
            "--kind", "-k", help="Event kinds the subscriber prints (default: all but "
            "heartbeat).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Subscriber prints JSON.")] = False,
        web: Annotated[str, typer.Option(
            "--web", help="Also serve the live dashboard on HOST:PORT (loopback, e.g. "
            "127.0.0.1:8090).")] = "",
        mqtt: Annotated[str, typer.Option(
            "--mqtt", help="Also publish to this MQTT broker with Home Assistant discovery "
            "(mqtt://HOST:PORT or mqtts://HOST:PORT).")] = "",
        mqtt_username: Annotated[str, typer.Option(
            "--mqtt-username", help="Login name at the broker.")] = "",
        mqtt_password_file: Annotated[str, typer.Option(
            "--mqtt-password-file", help="A file holding the broker password (never the "
            "password itself on the command line).")] = "",
    ) -> None:
        """Run the daemon with the default model and print what a subscriber receives."""
        from genrecast.daemon.cli.demo import demo_mqtt, run_demo

        run_demo(model or _default_model(), seconds, False if file else None, kind or [],
                 as_json, web, demo_mqtt(mqtt, mqtt_username, mqtt_password_file))
        sys.stdout.flush()

    @app.command("model")
    def model_cmd(
        model: Annotated[Path | None, typer.Argument(
            help="A .tflite model (default: the shipped model).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the whole card.")] = False,
    ) -> None:
        """Which model, its labels and its figure on music it never heard (--json: the card)."""
        from genrecast.daemon.cli.model_summary import summary_lines
        from genrecast.daemon.model.card import load_card

        path = model or _default_model()
        card = load_card(path)
        if as_json:
            typer.echo(json.dumps(card.to_json(), indent=2))
            return
        for line in summary_lines(card, path):
            typer.echo(line)
