"""One-line configuration errors: ``<origin>: <key>: <problem>; <fix>``, for the file and for flags.

The origin is the file, or "command line" for keys a flag set; a flag's fix names the flag.
"""

from __future__ import annotations

import difflib
import os
import stat
from pathlib import Path

from genrecast.daemon.errors import ConfigError

CLI_ORIGIN = "command line"
# The flag behind each key the command line can set, so a flag's error shows a flag's fix.
CLI_FLAGS = {
    "model.path": "--model", "model.threads": "--threads", "publish.endpoint": "--publish",
    "publish.heartbeat_s": "--heartbeat", "publish.high_water_mark": "--hwm",
    "publish.startup_grace_s": "--startup-grace", "decisions.hop_s": "--hop",
    "decisions.smooth_windows": "--smooth", "decisions.threshold": "--threshold",
    "decisions.min_windows": "--min-windows", "decisions.silence_db": "--silence-db",
    "sources.pcm_format": "--format", "sources.rate_hz": "--rate", "sources.channels": "--channels",
    "web.listen": "--web", "mqtt.url": "--mqtt",
}

class Reporter:
    """Formats one-line errors: ``<origin>: <key>: <problem>; <fix>``.

    The origin is the file, or "command line" for keys a flag overrode (``cli_keys``).
    """

    def __init__(self, origin: str, cli_keys: frozenset[str] = frozenset()) -> None:
        self.origin = origin
        self.cli_keys = cli_keys

    def fail(self, key: str, problem: str, fix: str) -> ConfigError:
        origin = CLI_ORIGIN if key in self.cli_keys or key.startswith("sources") and \
            "sources" in self.cli_keys else self.origin
        where = f"{origin}: {key}: " if key else f"{origin}: "
        return ConfigError(f"{where}{problem}; {fix}")

    def example(self, dotted: str, example: str) -> str:
        """``e.g. key = value`` for the file, ``e.g. --flag value`` for a flag."""
        flag = CLI_FLAGS.get(dotted)
        if self.origin == CLI_ORIGIN and flag is not None:
            return f"e.g. {flag} {example.strip(chr(34))}"
        return f"e.g. {dotted.rsplit('.', 1)[-1]} = {example}"

    def unknown(self, key: str, valid: list[str]) -> ConfigError:
        leaf = key.rsplit(".", 1)[-1]
        close = difflib.get_close_matches(leaf, valid, n=1)
        prefix = key.rsplit(".", 1)[0] + "." if "." in key else ""
        hint = (f"did you mean {prefix}{close[0]}?" if close
                else f"valid keys here: {', '.join(sorted(valid))}")
        return self.fail(key, "unknown key", f"remove it ({hint})")


def resolve_path(value: str, base: Path | None) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() or base is None else base / path


MAX_FILE_BYTES = 1 << 20
"""A configuration, password or token file is far smaller; /dev/zero is not."""


def read_small_text(path: Path) -> str:
    """The text of a small regular file, a UTF-8 byte-order mark dropped. A FIFO or a device
    (which could block or never end), a file over ``MAX_FILE_BYTES`` or one that is not UTF-8
    raises ``ValueError`` with the reason; ``OSError`` as from ``open``."""
    with open(path, "rb", opener=_open_nonblocking) as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise ValueError("not a regular file (a FIFO or a device)")
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason}); save it as UTF-8") from None


def _open_nonblocking(path: str, flags: int) -> int:
    # O_NONBLOCK: opening a FIFO nobody writes to returns at once (then refused above).
    return os.open(path, flags | os.O_NONBLOCK)
