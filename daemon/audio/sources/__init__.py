"""Audio sources: mic (PortAudio), file, url (ffmpeg), stdin (raw PCM)."""

from __future__ import annotations

import threading

from genrecast.daemon.audio.sources.base import Source
from genrecast.daemon.settings import SourceSettings


def make_source(settings: SourceSettings, wake: threading.Event) -> Source:
    """The Source for ``settings.kind``; nothing is opened yet."""
    if settings.kind == "mic":
        from genrecast.daemon.audio.sources.mic import MicSource

        return MicSource(settings, wake)
    if settings.kind == "file":
        from genrecast.daemon.audio.sources.file import FileSource

        return FileSource(settings, wake)
    if settings.kind == "url":
        from genrecast.daemon.audio.sources.url import UrlSource

        return UrlSource(settings, wake)
    from genrecast.daemon.audio.sources.pcm import StdinSource

    return StdinSource(settings, wake)


__all__ = ["Source", "make_source"]
