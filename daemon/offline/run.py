"""``genrecast classify PATH...``: files and folders in one process, outputs as files complete.

One set of interpreters serves every file (start-up is paid once). A file that cannot be
classified is reported on one line and skipped; the run exits non-zero at the end, with the count.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from genrecast.daemon.errors import EXIT_DATA, ConfigError, UserError
from genrecast.daemon.model.card import load_card
from genrecast.daemon.model.classifier import Classifier
from genrecast.daemon.offline.classify import Timeline, as_json_lines, as_text, csv_header, csv_rows
from genrecast.daemon.offline.pipeline import FileOutcome, classify_stream
from genrecast.daemon.offline.probe_cache import ensure_probed
from genrecast.daemon.offline.progress import ClassifyProgress
from genrecast.daemon.offline.summary import file_summary, summary_csv, summary_csv_header, summary_json
from genrecast.daemon.offline.walk import audio_files
from genrecast.daemon.settings import DecisionSettings

log = logging.getLogger(__name__)

OUTPUTS = ("text", "json", "csv")


@dataclass(frozen=True)
class ClassifyOptions:
    """What one ``genrecast classify`` run does."""

    paths: tuple[Path, ...]
    model: Path
    decisions: DecisionSettings
    output: str = "text"
    """``text``, ``json`` (JSON lines) or ``csv``: per window, or per file with ``summary``."""
    summary: bool = False
    """One row per file (CSV, or JSON with ``output="json"``) instead of one per window."""
    recursive: bool = False
    plot: Path | None = None
    threads: int = 1
    """LiteRT threads, and at most this many files decoded at the same time."""
    progress: bool | None = None
    """Draw a progress bar (None: when stderr is a terminal)."""


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def run_classify(opts: ClassifyOptions,
                 draw: Callable[[list[Timeline], Path], None] | None = None) -> None:
    """Classify every file; at the end, raise a UserError if any failed (with their exit code).

    ``draw(timelines, opts.plot)`` makes the ``--plot`` figure (the CLI passes its plotter)."""
    if opts.output not in OUTPUTS:
        raise ConfigError(f"output {opts.output!r} must be one of {', '.join(OUTPUTS)}")
    problems: list[UserError] = []  # folders that could not be listed
    files = audio_files(opts.paths, opts.recursive, problems)
    card = load_card(opts.model)  # before decoding starts: a bad model fails before any file
    opts.decisions.check_labels(card.labels, card.model_id)

    def make_classifier() -> Classifier:
        # No GPU check: classify runs on the CPU interpreter either way, and the check alone
        # cost 1.7 s per command here (it maps a Vulkan stack to find no GPU). The crash probe
        # runs once per model (probe_cache); the Classifier checks the bytes against the card.
        ensure_probed(opts.model)
        return Classifier(opts.model, card=card, num_threads=opts.threads, try_gpu=False,
                          probe=False)

    with ClassifyProgress(len(files), opts.progress) as progress:
        outcomes = classify_stream(files, card, make_classifier, opts.decisions,
                                   decode_workers=opts.threads, on_windows=progress.audio)
        report_outcomes(opts, card.labels, len(files), outcomes, progress, draw, problems)


def report_outcomes(opts: ClassifyOptions, labels: Sequence[str], n_files: int,
                    outcomes: Iterable[FileOutcome], progress: ClassifyProgress,
                    draw: Callable[[list[Timeline], Path], None] | None = None,
                    problems: Sequence[UserError] = ()) -> None:
    """Print each file's result in the chosen format as it comes (in file order), skip a file
    that failed with one line, and at the end raise a UserError counting the failures (and the
    ``problems``: folders that could not be listed). Shared by one host (``run_classify``) and a
    cluster (``classify --cluster``)."""
    labels = tuple(labels)
    summary_csv_mode = opts.summary and opts.output != "json"
    if summary_csv_mode:
        _out(summary_csv_header(labels))
    elif opts.output == "csv":
        _out(csv_header(labels))
    timelines: list[Timeline] = []
    failed: dict[int, int] = {}  # exit code → files
    for problem in problems:
        progress.print(f"error: {problem}")
        failed[problem.exit_code] = failed.get(problem.exit_code, 0) + 1
    for outcome in outcomes:
        progress.file_done()
        if outcome.error is not None:
            if n_files == 1 and not problems:
                raise outcome.error  # the one line the command prints
            progress.print(f"error: {outcome.error}")
            code = outcome.error.exit_code
            failed[code] = failed.get(code, 0) + 1
            continue
        t = outcome.timeline
        assert t is not None
        if opts.summary:
            row = file_summary(t, opts.decisions.silence_db)
            _out(summary_csv(row, labels) if summary_csv_mode else summary_json(row))
        elif opts.output == "json":
            _out(as_json_lines(t))
        elif opts.output == "csv":
            _out(csv_rows(t))
        else:
            _out(as_text(t))
        sys.stdout.flush()
        if opts.plot is not None:
            timelines.append(t)
    if opts.plot is not None and draw is not None and timelines:
        draw(timelines, opts.plot)
        print(f"plot written to {opts.plot}", file=sys.stderr)
    n_failed = sum(failed.values())
    if n_failed:
        what = "files or folders" if problems else "files"
        raise UserError(f"{n_failed} of {n_files + len(problems)} {what} could not be "
                        "classified (see above); fix or remove them and run again",
                        exit_code=next(iter(failed)) if len(failed) == 1 else EXIT_DATA)
