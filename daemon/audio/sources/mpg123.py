"""MP3 decoding with libmpg123 (ctypes): mono, at a quarter of the stream's rate, for ``url:``.

Why not libavcodec for MP3: a radio stream is 44.1 kHz stereo, and the model wants 400 Hz mono.
libmpg123 can mix to mono and run its synthesis filter bank on the lowest 8 of the 32 sub-bands
only (``MPG123_DOWN_SAMPLE = 2``: 11 025 Hz out, band-limited at 5.5 kHz by the codec itself), so
most of the decoding work is never done. Measured on one 10-minute 128 kbit/s file on a 2-core
machine: 0.47 ms of CPU per stream-second, against 1.2 ms for libavcodec's full-rate stereo
decode plus our downmix and resampling (``benchmarks/radio.py --raw`` prints both). The handle
takes about 120 kB per stream. ctypes releases the GIL for every call, so decoder threads decode
in parallel with the daemon's loop.

A station may change its sample rate mid-stream (a new programme, another encoder). A handle's
down-sampling is fixed when it opens, and the new rate may have no output rate at that reduction
(22 050 Hz ÷ 4): libmpg123 then fails with "Unable to set up output format!". The stream does
not drop: the handle is reopened at full rate (every MPEG rate fits) and the batch decoded again
by it (what the old handle made of that batch is thrown away, so nothing is doubled). Samples at
the old rate and at the new one are never returned by one call, so ``rate`` always describes
what ``decode`` returned.

The library is Debian's ``libmpg123-0`` (a dependency of libsndfile, so usually present). When it
is missing, ``available()`` is False and streams decode with PyAV as before.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

import numpy as np

OK, ERR, NEED_MORE, NEW_FORMAT, DONE = 0, -1, -10, -11, -12
BAD_OUTFORMAT = 1  # mpg123_errcode: the stream's (new) rate has no output format here
PARAM_ADD_FLAGS, PARAM_DOWN_SAMPLE, PARAM_RESYNC_LIMIT = 2, 4, 14
FLAG_QUIET = 0x20  # no messages on stderr: errors come back as return codes
MONO, ENC_FLOAT_32 = 1, 0x200
RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)  # MPEG 1, 2 and 2.5
MAX_DOWN_SAMPLE = 2  # 4:1, the most libmpg123 offers
RESYNC_LIMIT_BYTES = 64 * 1024  # how far it searches for the next frame after garbage
OUT_SAMPLES = 32_768  # per read into the thread's buffer (3 s at 11 kHz)

_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()
_loaded = False
_buffers = threading.local()  # one output buffer per decoder thread, not one per stream


def _load() -> ctypes.CDLL | None:
    global _lib, _loaded
    with _lib_lock:
        if _loaded:
            return _lib
        _loaded = True
        name = ctypes.util.find_library("mpg123")
        if name is None:
            return None
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            return None
        vp, sz = ctypes.c_void_p, ctypes.c_size_t
        lib.mpg123_init.restype = ctypes.c_int
        lib.mpg123_new.restype = vp
        lib.mpg123_new.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
        lib.mpg123_delete.argtypes = [vp]
        lib.mpg123_delete.restype = None
        lib.mpg123_param.argtypes = [vp, ctypes.c_int, ctypes.c_long, ctypes.c_double]
        lib.mpg123_format_none.argtypes = [vp]
        lib.mpg123_format.argtypes = [vp, ctypes.c_long, ctypes.c_int, ctypes.c_int]
        lib.mpg123_open_feed.argtypes = [vp]
        lib.mpg123_feed.argtypes = [vp, ctypes.c_char_p, sz]
        lib.mpg123_read.argtypes = [vp, vp, sz, ctypes.POINTER(sz)]
        lib.mpg123_getformat.argtypes = [vp, ctypes.POINTER(ctypes.c_long),
                                         ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)]
        lib.mpg123_errcode.argtypes = [vp]
        lib.mpg123_errcode.restype = ctypes.c_int
        lib.mpg123_strerror.argtypes = [vp]
        lib.mpg123_strerror.restype = ctypes.c_char_p
        if lib.mpg123_init() != OK:
            return None
        _lib = lib
        return lib


def available() -> bool:
    """True when libmpg123 can be loaded (then ``url:`` MP3 streams decode with it)."""
    return _load() is not None


def down_sample_for(native_rate: int, min_rate: int) -> int:
    """The largest 2^k reduction (k ≤ 2) that keeps the output at ``min_rate`` or above."""
    k = MAX_DOWN_SAMPLE
    while k and native_rate >> k < min_rate:
        k -= 1
    return k


class Mpg123Error(ConnectionError):
    """The stream is not decodable MP3 (libmpg123's reason)."""


class Mpg123Stream:
    """One stream's decoder. ``decode(data)`` takes compressed bytes in any split and returns
    mono float32 at ``rate`` (0 until the first frame), never below ``min_rate`` when the stream's
    own rate allows it."""

    def __init__(self, min_rate: int) -> None:
        self._handle: int | None = None
        lib = _load()
        if lib is None:
            raise OSError("libmpg123 is not installed")
        self._lib = lib
        self.min_rate = min_rate
        self.rate = 0
        self.down_sample = 0
        self.rate_switches = 0  # reopened at full rate for a rate its reduction could not output
        self._next_rate = 0  # the format change read after the last call's samples
        # Until the first frame header is read, bytes are kept: the stream's own rate decides
        # the reduction, and libmpg123 fixes it when the handle is opened.
        self._pending: bytes | None = b""
        self._open(0)

    def _open(self, down_sample: int) -> None:
        lib = self._lib
        self.close()
        err = ctypes.c_int(0)
        handle = lib.mpg123_new(None, ctypes.byref(err))
        if not handle:
            raise MemoryError(f"mpg123_new failed ({err.value})")
        self._handle = handle
        self.down_sample = down_sample
        lib.mpg123_param(handle, PARAM_ADD_FLAGS, FLAG_QUIET, 0.0)
        lib.mpg123_param(handle, PARAM_DOWN_SAMPLE, down_sample, 0.0)
        lib.mpg123_param(handle, PARAM_RESYNC_LIMIT, RESYNC_LIMIT_BYTES, 0.0)
        lib.mpg123_format_none(handle)
        # Mono float only: libmpg123 mixes the channels down itself. down_sample_for keeps
        # native >> down_sample within RATES, so the format always fits.
        for rate in RATES:
            lib.mpg123_format(handle, rate, MONO, ENC_FLOAT_32)
        if lib.mpg123_open_feed(handle) != OK:
            raise Mpg123Error(self._reason())

    def _reason(self) -> str:
        text = self._lib.mpg123_strerror(self._handle)
        return text.decode(errors="replace") if text else "libmpg123 error"

    def decode(self, data: bytes) -> np.ndarray:
        if self._handle is None:
            raise Mpg123Error("decoder closed")
        if self._pending is None:
            return self._decode(data)
        self._pending += data
        native = self._native_rate(data)
        if not native:
            return np.empty(0, np.float32)
        pending, self._pending = self._pending, None
        self._open(down_sample_for(native, self.min_rate))
        return self._decode(pending)

    def _native_rate(self, data: bytes) -> int:
        """The stream's rate once the full-rate handle has seen a frame header, else 0."""
        self._feed(data)
        rc, rate = self._format()
        if rc == OK:
            return rate
        if rc == NEED_MORE:
            return 0
        raise Mpg123Error(self._reason())

    def _format(self) -> tuple[int, int]:
        """(libmpg123's return code, the output rate) of the handle's current format."""
        rate, channels, encoding = ctypes.c_long(), ctypes.c_int(), ctypes.c_int()
        rc = self._lib.mpg123_getformat(self._handle, ctypes.byref(rate), ctypes.byref(channels),
                                        ctypes.byref(encoding))
        return rc, int(rate.value)

    def _feed(self, data: bytes) -> None:
        if data and self._lib.mpg123_feed(self._handle, data, len(data)) != OK:
            raise Mpg123Error(self._reason())

    def _decode(self, data: bytes) -> np.ndarray:
        lib, handle = self._lib, self._handle
        if self._next_rate:
            self.rate, self._next_rate = self._next_rate, 0
        self._feed(data)
        buf = getattr(_buffers, "out", None)
        if buf is None:
            buf = _buffers.out = np.empty(OUT_SAMPLES, np.float32)
        done = ctypes.c_size_t(0)
        blocks: list[np.ndarray] = []
        while True:
            rc = lib.mpg123_read(handle, buf.ctypes.data, buf.nbytes, ctypes.byref(done))
            if done.value:
                blocks.append(buf[: done.value // 4].copy())
            if rc == NEW_FORMAT:
                rate = self._format()[1]
                if blocks and rate != self.rate:  # these are at the old rate: hand them out
                    self._next_rate = rate  # first; the rest waits in libmpg123's buffer
                    break
                self.rate = rate
                continue
            if rc == OK:
                continue
            if rc in (NEED_MORE, DONE):
                break
            if lib.mpg123_errcode(handle) == BAD_OUTFORMAT and self.down_sample:
                self.rate_switches += 1
                self._open(0)  # full rate: every MPEG rate has an output format
                return self._decode(data)
            raise Mpg123Error(self._reason())
        if not blocks:
            return np.empty(0, np.float32)
        return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)

    def close(self) -> None:
        if self._handle is not None:
            self._lib.mpg123_delete(self._handle)
            self._handle = None

    def __del__(self) -> None:
        self.close()
