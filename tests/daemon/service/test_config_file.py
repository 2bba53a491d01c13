"""TOML configuration → Settings: values, overrides, and one line per configuration error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from genrecast.daemon.errors import EXIT_CONFIG, ConfigError
from genrecast.daemon.service.config_file import load_settings
from genrecast.daemon.settings import resolved_workers

from tests.support.common import REPO

EXAMPLE = REPO / "systemd" / "genrecast.toml"


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "m.tflite"
    path.write_bytes(b"not checked here")
    return path


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "genrecast.toml"
    path.write_text(text)
    return path


def _load(path: Path, overrides: dict | None = None):  # type: ignore[no-untyped-def]
    return load_settings(path, overrides, default_model=lambda: Path("default.tflite"))


def test_example_file_loads() -> None:
    s = _load(EXAMPLE)
    assert [src.name for src in s.sources] == ["living"]
    assert s.decisions.hop_s == 0.5 and s.publish.ipc_mode == 0o660
    assert s.config_path == EXAMPLE
    assert s.model_path == Path("default.tflite")


def test_full_file(tmp_path: Path, model: Path) -> None:
    (tmp_path / "song.ogg").write_bytes(b"")
    keys = tmp_path / "keys"
    (keys / "authorized").mkdir(parents=True)
    (keys / "server.key_secret").write_text("x")
    path = _write(tmp_path, f"""
[model]
path = "m.tflite"
threads = 2
[[sources]]
name = "radio"
kind = "url"
target = "http://127.0.0.1:8000/stream"
[[sources]]
kind = "file"
target = "song.ogg"
loop = true
[[sources]]
name = "pipe"
kind = "stdin"
pcm_format = "f32le"
rate_hz = 44100
channels = 2
[decisions]
hop_s = 1
smooth_windows = 3
threshold = 0.5
min_windows = 2
silence_db = -50
[decisions.thresholds]
rock = 0.8
[publish]
endpoint = "tcp://0.0.0.0:5555"
heartbeat_s = 2
high_water_mark = 100
[control]
endpoint = "tcp://127.0.0.1:5556"
[metrics]
port = 9464
[security]
ipc_mode = "0640"
ipc_group = "{__import__('grp').getgrgid(os.getgid()).gr_name}"
curve_secret_key = "keys/server.key_secret"
curve_authorized_dir = "keys/authorized"
""")
    s = _load(path)
    assert s.model_path == model and s.num_threads == 2
    assert [(x.name, x.kind) for x in s.sources] == [
        ("radio", "url"), ("file1", "file"), ("pipe", "stdin")]
    assert s.sources[1].target == str(tmp_path / "song.ogg") and s.sources[1].loop
    assert (s.sources[2].pcm_format, s.sources[2].rate_hz, s.sources[2].channels) == (
        "f32le", 44100, 2)
    d = s.decisions
    assert (d.hop_s, d.smooth_windows, d.threshold, d.min_windows, d.silence_db) == (
        1.0, 3, 0.5, 2, -50.0)
    assert d.threshold_for("rock") == 0.8 and d.threshold_for("jazz") == 0.5
    assert isinstance(d.hop_s, float)
    p = s.publish
    assert (p.endpoint, p.heartbeat_s, p.high_water_mark, p.ipc_mode) == (
        "tcp://0.0.0.0:5555", 2.0, 100, 0o640)
    assert p.curve_secret_key == str(keys / "server.key_secret")
    assert s.control.endpoint == "tcp://127.0.0.1:5556"
    assert (s.metrics.port, s.metrics.host) == (9464, "127.0.0.1")


def test_cli_overrides_file(tmp_path: Path, model: Path) -> None:
    path = _write(tmp_path, '[[sources]]\nkind = "mic"\n[decisions]\nhop_s = 0.5\nthreshold = 0.7\n')
    s = _load(path, {"decisions.hop_s": 0.25, "decisions.threshold": None,
                     "sources": ["a=stdin", "b=mic:2"], "model.path": str(model),
                     "metrics.port": 9000})
    assert s.decisions.hop_s == 0.25 and s.decisions.threshold == 0.7
    assert [(x.name, x.kind, x.target) for x in s.sources] == [("a", "stdin", ""),
                                                              ("b", "mic", "2")]
    assert s.model_path == model and s.metrics.port == 9000


def test_no_file_only_flags(model: Path) -> None:
    s = load_settings(None, {"sources": ["mic"], "model.path": str(model)})
    assert s.sources[0].kind == "mic" and s.config_path is None


# (TOML text, overrides, words the one-line message must contain)
CASES = [
    ("[model\n", None, ["not valid TOML", "line 1"]),
    ("[[sources]]\nkind='mic'\n[decisions]\nhopp_s = 1\n", None,
     ["decisions.hopp_s", "unknown key", "did you mean decisions.hop_s"]),
    ("[[sources]]\nkind='mic'\n[decision]\n", None, ["decision", "unknown key", "decisions"]),
    ("[[sources]]\nkind='mic'\nfoo=1\n", None, ["sources[0].foo", "unknown key"]),
    ("", None, ["sources", "no audio source", "[[sources]]"]),
    ("sources = 3\n", None, ["sources", "array"]),
    ("[[sources]]\ntarget='x'\n", None, ["sources[0]", "missing kind"]),
    ("[[sources]]\nkind='tape'\n", None, ["sources[0].kind", "one of mic, file, url, stdin"]),
    ("[[sources]]\nkind='url'\n", None, ["sources[0]", "url needs a target"]),
    ("[[sources]]\nkind='mic'\nid='a b'\n", None, ["sources[0]", "letters, digits"]),
    ("[[sources]]\nkind='mic'\nname='a'\n[[sources]]\nkind='stdin'\nname='a'\n", None,
     ["sources", "duplicate source name 'a'"]),
    ("[[sources]]\nkind='stdin'\npcm_format='u8'\n", None, ["sources[0].pcm_format", "s16le"]),
    ("[[sources]]\nkind='stdin'\nrate_hz=0\n", None, ["sources[0].rate_hz", "integer >= 1000"]),
    ("[[sources]]\nkind='file'\ntarget='a'\nloop='yes'\n", None, ["loop", "true or false"]),
    ("[[sources]]\nkind='mic'\n[decisions]\nhop_s = 'fast'\n", None,
     ["decisions.hop_s", "number > 0", "'fast'", "e.g. hop_s = 0.5"]),
    ("[[sources]]\nkind='mic'\n[decisions]\nhop_s = 0\n", None, ["decisions.hop_s", "> 0"]),
    ("[[sources]]\nkind='mic'\n[decisions]\nthreshold = 1.5\n", None,
     ["decisions.threshold", "<= 1"]),
    ("[[sources]]\nkind='mic'\n[decisions]\nsmooth_windows = 2.5\n", None,
     ["decisions.smooth_windows", "integer"]),
    ("[[sources]]\nkind='mic'\n[decisions]\nmin_windows = true\n", None,
     ["decisions.min_windows", "integer"]),
    ("[[sources]]\nkind='mic'\n[decisions]\nsilence_db = 3\n", None, ["silence_db", "<= 0"]),
    ("[[sources]]\nkind='mic'\n[decisions.thresholds]\nrock = 2\n", None,
     ["decisions.thresholds.rock", "<= 1"]),
    ("[[sources]]\nkind='mic'\n[decisions]\nthresholds = 3\n", None,
     ["decisions.thresholds", "table"]),
    ("decisions = 3\n[[sources]]\nkind='mic'\n", None, ["decisions", "must be a table"]),
    ("[[sources]]\nkind='mic'\n[model]\npath = 'missing.tflite'\n", None,
     ["model.path", "missing.tflite does not exist"]),
    ("[[sources]]\nkind='mic'\n[model]\nthreads = 0\n", None, ["model.threads", ">= 1"]),
    ("[[sources]]\nkind='mic'\n[publish]\nendpoint = 'udp://x:1'\n", None,
     ["publish.endpoint", "unsupported endpoint", "tcp://HOST:PORT"]),
    ("[[sources]]\nkind='mic'\n[publish]\nendpoint = 'ipc://rel.sock'\n", None,
     ["publish.endpoint", "absolute path"]),
    ("[[sources]]\nkind='mic'\n[publish]\nendpoint = 'tcp://127.0.0.1'\n", None,
     ["publish.endpoint", "HOST:PORT"]),
    ("[[sources]]\nkind='mic'\n[publish]\nheartbeat_s = -1\n", None, ["publish.heartbeat_s"]),
    ("[[sources]]\nkind='mic'\n[publish]\nhigh_water_mark = -1\n", None,
     ["publish.high_water_mark"]),
    ("[[sources]]\nkind='mic'\n[control]\nendpoint = 'tcp://0.0.0.0:5556'\n", None,
     ["control.endpoint", "not a loopback address"]),
    ("[[sources]]\nkind='mic'\n[metrics]\nport = 70000\n", None, ["metrics.port", "<= 65535"]),
    ("[[sources]]\nkind='mic'\n[engine]\nworkers = 'many'\n", None,
     ["engine.workers", '"auto"']),
    ("[[sources]]\nkind='mic'\n[metrics]\nhost = 'my host'\n", None,
     ["metrics.host", "not an IP address"]),
    ("[[sources]]\nkind='mic'\n[security]\nipc_mode = '0999'\n", None,
     ["security.ipc_mode", "file mode"]),
    ("[[sources]]\nkind='mic'\n[security]\nipc_group = 'no-such-group-xyz'\n", None,
     ["security.ipc_group", "no group named"]),
    ("[[sources]]\nkind='mic'\n[security]\ncurve_secret_key = 'k'\n", None,
     ["security.curve_authorized_dir", "both"]),
    ("[[sources]]\nkind='mic'\n[security]\ncurve_secret_key = 'k'\ncurve_authorized_dir = 'a'\n",
     None, ["security.curve_secret_key", "does not exist", "genrecast keys"]),
    # Errors in values from the command line name the command line, not the file.
    ("[[sources]]\nkind='mic'\n", {"decisions.hop_s": -1.0},
     ["command line: decisions.hop_s", "> 0"]),
    ("[[sources]]\nkind='mic'\n", {"decisions.nope": 1}, ["command line: decisions.nope"]),
    ("[[sources]]\nkind='mic'\n", {"sources": ["tape:x"]}, ["command line: sources[0]", "tape"]),
]


@pytest.mark.parametrize(("text", "overrides", "words"), CASES)
def test_configuration_errors(tmp_path: Path, text: str, overrides: dict | None,
                              words: list[str]) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        _load(path, overrides)
    message = str(info.value)
    assert info.value.exit_code == EXIT_CONFIG
    assert "\n" not in message
    if not (overrides and message.startswith("command line")):
        assert message.startswith(f"{path}: "), message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert "; " in message, f"no fix in {message!r}"


def test_missing_and_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found; create it"):
        _load(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        _load(tmp_path)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"# caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        _load(bad)
    if os.getuid() != 0:  # root reads anything
        locked = _write(tmp_path, "")
        locked.chmod(0)
        with pytest.raises(ConfigError, match="cannot read"):
            _load(locked)


def test_per_source_flags_apply_to_file_sources(tmp_path: Path) -> None:
    path = _write(tmp_path, "[[sources]]\nkind = 'stdin'\n[[sources]]\nkind = 'file'\n"
                  "target = 'a.ogg'\n")
    s = _load(path, {"sources.rate_hz": 16000, "sources.realtime": False, "sources.loop": None})
    assert [(x.rate_hz, x.realtime, x.loop) for x in s.sources] == [(16000, False, False)] * 2
    with pytest.raises(ConfigError, match="command line: sources.rate_hz: must be an integer"):
        _load(path, {"sources.rate_hz": "fast"})
    with pytest.raises(ConfigError, match="command line: sources.colour: unknown key"):
        _load(path, {"sources.colour": 1})


def _sources_toml(n: int, kind: str = "url") -> str:
    return "".join(f"[[sources]]\nname = 's{i}'\nkind = '{kind}'\ntarget = 'http://h/{i}'\n"
                   for i in range(n))


@pytest.mark.parametrize(("engine", "sources", "cores", "expected"), [
    ("", 1, 2, 1),           # auto: a few sources stay in one process
    ("", 200, 2, 1),
    ("", 201, 2, 2),         # a worker per 200 sources ...
    ("", 1000, 2, 2),        # ... up to one per core
    ("", 1000, 16, 5),
    ("workers = 'auto'", 450, 16, 3),
    ("workers = 3", 2, 16, 2),  # never more workers than sources
    ("workers = 1", 1000, 16, 1),
    ("workers = 4", 10, 2, 4),
])
def test_workers_auto_and_explicit(tmp_path: Path, engine: str, sources: int, cores: int,
                                   expected: int) -> None:
    settings = _load(_write(tmp_path, f"[engine]\n{engine}\n" + _sources_toml(sources)))
    assert resolved_workers(settings, cores) == expected


def test_workers_zero_means_one_per_core_and_auto_keeps_stdin_in_one_process(
        tmp_path: Path) -> None:
    settings = _load(_write(tmp_path, "[engine]\nworkers = 0\n" + _sources_toml(4)))
    assert settings.workers == (os.cpu_count() or 1)
    stdin = "[[sources]]\nname = 'in'\nkind = 'stdin'\n"
    settings = _load(_write(tmp_path, _sources_toml(600) + stdin))
    assert resolved_workers(settings, 8) == 1


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_a_device_or_fifo_as_a_file_is_one_line(tmp_path: Path, model: Path,
                                               special: str) -> None:
    """/dev/zero as the configuration read forever; a FIFO nobody writes to hung; as a token or
    password file the same. Now one line, at once."""
    path = Path(special)
    if special == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)
    with pytest.raises(ConfigError, match="not a regular file"):
        _load(path)
    for table, key in (("web", 'listen = "127.0.0.1:0"\ntoken_file'),
                       ("mqtt", 'url = "mqtt://127.0.0.1"\nusername = "u"\npassword_file')):
        config = _write(tmp_path, f'[model]\npath = "{model}"\n[[sources]]\nkind = "mic"\n'
                                  f'[{table}]\n{key} = "{path}"\n')
        with pytest.raises(ConfigError, match="not a regular file"):
            _load(config)


def test_deep_nesting_and_a_byte_order_mark(tmp_path: Path, model: Path) -> None:
    deep = _write(tmp_path, "a = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):  # was a RecursionError
        _load(deep)
    bom = tmp_path / "bom.toml"  # what Windows editors save: it was "Invalid statement"
    bom.write_bytes(f'\ufeff[model]\npath = "{model}"\n[[sources]]\nkind = "mic"\n'.encode())
    assert _load(bom).model_path == model
