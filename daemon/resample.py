"""Streaming rational resampler: any device rate (8-192 kHz) to the model's rate, low latency.

Why not soxr's ``ResampleStream``: at 48 kHz → 400 Hz it delivers output in ~2-s bursts, too late
for a live 3-s window. This is a stateful polyphase FIR (the filter design of
``scipy.signal.resample_poly``: Kaiser-windowed sinc, beta 5, 10 zero crossings per side), so:

* it emits every output sample as soon as its input has arrived (plus a fixed block of
  ``BLOCK_OUTPUT_SAMPLES``),
* the result does not depend on how the input is chunked: outputs are always computed in the same
  fixed blocks with the same array shapes, so streaming in blocks of 64 or 4096 frames and resampling
  a whole file in one call give bit-identical samples. Training and the daemon both use this class,
  which is what makes their windows equal.

The filter's delay is compensated: output sample ``k`` is the signal at input time
``k / rate_out`` seconds.
"""

from __future__ import annotations

from math import gcd

import numpy as np

from .errors import UserError

MIN_RATE_HZ = 8_000
MAX_RATE_HZ = 192_000
ZERO_CROSSINGS = 10  # filter half-length in units of the larger of up/down (resample_poly's choice)
KAISER_BETA = 5.0
BLOCK_OUTPUT_SAMPLES = 20  # 50 ms at 400 Hz: the unit of work, rounded up to a multiple of `up`


def design_filter(up: int, down: int) -> np.ndarray:
    """Low-pass FIR for rational resampling by up/down, unity gain after upsampling."""
    max_rate = max(up, down)
    half_len = ZERO_CROSSINGS * max_rate
    n = np.arange(-half_len, half_len + 1, dtype=np.float64)
    taps = np.sinc(n / max_rate) * np.kaiser(2 * half_len + 1, KAISER_BETA)
    taps *= up / taps.sum()
    return taps


class StreamingResampler:
    """Resample a mono float32 stream from ``rate_in`` to ``rate_out`` in arbitrary chunks."""

    def __init__(self, rate_in: int, rate_out: int) -> None:
        if not MIN_RATE_HZ <= rate_in <= MAX_RATE_HZ:
            raise UserError(
                f"sample rate {rate_in} Hz is outside the supported {MIN_RATE_HZ}-{MAX_RATE_HZ} Hz; "
                "resample the source (for example with ffmpeg -ar 48000)"
            )
        self.rate_in = int(rate_in)
        self.rate_out = int(rate_out)
        g = gcd(self.rate_in, self.rate_out)
        self.up = self.rate_out // g
        self.down = self.rate_in // g
        taps = design_filter(self.up, self.down)
        half_len = (len(taps) - 1) // 2
        # Pad so that every phase has the same number of taps.
        self.taps_per_phase = -(-len(taps) // self.up)
        padded = np.zeros(self.taps_per_phase * self.up)
        padded[: len(taps)] = taps
        # phase_taps[p] holds h[p], h[p+up], ... reversed, ready to dot with ascending input.
        self._phase_taps = np.ascontiguousarray(
            padded.reshape(self.taps_per_phase, self.up).T[:, ::-1], dtype=np.float32
        )
        self.block = -(-BLOCK_OUTPUT_SAMPLES // self.up) * self.up
        self._rows_per_phase = self.block // self.up
        # Output k uses upsampled index n = k*down + half_len, so the filter delay is compensated.
        self._offset = half_len
        # Input history: (taps_per_phase - 1) zeros stand for the silence before the stream starts.
        self._history = self.taps_per_phase - 1
        self._buf = np.zeros(self._history, dtype=np.float32)
        self._buf_start = -self._history  # absolute input index of _buf[0]
        self._received = 0  # input samples received so far
        self._next_out = 0  # index of the next output sample to compute
        self._flushed = False

    @property
    def delay_s(self) -> float:
        """Latency from an input sample arriving to its output block being complete."""
        return (self._offset / self.up + self.block * self.down / self.up) / self.rate_in

    def _last_input_needed(self, k_last: int) -> int:
        return (k_last * self.down + self._offset) // self.up

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """Feed mono samples; return every output sample that is now complete."""
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        if self._flushed:
            raise RuntimeError("process() after flush()")
        self._buf = np.concatenate((self._buf, chunk)) if chunk.size else self._buf
        self._received += chunk.size
        return self._emit(self._received)

    def flush(self) -> np.ndarray:
        """End of stream: pad with silence and return the remaining outputs (total ≈ n·up/down)."""
        total_out = -(-self._received * self.up // self.down)
        pad = self._last_input_needed(total_out + self.block) - self._received + 1
        if pad > 0:
            self._buf = np.concatenate((self._buf, np.zeros(pad, dtype=np.float32)))
        out = self._emit(self._received + max(pad, 0))
        self._flushed = True
        keep = max(0, total_out - (self._next_out - out.size))
        return out[:keep]

    def _emit(self, available: int) -> np.ndarray:
        blocks = []
        while self._last_input_needed(self._next_out + self.block - 1) < available:
            blocks.append(self._compute_block(self._next_out))
            self._next_out += self.block
        # Drop input that no future output needs (keep the filter's history).
        first_needed = self._last_input_needed(self._next_out) - (self.taps_per_phase - 1)
        drop = first_needed - self._buf_start
        if drop > 0:
            self._buf = self._buf[drop:]
            self._buf_start += drop
        if not blocks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(blocks)

    def _compute_block(self, k0: int) -> np.ndarray:
        out = np.empty(self.block, dtype=np.float32)
        buf = self._buf
        q = self.taps_per_phase
        stride = buf.strides[0]
        for r in range(self.up):
            n = (k0 + r) * self.down + self._offset
            phase = n % self.up
            last = n // self.up - self._buf_start  # index in buf of the newest input sample used
            first = last - q + 1
            # Rows are consecutive outputs of one phase: each starts `down` inputs after the last.
            rows = np.lib.stride_tricks.as_strided(
                buf[first:],
                shape=(self._rows_per_phase, q),
                strides=(self.down * stride, stride),
                writeable=False,
            )
            out[r :: self.up] = rows @ self._phase_taps[phase]
        return out


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample a whole mono signal: exactly what streaming it through StreamingResampler yields."""
    if rate_in == rate_out:
        return np.asarray(samples, dtype=np.float32).reshape(-1)
    rs = StreamingResampler(rate_in, rate_out)
    return np.concatenate((rs.process(samples), rs.flush()))
