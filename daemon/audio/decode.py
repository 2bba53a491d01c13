"""Decode audio files to float32 samples: soundfile (libsndfile) first, ffmpeg for the rest.

Training (genre folders) and the daemon's ``file:`` source decode through these functions, so both
see the same samples.
"""

from __future__ import annotations

import logging
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
from genrecast.daemon.errors import DataError, InputNotFound, ServiceUnavailable

log = logging.getLogger(__name__)

FFMPEG_RATE_HZ = 48_000  # rate asked of ffmpeg when it has to decode a format libsndfile cannot
FFMPEG_TIMEOUT_S = 600
# Full scale is 1.0. Float samples beyond this (+60 dBFS) are not audio but misread data (e.g.
# integer PCM taken as f32le); they overflow the downmix and resampler into inf/NaN windows.
MAX_ABS_SAMPLE = 1000.0


def check_finite(samples: np.ndarray, what: str) -> None:
    if not samples.size:
        return
    # Two reductions, no temporary array: NaN propagates through max/min, inf exceeds the bound.
    top, bottom = float(samples.max()), float(samples.min())
    if not (np.isfinite(top) and np.isfinite(bottom)):
        raise DataError(f"{what} contains NaN or infinite samples; re-export or re-encode it")
    if max(top, -bottom) > MAX_ABS_SAMPLE:
        raise DataError(f"{what} has samples beyond ±{MAX_ABS_SAMPLE:g} (full scale is 1.0): "
                        "not audio; re-export or re-encode it")


def _ffmpeg_command(path: Path) -> list[str]:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise ServiceUnavailable(
            f"{path}: libsndfile cannot decode this format and ffmpeg is not installed; "
            "install ffmpeg (apt-get install ffmpeg) or convert the file to wav/flac/ogg"
        )
    return [ffmpeg, "-nostdin", "-v", "error", "-i", str(path), "-vn", "-f", "f32le", "-ac", "2",
            "-ar", str(FFMPEG_RATE_HZ), "-"]


def _ffmpeg_failed(path: Path, stderr: bytes) -> DataError:
    reason = stderr.decode(errors="replace").strip().splitlines()
    return DataError(
        f"{path}: cannot decode audio ({reason[-1] if reason else 'ffmpeg failed'}); "
        "check that it is an audio file and not truncated"
    )


def _read_with_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    proc = subprocess.run(_ffmpeg_command(path), capture_output=True, timeout=FFMPEG_TIMEOUT_S,
                          check=False)
    if proc.returncode != 0:
        raise _ffmpeg_failed(path, proc.stderr)
    data = np.frombuffer(proc.stdout, dtype=np.float32)
    return data[: data.size - data.size % 2].reshape(-1, 2).copy(), FFMPEG_RATE_HZ


def check_readable(path: Path) -> None:
    """InputNotFound, in the right words, unless ``path`` is a file this user can open: a
    permission error is not bad audio, and not a missing file either."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError
        if not stat.S_ISREG(mode):  # a FIFO or a device: opening it could wait forever
            raise InputNotFound(f"{path} is not a regular file; name an audio file")
        with open(path, "rb"):
            pass
    except FileNotFoundError:
        raise InputNotFound(f"audio file {path} does not exist; check the path") from None
    except IsADirectoryError:
        raise InputNotFound(f"{path} is a folder, not an audio file; name the files in it "
                            "(or pass the folder to genrecast classify)") from None
    except PermissionError:
        raise InputNotFound(f"cannot read {path}: permission denied; give the user running "
                            "genrecast read access to it") from None
    except OSError as exc:
        raise InputNotFound(f"cannot open {path}: {exc.strerror}; check the path") from None


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Whole file as (frames × channels float32, sample rate). Raises a one-line UserError."""
    path = Path(path)
    check_readable(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        log.debug("libsndfile cannot read %s (%s); trying ffmpeg", path, exc)
        data, rate = _read_with_ffmpeg(path)
    if data.shape[0] == 0:
        raise DataError(f"{path} holds no audio (zero length); remove it or re-export it")
    check_finite(data, str(path))
    return data, int(rate)


def iter_audio_blocks(path: str | Path, block_frames: int) -> tuple[int, int, Iterator[np.ndarray]]:
    """Stream a file in blocks: (rate, channels, iterator of frames × channels float32 blocks).

    Formats libsndfile cannot open are streamed from an ffmpeg child (the command ``read_audio``
    runs, so the same samples), its output read block by block: memory stays at a few blocks
    whatever the file's length. Its first block is read here, so a file ffmpeg cannot decode fails
    now rather than in the middle of the iteration.
    """
    path = Path(path)
    check_readable(path)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return FFMPEG_RATE_HZ, 2, _ffmpeg_blocks(path, block_frames)
    if info.frames == 0:
        raise DataError(f"{path} holds no audio (zero length); remove it or re-export it")

    # Integer PCM (WAV, FLAC, AIFF...) decodes into [-1, 1) by construction: nothing to check.
    bounded = str(info.subtype).startswith("PCM_")

    def gen() -> Iterator[np.ndarray]:
        # 16-bit PCM is read as integers and scaled here: the same floats (k / 32768 is exact in
        # float32), 4× faster than libsndfile's own float conversion, which was most of decoding.
        as_int16 = str(info.subtype) == "PCM_16"
        blocks = sf.blocks(str(path), blocksize=block_frames, always_2d=True,
                           dtype="int16" if as_int16 else "float32")
        while True:
            # A file damaged after its header fails here, mid-stream: bad data, not a retryable
            # failure (the file source would otherwise replay it from the start forever).
            try:
                block = next(blocks)
            except StopIteration:
                return
            except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
                raise DataError(f"{path}: cannot decode audio past its start ({exc}); "
                                "check that it is not truncated or damaged") from None
            if as_int16:
                block = block.astype(np.float32)
                block *= np.float32(1.0 / 32768)
            if not bounded:
                check_finite(block, str(path))
            yield block

    return int(info.samplerate), int(info.channels), gen()


def _ffmpeg_blocks(path: Path, block_frames: int) -> Iterator[np.ndarray]:
    """Blocks of an ffmpeg child's 48 kHz stereo float output; the first one is read at once."""
    block_bytes = block_frames * 2 * 4
    # stderr to a file, not a pipe: an unread pipe could fill and stall ffmpeg mid-file.
    errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the generator below
    proc = subprocess.Popen(_ffmpeg_command(path), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=errors)
    assert proc.stdout is not None
    stdout = proc.stdout

    def finish() -> None:
        proc.wait(timeout=FFMPEG_TIMEOUT_S)
        if proc.returncode != 0:
            errors.seek(0)
            raise _ffmpeg_failed(path, errors.read()[-4096:])

    def read_block() -> np.ndarray | None:
        raw = stdout.read(block_bytes)
        if not raw:
            return None
        data = np.frombuffer(raw[: len(raw) - len(raw) % 8], dtype=np.float32).reshape(-1, 2)
        check_finite(data, str(path))
        return data

    def gen(first: np.ndarray) -> Iterator[np.ndarray]:
        try:
            block: np.ndarray | None = first
            while block is not None:
                yield block
                block = read_block()
            finish()
        finally:
            if proc.poll() is None:  # the consumer stopped early (or a block was bad)
                proc.kill()
                proc.wait()
            stdout.close()
            errors.close()

    try:
        first = read_block()
        if first is None:
            finish()
            raise DataError(f"{path} holds no audio (zero length); remove it or re-export it")
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stdout.close()
        errors.close()
        raise
    return gen(first)
