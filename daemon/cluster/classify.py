"""``genrecast classify --cluster HEAD LIBRARY...``: a library split across a Ray cluster's nodes.

The driver lists the files (the same walk as on one host), cuts the list into chunks and
submits one Ray task per chunk (one CPU each, retried on another node if its node dies); each
task runs the one-host pipeline (``offline.pipeline.classify_stream``: decode, windows, batched
classify, the daemon's smoother) over its files with the model that travelled with it, and
returns each file's outcome. The driver prints them in file order with the one-host reporter
(``offline.run.report_outcomes``), so ``--summary``, ``--json``, ``--csv`` and bad-file lines
are the same as on one host.

The files must be readable at the same path on every node (shared storage: NFS, a volume in
Kubernetes); a file a node cannot open is reported like any unreadable file.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from genrecast.daemon.cluster.model_files import ModelFiles
from genrecast.daemon.cluster.ray_link import alive_nodes, connect, require_ray
from genrecast.daemon.errors import ConfigError, ServiceUnavailable, UserError
from genrecast.daemon.offline.classify import Timeline
from genrecast.daemon.offline.pipeline import FileOutcome, classify_stream
from genrecast.daemon.offline.progress import ClassifyProgress
from genrecast.daemon.offline.run import OUTPUTS, ClassifyOptions, report_outcomes
from genrecast.daemon.offline.walk import audio_files
from genrecast.daemon.settings import DecisionSettings

log = logging.getLogger(__name__)

CHUNKS_PER_CPU = 4  # small enough that a fast node takes more chunks, big enough to start once
MAX_FILES_PER_CHUNK = 64
TASK_RETRIES = 3  # a chunk whose node died runs again elsewhere


def chunks(files: list[Path], cpus: int) -> list[list[Path]]:
    """Consecutive runs of files, about ``CHUNKS_PER_CPU`` per CPU of the cluster."""
    size = max(1, min(MAX_FILES_PER_CHUNK, -(-len(files) // max(1, cpus * CHUNKS_PER_CPU))))
    return [files[i:i + size] for i in range(0, len(files), size)]


def classify_chunk(paths: list[str], model_ref: list[Any],
                   decisions: DecisionSettings) -> list[FileOutcome]:
    """One task, on whichever node Ray picks: the one-host pipeline over ``paths``."""
    import ray
    from genrecast.daemon.model.card import load_card
    from genrecast.daemon.model.classifier import Classifier
    from genrecast.daemon.offline.probe_cache import ensure_probed

    model: ModelFiles = ray.get(model_ref[0])
    folder = Path(tempfile.mkdtemp(prefix="genrecast-classify-"))
    try:
        model_path = model.write(folder)
        card = load_card(model_path)

        def make_classifier() -> Classifier:
            ensure_probed(model_path)  # once per model and node, as on one host
            return Classifier(model_path, card=card, num_threads=1, try_gpu=False, probe=False)

        files = [Path(p) for p in paths]
        return list(classify_stream(files, card, make_classifier, decisions, decode_workers=1))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _in_order(ray: Any, refs: list[Any], parts: list[list[Path]]) -> Iterator[FileOutcome]:
    """Each chunk's outcomes as it completes, in file order, under the paths the user gave."""
    for ref, part in zip(refs, parts, strict=True):
        outcomes: list[FileOutcome] = ray.get(ref)
        for outcome in outcomes:
            path = part[outcome.index]
            if outcome.timeline is not None:
                outcome.timeline.path = path
            yield FileOutcome(outcome.index, path, outcome.timeline, outcome.error)


def run_classify_cluster(opts: ClassifyOptions, address: str,
                         draw: Callable[[list[Timeline], Path], None] | None = None) -> None:
    require_ray()  # a missing extra is said first
    if opts.output not in OUTPUTS:
        raise ConfigError(f"output {opts.output!r} must be one of {', '.join(OUTPUTS)}")
    problems: list[UserError] = []  # folders that could not be listed: reported as on one host
    files = audio_files(opts.paths, opts.recursive, problems)
    model = ModelFiles.read(opts.model)
    from genrecast.daemon.model.card import load_card

    labels = load_card(opts.model).labels  # a bad model fails before the cluster is asked
    ray = connect(address)
    try:
        cpus = int(sum(float(n["Resources"].get("CPU", 0)) for n in alive_nodes(ray)))
        if cpus < 1:
            raise ServiceUnavailable(f"the Ray cluster at {address} has no node with a CPU to "
                                     "classify on; add one with `ray start --address HEAD`")
        parts = chunks(files, cpus)
        log.info("%d files in %d chunks over %d CPUs", len(files), len(parts), cpus)
        task = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(classify_chunk)
        model_ref = ray.put(model)
        refs = [task.remote([str(p.resolve()) for p in part], [model_ref], opts.decisions)
                for part in parts]
        with ClassifyProgress(len(files), opts.progress) as progress:
            report_outcomes(opts, labels, len(files), _in_order(ray, refs, parts), progress,
                            draw, problems)
    finally:
        ray.shutdown()
