"""One validation path: flags and the TOML file go through the same schema, so a bound is stated
once and holds from either place; rules about sources hold for flags and file alike."""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path

import pytest
from genrecast.daemon.errors import EXIT_CONFIG, ConfigError
from genrecast.daemon.service.config_file import (
    DEFAULT_SOURCE_SPEC,
    decision_settings,
    load_settings,
)
from genrecast.daemon.service.config_schema import SCHEMA

from tests.support.common import TONE_MODEL, genrecast_cmd


def _load(text: str | None, tmp_path: Path, overrides: dict | None = None):  # type: ignore[no-untyped-def]
    path = None
    if text is not None:
        path = tmp_path / "genrecast.toml"
        path.write_text(text)
    return load_settings(path, overrides, default_model=lambda: TONE_MODEL)


@pytest.mark.parametrize("key, bad, good", [
    ("threshold", 0.0, 0.6), ("threshold", 1.5, 1.0), ("hop_s", 0.0, 0.5), ("hop_s", 61.0, 60.0),
    ("smooth_windows", 0, 1), ("min_windows", 0, 3), ("silence_db", 3.0, -60.0),
    ("threshold", math.nan, 0.6), ("hop_s", math.nan, 0.5), ("hop_s", math.inf, 0.5),
    ("silence_db", math.nan, -60.0), ("silence_db", -math.inf, -60.0),
])
def test_decision_bounds_hold_for_flags_file_and_classify(tmp_path: Path, key: str, bad: float,
                                                          good: float) -> None:
    check, _ = SCHEMA["decisions"][key]
    assert check(bad) is not None and check(good) is None  # the schema states the bound
    toml = "[[sources]]\nkind = 'mic'\n[decisions]\n" + f"{key} = {bad!r}\n"
    with pytest.raises(ConfigError, match=f"decisions.{key}"):
        _load(toml, tmp_path)
    with pytest.raises(ConfigError, match=f"command line: decisions.{key}"):
        _load(None, tmp_path, {f"decisions.{key}": bad})
    with pytest.raises(ConfigError, match=f"command line: decisions.{key}"):
        decision_settings({f"decisions.{key}": bad})
    assert getattr(decision_settings({f"decisions.{key}": good}), key) == good


def test_per_label_thresholds_checked_once() -> None:
    with pytest.raises(ConfigError, match="decisions.thresholds.rock"):
        decision_settings({"decisions.thresholds": {"rock": 0.0}})
    with pytest.raises(ConfigError, match="decisions.thresholds.rock: must be a finite"):
        decision_settings({"decisions.thresholds": {"rock": math.nan}})
    assert decision_settings({"decisions.thresholds": {"rock": 0.7}}).label_thresholds == {
        "rock": 0.7}


def test_two_stdin_sources_refused_from_the_file(tmp_path: Path) -> None:
    toml = "[[sources]]\nname='a'\nkind='stdin'\n[[sources]]\nname='b'\nkind='stdin'\n"
    with pytest.raises(ConfigError, match="more than one source reads stdin"):
        _load(toml, tmp_path)


def test_two_stdin_sources_refused_from_flags(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="command line: sources: more than one source reads"):
        _load(None, tmp_path, {"sources": ["a=stdin", "b=stdin"]})


def test_no_file_and_no_flag_means_the_default_input_device(tmp_path: Path) -> None:
    settings = _load(None, tmp_path)
    assert [s.spec for s in settings.sources] == [DEFAULT_SOURCE_SPEC] == ["mic"]


def test_a_file_without_sources_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no audio source configured"):
        _load("[decisions]\nhop_s = 0.5\n", tmp_path)


@pytest.mark.slow
def test_run_without_an_input_device_names_the_fix(tmp_path: Path) -> None:
    """No PortAudio device here (no sound card, no sound server in this environment): the
    message says there is no default input device and how to go on."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path),
           "PULSE_SERVER": "unix:/nonexistent"}
    proc = subprocess.run(genrecast_cmd("run", "--model", str(TONE_MODEL)), env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert "no default input device" in line, line
    assert "genrecast devices" in line and "--source file:" in line and "url:" in line


def test_cli_rejects_a_zero_threshold_with_the_config_exit_code(tmp_path: Path) -> None:
    proc = subprocess.run(genrecast_cmd("run", "--threshold", "0", "--source", "file:x.wav",
                                        "--model", str(TONE_MODEL)),
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == EXIT_CONFIG, proc.stderr
    assert proc.stderr.startswith("error: command line: decisions.threshold: must be"), proc.stderr


@pytest.mark.parametrize("name", ["room\n", "room\r", "a b", "a/b", "a+", "a#", "a.b", "ä",
                                  "x" * 65])
def test_one_name_rule_for_the_file_and_flags(tmp_path: Path, name: str) -> None:
    """A source id becomes part of ZeroMQ and MQTT topics, Home Assistant ids and file names:
    one rule, checked once. ("room\\n" once passed and made mosquitto drop the daemon.) In the
    file, a ``name`` that is no id is a display name: shown stripped (no control character, at
    most 64 characters), with an id made from it that follows the rule."""
    with pytest.raises(ConfigError, match="source name"):
        _load(None, tmp_path, {"sources": [f"{name}=mic"]})
    toml = f"[[sources]]\nname = {json.dumps(name)}\nkind = 'mic'\n"
    if len(name) > 64:
        with pytest.raises(ConfigError, match="name"):
            _load(toml, tmp_path)
        return
    source = _load(toml, tmp_path).sources[0]
    assert source.display_name in (name.strip(), "")  # "" when the stripped name is the id
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", source.name), source.name


@pytest.mark.parametrize("prefix", ["genrecast\n", "home/genrecast\n", "a b", "a/+", "a//b"])
def test_mqtt_topic_prefixes_follow_the_name_rule(tmp_path: Path, prefix: str) -> None:
    toml = ("[[sources]]\nkind = 'mic'\n[mqtt]\nurl = 'mqtt://127.0.0.1:1883'\n"
            f"topic_prefix = {json.dumps(prefix)}\n")
    with pytest.raises(ConfigError, match="mqtt.topic_prefix"):
        _load(toml, tmp_path)
    good = toml.replace(json.dumps(prefix), '"home/genrecast-1"')
    assert _load(good, tmp_path).mqtt.topic_prefix == "home/genrecast-1"


@pytest.mark.parametrize("flag", ["--hop", "--threshold", "--silence-db", "--heartbeat"])
def test_cli_rejects_nan_with_the_config_exit_code(tmp_path: Path, flag: str) -> None:
    """NaN passed every range check: --hop nan was a traceback, the rest ran silently broken."""
    proc = subprocess.run(genrecast_cmd("run", flag, "nan", "--source", "file:x.wav",
                                        "--model", str(TONE_MODEL)),
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == EXIT_CONFIG, proc.stderr
    assert proc.stderr.startswith("error: command line: ") and "must be a finite number" in \
        proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_heartbeat_nan_in_the_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="publish.heartbeat_s: must be a finite"):
        _load("[[sources]]\nkind = 'mic'\n[publish]\nheartbeat_s = nan\n", tmp_path)


@pytest.mark.parametrize("command", ["run", "classify"])
def test_a_threshold_for_a_label_the_model_lacks_is_refused(tmp_path: Path, command: str,
                                                            low_high_wav: Path) -> None:
    """A typo (``rok=0.7``) silently left the label at the default threshold."""
    target = ["--source", f"file:{low_high_wav}"] if command == "run" else [str(low_high_wav)]
    proc = subprocess.run(genrecast_cmd(command, "--label-threshold", "lowe=0.7", *target,
                                        "--model", str(TONE_MODEL)),
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == EXIT_CONFIG, proc.stderr
    assert "'lowe' is not a label of model" in proc.stderr and "low, high" in proc.stderr
    assert "Traceback" not in proc.stderr
