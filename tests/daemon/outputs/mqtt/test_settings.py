"""The [mqtt] table and --mqtt: values, the password file, and one line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
from genrecast.daemon.errors import EXIT_CONFIG, ConfigError
from genrecast.daemon.service.config_file import load_settings

from tests.support.common import REPO


def _load(tmp_path: Path, table: str, overrides: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    path = tmp_path / "genrecast.toml"
    path.write_text(f'[[sources]]\nkind = "mic"\n{table}')
    return load_settings(path, overrides, default_model=lambda: Path("default.tflite"))


def test_off_by_default_and_in_the_example_file(tmp_path: Path) -> None:
    assert not _load(tmp_path, "").mqtt.enabled
    example = load_settings(REPO / "systemd" / "genrecast.toml",
                            default_model=lambda: Path("default.tflite"))
    assert not example.mqtt.enabled


def test_password_file_relative_to_the_file_and_flag_override(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    s = _load(tmp_path, '[mqtt]\nurl = "mqtts://broker.lan"\nusername = "g"\n'
              'password_file = "pw"\ntopic_prefix = "home/genre"\n')
    m = s.mqtt
    assert (m.host, m.port, m.tls, m.password, m.topic_prefix) == \
        ("broker.lan", 8883, True, "s3cret", "home/genre")
    assert "s3cret" not in repr(s)
    flag = _load(tmp_path, "", {"mqtt.url": "mqtt://127.0.0.1:1884"}).mqtt
    assert (flag.host, flag.port, flag.tls, flag.username) == ("127.0.0.1", 1884, False, "")


@pytest.mark.parametrize(("table", "words"), [
    ('url = "http://broker"', "mqtt.url: unsupported broker URL"),
    ('url = "mqtt://u:p@broker"', "password_file"),
    ('url = "mqtt://broker:99999"', "port 1-65535"),
    ('username = "g"', "the [mqtt] table has no url"),
    ('url = "mqtt://b"\npassword = "x"', "mqtt.username: a password without a username"),
    ('url = "mqtt://b"\nusername = "g"\npassword = "x"\npassword_file = "pw"',
     "both password and password_file"),
    ('url = "mqtt://b"\nusername = "g"\npassword_file = "missing"', "mqtt.password_file: cannot read"),
    ('url = "mqtt://b"\ntopic_prefix = "genre/#"', "mqtt.topic_prefix"),
    ('url = "mqtt://b"\npasword = "x"', "did you mean mqtt.password?"),
    ('url = "mqtt://b"\npredictions = "yes"', "mqtt.predictions: must be true or false"),
])
def test_mistakes_are_one_line(tmp_path: Path, table: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, f"[mqtt]\n{table}\n")
    message = str(info.value)
    assert words in message and "\n" not in message and "; " in message, message
    assert info.value.exit_code == EXIT_CONFIG


def test_run_flag_with_a_login_exits_78_in_one_line(tmp_path: Path) -> None:
    import subprocess

    from tests.support.common import genrecast_cmd

    done = subprocess.run(genrecast_cmd("run", "--source", "mic", "--mqtt",
                                        "mqtt://genrecast:s3cret@127.0.0.1:1883"),
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == EXIT_CONFIG, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "mqtt.url" in lines[0] and "password_file" in lines[0], lines
