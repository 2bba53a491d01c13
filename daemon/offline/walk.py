"""The files a ``genrecast classify PATH...`` run covers: files as named, folders by audio suffix.

One rule for what cannot be read, named or found: a missing or unreadable file, or a folder that
cannot be listed (on the command line or met by ``--recursive``), is reported on its own line in
its own words (does not exist, permission denied) and skipped; the run goes on and exits at the
end with code 66. Files are checked when they are decoded; folders here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from genrecast.daemon.errors import InputNotFound, UserError

log = logging.getLogger(__name__)

# What a folder walk picks up. A file named on the command line is classified whatever its name.
AUDIO_SUFFIXES = frozenset({
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".m4b", ".aac", ".mp4",
    ".aif", ".aiff", ".aifc", ".wma", ".mka", ".webm", ".caf", ".au", ".w64", ".wv", ".ape",
})


def _is_audio(path: Path) -> bool:
    # Dot files include macOS' "._song.mp3" resource forks: not audio despite the suffix.
    return path.suffix.lower() in AUDIO_SUFFIXES and not path.name.startswith(".")


def unlistable(folder: str | os.PathLike[str], exc: OSError) -> InputNotFound:
    reason = ("permission denied; give the user running genrecast read access to it"
              if isinstance(exc, PermissionError) else f"{exc.strerror}; check it")
    return InputNotFound(f"cannot list folder {folder}: {reason}")


def _folder_files(folder: Path, recursive: bool, problems: list[UserError]) -> list[Path]:
    found: list[Path] = []
    if recursive:
        def on_error(exc: OSError) -> None:  # os.walk skips such a folder silently otherwise
            problems.append(unlistable(exc.filename or folder, exc))

        for root, dirs, names in os.walk(folder, onerror=on_error):
            dirs.sort()
            found.extend(p for p in (Path(root, n) for n in names if _is_audio(Path(n)))
                         if p.is_file())
    else:
        try:
            found = [p for p in folder.iterdir() if p.is_file() and _is_audio(p)]
        except OSError as exc:
            problems.append(unlistable(folder, exc))
    return sorted(found, key=str)


def audio_files(paths: Iterable[Path], recursive: bool = False,
                problems: list[UserError] | None = None) -> list[Path]:
    """Expand folders into their audio files (sorted; subfolders with ``recursive``).

    Files are kept as named, even missing ones: the run reports each of those on its own line
    and goes on; folders that cannot be listed go to ``problems`` (the run reports them the same
    way). A folder without audio files is logged; nothing to classify at all is an error.
    """
    problems = [] if problems is None else problems
    out: list[Path] = []
    for path in paths:
        if not path.is_dir():
            out.append(path)
            continue
        found = _folder_files(path, recursive, problems)
        if not found and not problems:
            hint = "" if recursive else " (use --recursive to look into its subfolders)"
            log.warning("%s holds no audio files%s", path, hint)
        out.extend(found)
    if not out:
        if problems:
            raise problems[0]
        raise InputNotFound("no audio files to classify; name files or folders that hold "
                            f"audio ({', '.join(sorted(AUDIO_SUFFIXES)[:6])}, ...)")
    return out
