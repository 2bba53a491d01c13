from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from genrecast.daemon.audio.ring import Ring
from genrecast.daemon.audio.sources.pcm import PcmDecoder
from genrecast.daemon.errors import DataError


def test_ring_wraps_and_keeps_order() -> None:
    ring = Ring(100, 2, threading.Event())
    data = np.arange(700, dtype=np.float32).reshape(-1, 2)
    out = []
    for i in range(0, 350, 37):
        ring.write(data[i : i + 37])
        out.append(ring.read())
    np.testing.assert_array_equal(np.concatenate(out), data)
    assert ring.overrun_frames == 0


def test_ring_counts_overrun_and_keeps_the_newest() -> None:
    ring = Ring(100, 1)
    ring.write(np.arange(80, dtype=np.float32))
    ring.write(np.arange(80, 160, dtype=np.float32))
    got = ring.read()
    assert ring.overrun_frames == 60
    np.testing.assert_array_equal(got[:, 0], np.arange(60, 160))


def test_ring_arrival_time_of_a_frame() -> None:
    ring = Ring(1000, 1)
    ring.write(np.zeros(10, dtype=np.float32))
    t_first = ring.last_write_mono
    ring.write(np.zeros(10, dtype=np.float32))
    assert ring.arrival_time(5) == t_first
    assert ring.arrival_time(15) == ring.last_write_mono
    assert ring.arrival_time(25) is None


@pytest.mark.parametrize("chunk", [1, 3, 7, 4096])
def test_pcm_decoder_is_chunking_independent(chunk: int) -> None:
    samples = (np.arange(-3000, 3000, 7, dtype=np.int16)).reshape(-1, 2)
    raw = samples.tobytes()
    dec = PcmDecoder("s16le", 2, "stdin")
    frames = np.concatenate([dec.decode(raw[i : i + chunk]) for i in range(0, len(raw), chunk)])
    dec.finish()
    np.testing.assert_array_equal(frames, samples.astype(np.float32) / 32768)


def test_pcm_partial_frame_at_end_is_malformed() -> None:
    dec = PcmDecoder("s16le", 2, "stdin")
    dec.decode(b"\x00" * 10)
    with pytest.raises(DataError, match="not a whole number of 4-byte frames"):
        dec.finish()


def test_pcm_nan_is_malformed() -> None:
    dec = PcmDecoder("f32le", 1, "stdin")
    with pytest.raises(DataError, match="NaN or infinite"):
        dec.decode(np.array([0.1, np.nan], dtype="<f4").tobytes())


def test_bytesio_is_a_stream() -> None:
    assert io.BytesIO(b"abc").read1(2) == b"ab"
