"""The configuration of the ``[engine] workers = 2`` tests: four looping file sources (worker 0
gets a and c, worker 1 b and d), a hop of 0.5 s, ipc endpoints in the test's folder."""

from __future__ import annotations

from pathlib import Path

from tests.support.common import TONE_MODEL

SOURCES = ("a", "b", "c", "d")


def workers_config(tmp: Path, wav: Path, extra: str = "") -> Path:
    sources = "".join(f'[[sources]]\nname = "{n}"\nkind = "file"\ntarget = "{wav}"\n'
                      "loop = true\n" for n in SOURCES)
    config = tmp / "genrecast.toml"
    config.write_text(f"""
[model]
path = "{TONE_MODEL}"
[engine]
workers = 2
{sources}
[decisions]
hop_s = 0.5
[publish]
endpoint = "ipc://{tmp}/events.sock"
heartbeat_s = 0.5
[control]
endpoint = "ipc://{tmp}/control.sock"
{extra}
""")
    return config
