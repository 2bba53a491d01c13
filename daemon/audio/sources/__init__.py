"""Audio sources: mic (PortAudio), file, url (ffmpeg), stdin (raw PCM)."""

from __future__ import annotations

from genrecast.daemon.audio.sources.base import Source
from genrecast.daemon.settings import SourceSettings


def make_source(settings: SourceSettings, model_rate_hz: int = 400) -> Source:
    """The Source for ``settings.kind``; nothing is opened yet. ``model_rate_hz``: the model's
    rate, so a stream is decoded with the bandwidth the model hears."""
    if settings.kind == "mic":
        from genrecast.daemon.audio.sources.mic import MicSource

        return MicSource(settings)
    if settings.kind == "file":
        from genrecast.daemon.audio.sources.file import FileSource

        return FileSource(settings)
    if settings.kind == "url":
        from genrecast.daemon.audio.sources.url import UrlSource

        return UrlSource(settings, model_rate_hz)
    from genrecast.daemon.audio.sources.pcm import StdinSource

    return StdinSource(settings)


__all__ = ["Source", "make_source"]
