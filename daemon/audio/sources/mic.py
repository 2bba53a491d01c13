"""``mic[:DEVICE]``: a PortAudio input device through sounddevice.

The stream is opened at the device's native rate and channel count (PortAudio refuses odd rates
such as 400 Hz on real hardware); downmixing and resampling happen in the pipeline. The callback
only copies the block into the preallocated ring.
"""

from __future__ import annotations

import logging
from typing import Any

from genrecast.daemon.audio.sources.base import Source
from genrecast.daemon.errors import InputNotFound, ServiceUnavailable
from genrecast.daemon.settings import SourceSettings

log = logging.getLogger(__name__)

MAX_CHANNELS = 2  # virtual devices (ALSA "pulse", "default") report 32; stereo is all we downmix
BLOCK_S = 0.02  # PortAudio block: 20 ms keeps latency low without waking Python too often

_open_streams: set[int] = set()  # ids of MicSources with an open stream (PortAudio re-init guard)


def _sd() -> Any:
    try:
        import sounddevice as sd
    except OSError as exc:  # libportaudio missing
        raise ServiceUnavailable(
            f"PortAudio is not available ({exc}); install libportaudio2"
        ) from exc
    return sd


def find_input_device(target: str) -> dict[str, Any]:
    """DEVICE (index, or a unique part of the name; empty = default input) → its info dict."""
    sd = _sd()
    hint = "list them with genrecast devices"
    try:
        if target == "":
            info = sd.query_devices(kind="input")
        else:
            device: int | str = int(target) if target.isdigit() else target
            info = sd.query_devices(device, "input")
    except (ValueError, sd.PortAudioError) as exc:
        what = "no default input device" if target == "" else f"no input device {target!r}"
        raise InputNotFound(f"{what} ({exc}); {hint}, or use --source file:PATH or "
                            "--source url:URL") from exc
    if not info or info.get("max_input_channels", 0) < 1:
        raise InputNotFound(f"device {target!r} has no input channels; {hint}")
    return dict(info)


def list_input_devices() -> list[dict[str, Any]]:
    sd = _sd()
    out = []
    default_in = sd.default.device[0]
    for index, info in enumerate(sd.query_devices()):
        if info["max_input_channels"] > 0:
            out.append({"index": index, "name": info["name"],
                        "hostapi": sd.query_hostapis(info["hostapi"])["name"],
                        "channels": info["max_input_channels"],
                        "rate_hz": int(info["default_samplerate"]),
                        "default": index == default_in})
    return out


class MicSource(Source):
    def __init__(self, settings: SourceSettings) -> None:
        super().__init__(settings)
        self._stream: Any = None

    def open(self, reinit: bool = False) -> None:
        self.close()
        sd = _sd()
        if reinit and not _open_streams:
            # After the sound server died PortAudio keeps stale host state; restart it, but
            # only when no other mic stream in this process would be torn down with it.
            sd._terminate()
            sd._initialize()
        info = find_input_device(self.settings.target)
        rate = int(info["default_samplerate"])
        channels = max(1, min(int(info["max_input_channels"]), MAX_CHANNELS))
        ring = self._new_ring(rate, channels)

        def callback(indata: Any, frames: int, time_info: Any, status: Any) -> None:
            # Only a copy here: no logging, no allocation. PortAudio's status flags are not
            # counted: through PulseAudio they never fired even for a stalled consumer; the
            # ring's own overrun count is what the metrics report.
            ring.write(indata)

        try:
            stream = sd.InputStream(device=info["index"], samplerate=rate, channels=channels,
                                    dtype="float32", blocksize=int(rate * BLOCK_S),
                                    callback=callback, finished_callback=self._finished)
            stream.start()
        except sd.PortAudioError as exc:
            raise InputNotFound(f"cannot open input device {info['name']!r} at {rate} Hz "
                                f"({exc}); check it with genrecast devices") from exc
        self._stream = stream
        _open_streams.add(id(self))
        log.info("mic %s: %s at %d Hz, %d channel(s)", self.name, info["name"], rate, channels)

    def reopen(self) -> None:
        self.open(reinit=True)

    def _finished(self) -> None:
        # Fires when PortAudio stops the stream on its own (device gone); the supervisor also
        # notices the frames stop advancing, which is the only signal some servers give.
        self.wake.set()

    def close(self) -> None:
        stream, self._stream = self._stream, None
        _open_streams.discard(id(self))
        if stream is not None:
            try:
                stream.abort(ignore_errors=True)
                stream.close(ignore_errors=True)
            except Exception:  # noqa: BLE001 - a dead server can make closing fail too
                log.debug("closing mic %s failed", self.name, exc_info=True)
