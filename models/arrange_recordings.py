"""Build genre folders for ``genrecast train`` from the table in ``models/recordings.toml``.

Every track the table uses (``left_out`` unset) is decoded with ffmpeg, mixed to mono, resampled to
``--rate`` (16 kHz: enough for the 400 Hz default and the 2 kHz / 8 kHz comparison) and cut to its
first ``--cap-seconds`` (so long tracks do not dominate), then written as
``OUT/<genre>/<package>__<track>.flac``. The package prefix is what leave-one-package-out
evaluation groups by. Frets on Fire songs are their stems summed; LMMS projects are rendered with
``lmms render`` first (left out with a warning when lmms is not installed); Nexuiz's tracks are read
from its zip archive.

    python -m genrecast.models.arrange_recordings PACKAGES_ROOT OUT_DIR

PACKAGES_ROOT holds one folder per Debian package, each the package extracted with ``dpkg -x``.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger(__name__)

TABLE = Path(__file__).with_name("recordings.toml")
RATE_HZ = 16000
CAP_SECONDS = 120.0
PACKAGE_SEPARATOR = "__"  # OUT/<genre>/<package>__<track>.flac
LMMS_RENDER_TIMEOUT_S = 600


@dataclass(frozen=True)
class Track:
    package: str
    path: str
    genre: str
    licence: str
    why: str
    member: str = ""
    mix: tuple[str, ...] = ()
    render: str = ""
    left_out: bool = False

    @property
    def name(self) -> str:
        """``<package>__<slug>``: unique, and the package is recoverable from it."""
        leaf = Path(self.member or self.path)
        return f"{self.package}{PACKAGE_SEPARATOR}{_slug(leaf.stem if not self.mix else leaf.name)}"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def load_table(path: Path = TABLE) -> list[Track]:
    with path.open("rb") as f:
        rows = tomllib.load(f)["track"]
    tracks = []
    for row in rows:
        row = dict(row)
        row["mix"] = tuple(row.get("mix", ()))
        tracks.append(Track(**row))
    names = [t.name for t in tracks]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"{path}: track names collide: {', '.join(dup)}")
    return tracks


def package_of(track_name: str) -> str:
    """The package a track file came from (``genre/pkg__slug.flac`` → ``pkg``)."""
    stem = Path(track_name).name
    return stem.split(PACKAGE_SEPARATOR, 1)[0] if PACKAGE_SEPARATOR in stem else ""


def _ffmpeg(inputs: list[Path], out: Path, rate: int, cap_s: float) -> None:
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y"]
    for p in inputs:
        cmd += ["-t", f"{cap_s:g}", "-i", str(p)]
    if len(inputs) > 1:
        cmd += ["-filter_complex", f"amix=inputs={len(inputs)}:normalize=0,alimiter=limit=0.99"]
    cmd += ["-ac", "1", "-ar", str(rate), "-sample_fmt", "s16", str(out)]
    subprocess.run(cmd, check=True)


def _render_lmms(project: Path, render_dir: Path) -> Path | None:
    target = render_dir / f"{project.stem}.wav"
    if target.is_file():
        return target
    if shutil.which("lmms") is None:
        return None
    render_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part.wav")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    # No oversampling, linear interpolation and WAV (no Vorbis encoding): 16.5 s instead of 50 s
    # for Momo64-esp here. The model hears 0-200 Hz, where the two renders differ by at most 1 dB
    # per octave band; two renders with the same settings differ as much (lmms is not
    # deterministic: correlation 0.87 between two fast renders at 400 Hz, 0.84 fast vs default).
    cmd = ["lmms", "render", str(project), "-f", "wav", "-x", "1", "-i", "linear", "-o", str(tmp)]
    if os.geteuid() == 0:
        cmd.insert(1, "--allowroot")
        # lmms raises itself to SCHED_FIFO (priority 50) when it may, even to render a file:
        # measured here, two renders held both cores at real-time priority. Without the
        # capability its request fails and it renders at normal priority (and its nice level).
        if shutil.which("setpriv"):
            cmd = ["setpriv", "--bounding-set", "-sys_nice", "--inh-caps", "-sys_nice", *cmd]
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=LMMS_RENDER_TIMEOUT_S)
    tmp.replace(target)
    return target


def arrange_one(track: Track, root: Path, out_dir: Path, rate: int, cap_s: float,
                render_dir: Path) -> str:
    """Write one track's FLAC; returns ``written``, ``kept`` or why it was skipped."""
    target = out_dir / track.genre / f"{track.name}.flac"
    if target.is_file():
        return "kept"
    source = root / track.package / track.path
    if not source.exists():
        return f"missing {source}"
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_suffix(".part.flac")
    with tempfile.TemporaryDirectory(prefix="genrecast-arrange-") as tmp:
        if track.member:
            with zipfile.ZipFile(source) as z:
                inputs = [Path(z.extract(track.member, tmp))]
        elif track.mix:
            inputs = [source / stem for stem in track.mix if (source / stem).is_file()]
        elif track.render == "lmms":
            rendered = _render_lmms(source, render_dir)
            if rendered is None:
                return "lmms not installed"
            inputs = [rendered]
        else:
            inputs = [source]
        _ffmpeg(inputs, part, rate, cap_s)
    part.replace(target)
    return "written"


def arrange(root: Path, out_dir: Path, rate: int = RATE_HZ, cap_s: float = CAP_SECONDS,
            render_dir: Path | None = None, jobs: int = 2) -> dict[str, int]:
    """Build OUT/<genre>/ from the table; returns tracks per genre."""
    tracks = [t for t in load_table() if not t.left_out]
    render_dir = render_dir or out_dir.parent / "renders" / "lmms"
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(lambda t: arrange_one(t, root, out_dir, rate, cap_s, render_dir),
                                tracks))
    for t, r in zip(tracks, results, strict=True):
        if r not in ("written", "kept"):
            log.warning("left out %s/%s: %s", t.package, t.path, r)
    counts: dict[str, int] = {}
    for t, r in zip(tracks, results, strict=True):
        if r in ("written", "kept"):
            counts[t.genre] = counts.get(t.genre, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages_root", type=Path, help="one dpkg -x folder per package")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--rate", type=int, default=RATE_HZ)
    parser.add_argument("--cap-seconds", type=float, default=CAP_SECONDS)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    counts = arrange(args.packages_root, args.out_dir, args.rate, args.cap_seconds,
                     jobs=args.jobs)
    print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
