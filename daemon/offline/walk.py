"""The files a ``genrecast classify PATH...`` run covers: files as named, folders by audio suffix."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from genrecast.daemon.errors import InputNotFound

log = logging.getLogger(__name__)

# What a folder walk picks up. A file named on the command line is classified whatever its name.
AUDIO_SUFFIXES = frozenset({
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".m4b", ".aac", ".mp4",
    ".aif", ".aiff", ".aifc", ".wma", ".mka", ".webm", ".caf", ".au", ".w64", ".wv", ".ape",
})


def _is_audio(path: Path) -> bool:
    # Dot files include macOS' "._song.mp3" resource forks: not audio despite the suffix.
    return path.suffix.lower() in AUDIO_SUFFIXES and not path.name.startswith(".")


def audio_files(paths: Iterable[Path], recursive: bool = False) -> list[Path]:
    """Expand folders into their audio files (sorted; subfolders with ``recursive``).

    Files are kept as named, even missing ones: the run reports each of those on its own line
    and goes on. A folder without audio files is logged; nothing to classify at all is an error.
    """
    out: list[Path] = []
    for path in paths:
        if not path.is_dir():
            out.append(path)
            continue
        candidates = path.rglob("*") if recursive else path.iterdir()
        found = sorted((p for p in candidates if p.is_file() and _is_audio(p)), key=str)
        if not found:
            hint = "" if recursive else " (use --recursive to look into its subfolders)"
            log.warning("%s holds no audio files%s", path, hint)
        out.extend(found)
    if not out:
        raise InputNotFound("no audio files to classify; name files or folders that hold "
                            f"audio ({', '.join(sorted(AUDIO_SUFFIXES)[:6])}, ...)")
    return out
