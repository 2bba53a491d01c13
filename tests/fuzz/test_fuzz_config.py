"""The TOML configuration from anywhere: any bytes give Settings or one ConfigError line.

Two generators: byte mutations of real configuration files (numpy RNG, cheap: the bulk of the
cases), and structure-aware hypothesis documents (every schema key with values of every type).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from genrecast.daemon.errors import ConfigError
from genrecast.daemon.service.config_file import load_settings
from genrecast.daemon.service.config_schema import SCHEMA, SOURCE_SCHEMA
from genrecast.daemon.settings import Settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.common import REPO

from .conftest import budget
from .mutate import mutate

MODEL = REPO / "tests" / "support" / "data" / "tone.tflite"
SEEDS = [
    (REPO / "systemd" / "genrecast.toml").read_bytes(),
    f"""[model]
path = "{MODEL}"
threads = 2
[[sources]]
name = "living"
kind = "mic"
[[sources]]
name = "radio"
kind = "url"
target = "http://127.0.0.1:8000/stream"
[[sources]]
name = "pipe"
kind = "stdin"
pcm_format = "f32le"
rate_hz = 48000
channels = 2
[decisions]
hop_s = 0.25
threshold = 0.5
[decisions.thresholds]
rock = 0.7
[publish]
endpoint = "tcp://127.0.0.1:5556"
heartbeat_s = 1.0
[control]
endpoint = "tcp://127.0.0.1:5557"
[metrics]
port = 9100
""".encode(),
]


def _check(path: Path) -> None:
    """The contract: Settings, or ConfigError with one line naming the file."""
    try:
        result = load_settings(path, default_model=lambda: MODEL)
    except ConfigError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg and "Traceback" not in msg, repr(msg)
        return
    assert isinstance(result, Settings)


def test_mutated_config_files(tmp_path: Path, fuzz_count) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    path = tmp_path / "genrecast.toml"
    for i in range(budget(3000)):
        path.write_bytes(mutate(SEEDS[i % len(SEEDS)], rng, rounds=4))
        _check(path)
        fuzz_count()


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}"
                             for c in value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(value)


values = (st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
          | st.floats() | st.text(max_size=40)
          | st.sampled_from(["", "mic", "file", "url", "stdin", "s16le", "f32le", "ipc://x",
                             "tcp://127.0.0.1:1", "tcp://0.0.0.0:1", "off", str(MODEL), "0o777"])
          | st.lists(st.integers(0, 9) | st.text(max_size=4), max_size=3))
section_keys = {s: sorted(keys) + ["bogus"] for s, keys in SCHEMA.items()}


@st.composite
def documents(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for section in draw(st.lists(st.sampled_from(sorted(SCHEMA)), unique=True, max_size=4)):
        lines.append(f"[{section}]")
        for key in draw(st.lists(st.sampled_from(section_keys[section]), unique=True, max_size=4)):
            lines.append(f"{key} = {_toml_value(draw(values))}")
    for _ in range(draw(st.integers(0, 3))):
        lines.append("[[sources]]")
        keys = draw(st.lists(st.sampled_from(sorted(SOURCE_SCHEMA) + ["bogus"]), unique=True,
                             max_size=5))
        for key in keys:
            lines.append(f"{key} = {_toml_value(draw(values))}")
    return "\n".join(lines) + "\n"


@settings(max_examples=budget(300), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(doc=documents())
def test_any_keys_and_values(tmp_path: Path, doc: str, fuzz_count) -> None:  # type: ignore[no-untyped-def]
    fuzz_count()
    path = tmp_path / "genrecast.toml"
    path.write_text(doc)
    _check(path)
