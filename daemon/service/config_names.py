"""A source's display name (``name = "Living room"``) and its id (``id``, else derived).

The id goes into topics, Home Assistant unique ids, metrics and file paths, so it keeps its one
rule (``settings.parse_source_spec`` checks it). The display name is only shown: Home Assistant's
device name. A ``name`` that is a valid id is both, as before; any other ``name`` is a display
name, and the id is ``id`` when given, else the name made into an id ("Living room" →
"living_room"). Set ``id`` to rename a source without Home Assistant seeing a new device.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from genrecast.daemon.service.config_report import Reporter

DISPLAY_NAME_MAX_CHARS = 64
_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # the source id rule (settings.parse_source_spec)
_NOT_ID_RE = re.compile(r"[^a-z0-9]+")


def id_from_display_name(text: str) -> str:
    """``"Living room"`` → ``"living_room"``, ``"Küche"`` → ``"kuche"`` (empty when nothing is
    left, e.g. only non-Latin letters)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_ID_RE.sub("_", ascii_text.lower()).strip("_")[:64]


def source_id_and_display_name(rep: Reporter, key: str, table: dict[str, Any]) -> tuple[str, str]:
    """(id, display name) of one ``[[sources]]`` table; an empty id lets the caller number it."""
    name = table.get("name", "")
    source_id = table.get("id", "")
    if not name:
        return source_id, ""
    if not source_id and _ID_RE.fullmatch(name):
        return name, ""  # the old way: the name is the id
    shown = name.strip()
    if not shown or len(shown) > DISPLAY_NAME_MAX_CHARS or any(
            unicodedata.category(c).startswith("C") for c in shown):
        raise rep.fail(f"{key}.name", f"{name!r} is not a usable display name",
                       f"use 1-{DISPLAY_NAME_MAX_CHARS} printable characters, e.g. "
                       'name = "Living room"')
    if not source_id:
        source_id = id_from_display_name(shown)
        if not source_id:
            raise rep.fail(f"{key}.id", f"no id can be made from the name {name!r}",
                           'add id = "living" (letters, digits, "-" or "_")')
    return source_id, shown
