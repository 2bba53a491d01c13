"""Train/serve parity and block-size invariance (the one DSP path)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from genrecast.daemon.audio.decode import read_audio
from genrecast.daemon.audio.sources.file import FileSource
from genrecast.daemon.audio.sources.pcm import StdinSource
from genrecast.daemon.dsp.chain import audio_to_windows
from genrecast.daemon.settings import SourceSettings

from tests.support.common import low_high
from tests.support.run_daemon import ChunkedStream, comparable, run_daemon


def _training_windows(path: Path, rate: int, window: int, hop: int) -> np.ndarray:
    """The windows the training pipeline builds from a file: its genre-folder loader when the
    training package is installed (three copies per genre: it splits by track), else the shared
    DSP path it is built on."""
    try:
        from genrecast.train.datasets import load_folder
    except ImportError:
        frames, rate_in = read_audio(path)
        return audio_to_windows(frames, rate_in, rate, window, hop)[1]
    root = Path(tempfile.mkdtemp())
    try:
        for genre in ("a", "b"):
            (root / genre).mkdir()
            for i in range(3):
                shutil.copy(path, root / genre / f"t{i}{path.suffix}")
        data = load_folder(root, None, rate, window, hop, 0, 0.34, 0.34, None)
    finally:
        shutil.rmtree(root)
    first = data.train.track[0]
    return data.train.x[data.train.track == first]


@pytest.mark.parametrize("block_frames", [64, 1000, 4096])
def test_daemon_windows_equal_training_windows(tone_model: Path, low_high_ogg: Path,
                                               block_frames: int) -> None:
    spec = SourceSettings(name="f", kind="file", target=str(low_high_ogg), realtime=False)
    source = FileSource(spec, block_frames=block_frames)
    run = run_daemon(tone_model, [spec], sources=[source])
    live = np.stack([w for _, _, w in run.windows])
    expected = _training_windows(low_high_ogg, 400, 1200, 200)
    assert live.shape == expected.shape
    np.testing.assert_allclose(live, expected, atol=1e-5, rtol=0)
    starts = [s for _, s, _ in run.windows]
    assert starts == list(range(0, 200 * len(starts), 200))


def test_events_do_not_depend_on_capture_block_size(tone_model: Path) -> None:
    audio = low_high(48_000, 2)
    raw = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    results = []
    for block in (64, 1000, 4096):
        spec = SourceSettings(name="pcm", kind="stdin", pcm_format="s16le", rate_hz=48_000,
                              channels=2)
        source = StdinSource(spec, stream=ChunkedStream(raw, block * 4))
        run = run_daemon(tone_model, [spec], sources=[source])
        results.append(comparable(run.events))
    assert len(results[0]) > 30
    genres = [e["genre"] for e in results[0] if e["kind"] == "genre"]
    assert genres == ["low", "high"]
    assert results[0] == results[1] == results[2]


def test_file_parity_at_odd_rate(tone_model: Path, tmp_path: Path) -> None:
    path = tmp_path / "odd.wav"
    sf.write(path, low_high(11_025, 1)[: 11_025 * 6], 11_025)
    spec = SourceSettings(name="f", kind="file", target=str(path), realtime=False)
    run = run_daemon(tone_model, [spec], sources=[FileSource(spec, 333)])
    live = np.stack([w for _, _, w in run.windows])
    np.testing.assert_allclose(live, _training_windows(path, 400, 1200, 200), atol=1e-5, rtol=0)


@pytest.mark.parametrize("rate", [8_000, 192_000])
def test_extreme_device_rates(tone_model: Path, rate: int) -> None:
    from tests.support.common import tone

    audio = np.concatenate((tone(50, 8, rate, 1), tone(150, 8, rate, 1)))
    raw = audio.astype("<f4").tobytes()
    spec = SourceSettings(name="pcm", kind="stdin", pcm_format="f32le", rate_hz=rate, channels=1)
    source = StdinSource(spec, stream=ChunkedStream(raw, 4096))
    run = run_daemon(tone_model, [spec], sources=[source])
    assert [e["genre"] for e in run.of("genre")] == ["low", "high"]
    assert len(run.of("prediction")) == 27  # (16 s - 3 s) / 0.5 s + 1
