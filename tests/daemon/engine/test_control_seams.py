"""The seams the service layer uses: pause/resume a source, swap the classifier, counters."""

from __future__ import annotations

import shutil
from pathlib import Path

from genrecast.daemon.audio.sources.file import FileSource
from genrecast.daemon.engine.daemon import Daemon
from genrecast.daemon.model.classifier import Classifier
from genrecast.daemon.settings import SourceSettings

from tests.support.run_daemon import run_daemon


def test_pause_resume_and_swap_classifier(tone_model: Path, low_high_ogg: Path,
                                          tmp_path: Path) -> None:
    other = tmp_path / "other.tflite"
    shutil.copy(tone_model, other)
    card = tone_model.with_suffix(".json").read_text().replace('"name": "tone"', '"name": "tone2"')
    other.with_suffix(".json").write_text(card)
    swapped = Classifier(other, try_gpu=False)
    spec = SourceSettings(name="f", kind="file", target=str(low_high_ogg), realtime=False,
                          loop=True)
    source = FileSource(spec, block_frames=2048)
    ticks: dict[str, int | None] = {"n": 0, "paused_at": None}

    def on_tick(daemon: Daemon) -> None:
        windows = daemon.source_report("f")["windows_classified"]
        ticks["n"] = n = (ticks["n"] or 0) + 1
        if windows >= 20 and ticks["paused_at"] is None:
            daemon.pause("f")
            ticks["paused_at"] = n
        elif ticks["paused_at"] is not None and n == ticks["paused_at"] + 20:
            daemon.swap_classifier(swapped)
            daemon.resume("f")
        elif windows >= 60:
            daemon.request_stop()

    run = run_daemon(tone_model, [spec], sources=[source], timeout_s=60, on_tick=on_tick)

    order = [(e["kind"], e.get("state"), e["model_id"]) for e in run.events]
    paused = next(i for i, e in enumerate(order) if e[0] == "status" and e[1] == "paused")
    resumed = next(i for i, e in enumerate(order) if e[0] == "status" and e[1] == "starting"
                   and i > paused)
    assert all(k != "prediction" for k, _, _ in order[paused:resumed]), "nothing while paused"
    after = [e for e in run.events[resumed:] if e["kind"] == "prediction"]
    assert after and all(e["model_id"].startswith("tone2@") for e in after)
    assert all(e["model_id"].startswith("tone@") for e in run.events[:paused])
    report = run.daemon.source_report("f")  # type: ignore[union-attr]
    assert int(report["windows_classified"]) >= 60 and int(report["frames_received"]) > 0
    assert report["events_published"] == len(run.events) - sum(
        e["kind"] == "heartbeat" for e in run.events)
