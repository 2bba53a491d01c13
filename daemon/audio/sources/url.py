"""``url:URL``: an internet-radio stream, opened and decoded without blocking the daemon.

``open()`` returns at once: the connection, the HTTP exchange and the first audio happen in the
source's own thread, and the supervisor sees ``starting`` → ``running`` when frames arrive, or
``lost`` with the reason (then retries with jittered backoff). So a thousand stations start
together and one dead station holds nobody back.

Three paths, chosen by what the server answers:
- HTTP(S) MP3/AAC (almost every Icecast/SHOUTcast station): our own reader (``icy.py``: ICY
  metadata asked for and stripped, titles reported) and the shared in-process decoder threads
  (``stream_decode.py``, PyAV). About 1 MB per stream instead of an 11-MB ffmpeg process.
- other HTTP(S) content (Ogg, WAV, FLAC ...): the same reader, its audio piped into ffmpeg
  (titles still reported, since we strip the ICY blocks before ffmpeg sees them).
- HLS playlists, RTSP and other protocols: ffmpeg opens the URL itself (no ICY titles: ffmpeg's
  command line does not report them, and HLS carries none).
Every path writes mono PCM at ``URL_RATE_HZ`` (8 kHz), or at the model's rate when it is higher
(``ring_rate_for``): a 16-kHz model gets the stream's band up to 8 kHz, decoded at full rate.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Callable

import numpy as np
from genrecast.daemon.audio.ring import Ring
from genrecast.daemon.audio.sources.base import ThreadSource, TrackChange
from genrecast.daemon.audio.sources.icy import IcyMeta, IcyStream
from genrecast.daemon.audio.sources.pcm import PcmDecoder, pump
from genrecast.daemon.audio.sources.stream_decode import (
    BATCH_BYTES,
    OUT_RATE_HZ,
    StreamDecoder,
    codec_for,
    pool,
    ring_rate_for,
)
from genrecast.daemon.errors import InputNotFound, ServiceUnavailable
from genrecast.daemon.settings import SourceSettings
from genrecast.daemon.text import MAX_DETAIL_CHARS, safe_text

log = logging.getLogger(__name__)

URL_RATE_HZ = OUT_RATE_HZ
URL_CHANNELS = 1
URL_OPEN_TIMEOUT_S = 15.0  # how long wait_ready() waits for the first audio
STDERR_LINES = 20
MAX_UNREAD_CHANGES = 64  # title changes kept until the loop reads them
READ_BYTES = 16_384
HLS_TYPES = ("application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl",
             "audio/x-mpegurl")


def ffmpeg_command(ffmpeg: str, url: str, rate_hz: int = URL_RATE_HZ) -> list[str]:
    """The decoder's argument list (never a shell string); ``pipe:0`` reads standard input."""
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error"] if url != "pipe:0" else [
        ffmpeg, "-hide_banner", "-loglevel", "error"]
    if url.startswith(("http://", "https://")):
        cmd += ["-reconnect", "1", "-reconnect_streamed", "1", "-reconnect_delay_max", "5"]
    if url.startswith("rtsp://"):
        cmd += ["-rtsp_transport", "tcp"]
    cmd += ["-i", url, "-vn", "-f", "f32le", "-ac", str(URL_CHANNELS), "-ar", str(rate_hz),
            "pipe:1"]
    return cmd


class UrlSource(ThreadSource):
    has_titles = True
    first_audio_timeout_s = URL_OPEN_TIMEOUT_S

    def __init__(self, settings: SourceSettings, model_rate_hz: int = 400) -> None:
        super().__init__(settings)
        self.decode_rate_hz = ring_rate_for(model_rate_hz)
        """What the stream is decoded to (the ring's rate): 8 kHz, or the model's when higher."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._stream: IcyStream | None = None
        self._decoder: StreamDecoder | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._changes: collections.deque[TrackChange] = collections.deque(maxlen=MAX_UNREAD_CHANGES)
        self.changes_dropped = 0  # over MAX_UNREAD_CHANGES before the loop read them (a flood)
        self.title: str | None = None
        self.stream_url = ""
        self.path = ""  # "libmpg123", "libavcodec", "ffmpeg-pipe" or "ffmpeg" once connected
        self.malformed_meta_blocks = 0  # over every connection
        self._fresh = True  # no ring for this connection yet
        self._malformed_before = 0

    # -- what the engine reads ---------------------------------------------------------------

    def take_track_changes(self) -> list[TrackChange]:
        """Title changes since the last call (called by the main loop)."""
        out = []
        while self._changes:
            out.append(self._changes.popleft())
        return out

    def _on_meta(self, meta: IcyMeta) -> None:
        self.stream_url = meta.url or self.stream_url
        # A reconnect repeats the title; Icecast sends StreamTitle='' for a mount that was never
        # given one (treated as "no title", not as a track).
        if meta.title == self.title or not meta.title:
            return
        ring = self.ring
        change = TrackChange(meta.title, self.title, meta.url,
                             ring.written if ring is not None and not self._fresh else 0)
        self.title = meta.title
        if len(self._changes) == MAX_UNREAD_CHANGES:
            self.changes_dropped += 1  # the oldest unread one goes
        self._changes.append(change)
        self.wake.set()

    # -- lifecycle ---------------------------------------------------------------------------

    def _why(self) -> str:
        return self._stderr[-1] if self._stderr else "ffmpeg exited without output"

    def open(self) -> None:
        """Returns at once; the connection is made in the source's thread. The ring is made
        when the first audio arrives, so its wall clock (``start_wall_s``, the base of every
        window's ``start_utc``/``end_utc``) is when the stream really started, not when we
        began connecting."""
        self.close()
        self._stderr.clear()
        self.error, self.fatal, self.ended = None, False, False
        self._fresh = True
        self._start_thread()

    def _start_ring(self, lead_frames: int = 0) -> Ring:
        """A new ring for this connection; its wall clock starts ``lead_frames`` ago."""
        error = self.error  # _new_ring clears it: keep a failure that raced with the audio
        ring = self._new_ring(self.decode_rate_hz, URL_CHANNELS)
        self.start_wall_s -= lead_frames / self.decode_rate_hz
        self.error = error
        self._fresh = False
        return ring

    def _sink(self, frames: np.ndarray) -> None:
        """Decoded audio (a decoder thread) → the ring; the first block makes the ring."""
        ring = self._start_ring(frames.shape[0]) if self._fresh else self.ring
        assert ring is not None
        ring.write(frames)

    @property
    def _has_audio(self) -> bool:
        return not self._fresh and self.ring is not None and self.ring.written > 0

    def wait_ready(self, timeout_s: float = URL_OPEN_TIMEOUT_S) -> None:
        """Wait for the first audio or the first failure (a daemon with this one source fails
        at startup with the reason: exit code 66)."""
        url = self.settings.target
        deadline = time.monotonic() + timeout_s
        while not self._has_audio and self.error is None:
            if time.monotonic() >= deadline:
                raise InputNotFound(f"stream {url} sent no audio within {timeout_s:.0f} s; "
                                    "check the URL")
            time.sleep(0.02)
        if self.error is not None and not self._has_audio:
            if isinstance(self.error, ServiceUnavailable):
                raise self.error
            reason = safe_text(str(self.error), MAX_DETAIL_CHARS)
            raise InputNotFound(f"stream {url} cannot be opened ({reason}); "
                                "check the URL and that the server is reachable")

    def _run(self, stop: threading.Event) -> None:
        url = self.settings.target
        if not url.startswith(("http://", "https://")):
            self._run_ffmpeg(url, stop)
            return
        stream = self._stream = IcyStream(url, on_meta=self._on_meta)
        stream.connect()
        if stop.is_set():
            stream.close()
            return
        if stream.content_type in HLS_TYPES or url.split("?")[0].endswith(".m3u8"):
            stream.close()
            self._run_ffmpeg(url, stop)
            return
        try:
            codec = codec_for(stream.content_type)
            if codec is not None:
                self._run_in_process(stream, codec, stop)
            else:
                self._run_ffmpeg_pipe(stream, stop)
        finally:
            self._malformed_before += stream.malformed_blocks
            self.malformed_meta_blocks = self._malformed_before
            stream.close()
        if not stop.is_set() and self.error is None:
            self.fail(ConnectionError("the stream ended"))

    def _read_loop(self, stream: IcyStream, stop: threading.Event,
                   handle: Callable[[bytes], None]) -> None:
        pending = bytearray()
        while not stop.is_set() and self.error is None:
            data = stream.read(READ_BYTES)
            self.malformed_meta_blocks = self._malformed_before + stream.malformed_blocks
            if not data:
                break
            pending += data
            if len(pending) >= BATCH_BYTES:
                handle(bytes(pending))
                pending.clear()
        if pending and not stop.is_set():
            handle(bytes(pending))

    def _run_in_process(self, stream: IcyStream, codec: str, stop: threading.Event) -> None:
        decoder = self._decoder = StreamDecoder(codec, self._sink, self.fail,
                                                self.decode_rate_hz)
        self.path = decoder.backend
        workers = pool()
        lane = workers.lane()
        try:
            self._read_loop(stream, stop, lambda data: workers.submit(lane, decoder, data))
        finally:
            decoder.closed = True
            workers.submit(lane, decoder, b"")  # lets the decoder thread free the codec

    def _spawn_ffmpeg(self, url: str) -> subprocess.Popen[bytes]:
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            raise ServiceUnavailable("this stream needs ffmpeg; install it (apt-get install ffmpeg)")
        proc = self._proc = subprocess.Popen(
            ffmpeg_command(ffmpeg, url, self.decode_rate_hz),
            stdin=subprocess.PIPE if url == "pipe:0" else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        threading.Thread(target=self._drain_stderr, args=(proc,), daemon=True,
                         name=f"ffmpeg-stderr-{self.name}").start()
        return proc

    def _pump_ffmpeg(self, proc: subprocess.Popen[bytes], stop: threading.Event) -> None:
        assert proc.stdout is not None
        self._start_ring()
        pump(proc.stdout, PcmDecoder("f32le", URL_CHANNELS, f"stream {self.settings.target}"),
             self, stop)

    def _run_ffmpeg_pipe(self, stream: IcyStream, stop: threading.Event) -> None:
        """Our reader (ICY stripped) → ffmpeg's stdin; ffmpeg's PCM → the ring."""
        self.path = "ffmpeg-pipe"
        proc = self._spawn_ffmpeg("pipe:0")
        out = threading.Thread(target=self._pump_ffmpeg, args=(proc, stop), daemon=True,
                               name=f"ffmpeg-out-{self.name}")
        out.start()
        assert proc.stdin is not None
        stdin = proc.stdin

        def write(data: bytes) -> None:
            try:
                stdin.write(data)
                stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                stop_reason = self._why() if proc.poll() is not None else "ffmpeg closed its input"
                raise ConnectionError(stop_reason) from None

        try:
            self._read_loop(stream, stop, write)
        finally:
            with contextlib.suppress(OSError):
                stdin.close()
        out.join(timeout=5.0)
        self._check_exit(proc, stop)

    def _run_ffmpeg(self, url: str, stop: threading.Event) -> None:
        self.path = "ffmpeg"
        proc = self._spawn_ffmpeg(url)
        self._pump_ffmpeg(proc, stop)
        self._check_exit(proc, stop)

    def _check_exit(self, proc: subprocess.Popen[bytes], stop: threading.Event) -> None:
        if stop.is_set():
            return
        try:
            code = proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        time.sleep(0.05)  # let the stderr reader catch the last line
        # A stream that breaks or ends is transient for a daemon (a radio restarting, a server
        # closing the connection): the supervisor reconnects with backoff.
        if code != 0:
            self.fail(ConnectionError(f"ffmpeg exited with code {code}: {self._why()}"))
        else:
            self.fail(ConnectionError("the stream ended"))

    def _drain_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        with contextlib.suppress(ValueError, OSError):  # close() may close the pipe first
            for line in proc.stderr:
                text = safe_text(line.decode(errors="replace").strip(), MAX_DETAIL_CHARS)
                if text:
                    self._stderr.append(text)
                    log.debug("ffmpeg %s: %s", self.name, text)
        proc.stderr.close()

    def close(self) -> None:
        """Quick: the socket is shut down (the reader returns at once), ffmpeg is terminated."""
        self._stop.set()
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()
        decoder, self._decoder = self._decoder, None
        if decoder is not None:
            decoder.closed = True
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        super().close()
        if proc is not None:
            for pipe in (proc.stdout, proc.stdin):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
