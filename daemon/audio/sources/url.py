"""``url:URL``: an HTTP/Icecast/HLS/RTSP stream decoded by an ffmpeg subprocess into f32le PCM."""

from __future__ import annotations

import collections
import logging
import shutil
import subprocess
import threading
import time

from genrecast.daemon.audio.sources.base import ThreadSource
from genrecast.daemon.audio.sources.pcm import PcmDecoder, pump
from genrecast.daemon.errors import InputNotFound, ServiceUnavailable
from genrecast.daemon.settings import SourceSettings

log = logging.getLogger(__name__)

URL_RATE_HZ = 48_000  # asked of ffmpeg; the resampler takes it to the model's rate
URL_CHANNELS = 1
URL_OPEN_TIMEOUT_S = 15.0  # how long open() waits for the first audio before giving up
STDERR_LINES = 20


def ffmpeg_command(ffmpeg: str, url: str) -> list[str]:
    """The decoder's argument list (never a shell string)."""
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error"]
    if url.startswith(("http://", "https://")):
        # Live HTTP/Icecast streams drop; let ffmpeg reconnect before we restart it.
        cmd += ["-reconnect", "1", "-reconnect_streamed", "1", "-reconnect_delay_max", "5"]
    if url.startswith("rtsp://"):
        cmd += ["-rtsp_transport", "tcp"]
    cmd += ["-i", url, "-vn", "-f", "f32le", "-ac", str(URL_CHANNELS), "-ar", str(URL_RATE_HZ),
            "pipe:1"]
    return cmd


class UrlSource(ThreadSource):
    def __init__(self, settings: SourceSettings) -> None:
        super().__init__(settings)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)

    def _why(self) -> str:
        return self._stderr[-1] if self._stderr else "ffmpeg exited without output"

    def reopen(self) -> None:
        # From the main loop: do not wait for audio; the supervisor watches frames arrive.
        self.open(wait_for_audio=False)

    def open(self, wait_for_audio: bool = True) -> None:
        self.close()
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            raise ServiceUnavailable("url sources need ffmpeg; install it (apt-get install ffmpeg)")
        url = self.settings.target
        self._stderr.clear()
        self._proc = subprocess.Popen(ffmpeg_command(ffmpeg, url), stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        threading.Thread(target=self._drain_stderr, args=(self._proc,), daemon=True,
                         name=f"ffmpeg-stderr-{self.name}").start()
        self._decoder = PcmDecoder("f32le", URL_CHANNELS, f"stream {url}")
        ring = self._new_ring(URL_RATE_HZ, URL_CHANNELS)
        self._start_thread()
        if not wait_for_audio:
            return
        # Wait for the first audio so that an unreachable URL fails at startup with ffmpeg's reason.
        deadline = time.monotonic() + URL_OPEN_TIMEOUT_S
        while ring.written == 0 and time.monotonic() < deadline:
            if self._proc.poll() is not None and ring.written == 0:
                time.sleep(0.1)  # let the stderr reader catch the last line
                if ring.written == 0:
                    self.close()
                    raise InputNotFound(f"stream {url} cannot be opened ({self._why()}); "
                                        "check the URL and that the server is reachable")
            time.sleep(0.02)
        if ring.written == 0:
            self.close()
            raise InputNotFound(f"stream {url} sent no audio within {URL_OPEN_TIMEOUT_S:.0f} s; "
                                "check the URL")

    def _drain_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            text = line.decode(errors="replace").strip()
            if text:
                self._stderr.append(text)
                log.debug("ffmpeg %s: %s", self.name, text)

    def _run(self, stop: threading.Event) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        pump(proc.stdout, self._decoder, self, stop)
        if stop.is_set():
            return
        code = proc.wait()
        # A stream that breaks or ends is transient for a daemon (a radio restarting, a server
        # closing the connection): the supervisor restarts ffmpeg with backoff.
        if code != 0:
            self.fail(ConnectionError(f"ffmpeg exited with code {code}: {self._why()}"))
        else:
            self.fail(ConnectionError("the stream ended"))

    def close(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        super().close()
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        self._proc = None
