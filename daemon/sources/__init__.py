"""Audio sources: mic (PortAudio), file, url (ffmpeg), stdin (raw PCM)."""

from __future__ import annotations

import threading

from ..settings import SourceSettings
from .base import Source


def make_source(settings: SourceSettings, wake: threading.Event) -> Source:
    """The Source for ``settings.kind``; nothing is opened yet."""
    if settings.kind == "mic":
        from .mic import MicSource

        return MicSource(settings, wake)
    if settings.kind == "file":
        from .file import FileSource

        return FileSource(settings, wake)
    if settings.kind == "url":
        from .url import UrlSource

        return UrlSource(settings, wake)
    from .pcm import StdinSource

    return StdinSource(settings, wake)


__all__ = ["Source", "make_source"]
