"""``name = "Living room"``: a display name, with an id made from it (or given as ``id``) that
stays what topics and Home Assistant's unique ids use."""

from __future__ import annotations

from pathlib import Path

import pytest
from genrecast.daemon.errors import EXIT_CONFIG, ConfigError
from genrecast.daemon.service.config_file import load_settings


def _sources(tmp_path: Path, *tables: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "genrecast.toml"
    path.write_text("".join(f'[[sources]]\nkind = "mic"\n{t}\n' for t in tables))
    return load_settings(path, default_model=lambda: Path("default.tflite")).sources


def test_display_names_and_ids(tmp_path: Path) -> None:
    living, kitchen, plain, numbered = _sources(
        tmp_path, 'name = "Living room"', 'name = "Küche"\nid = "kitchen"', 'name = "radio"', "")
    assert (living.name, living.display_name, living.shown_name) == \
        ("living_room", "Living room", "Living room")
    assert (kitchen.name, kitchen.display_name) == ("kitchen", "Küche")
    assert (plain.name, plain.display_name, plain.shown_name) == ("radio", "", "radio")
    assert numbered.name == "mic3" and numbered.display_name == ""
    # Renamed with its id kept: the same id, so Home Assistant keeps its entities.
    (renamed,) = _sources(tmp_path, 'name = "Lounge"\nid = "living_room"')
    assert (renamed.name, renamed.display_name) == ("living_room", "Lounge")


@pytest.mark.parametrize(("table", "words"), [
    ('name = "Living\\nroom"', "sources[0].name: 'Living\\nroom' is not a usable display name"),
    (f'name = "{"x " * 40}"', "is not a usable display name"),
    ('name = "日本"', "sources[0].id: no id can be made from the name"),
    ('name = "Living room"\nid = "living room"', "must be 1-64 letters"),
])
def test_bad_display_names_are_one_line(tmp_path: Path, table: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        _sources(tmp_path, table)
    assert words in str(info.value) and "\n" not in str(info.value), str(info.value)
    assert info.value.exit_code == EXIT_CONFIG
