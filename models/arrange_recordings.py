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
import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
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
    label_source: str = "evidence"
    """``evidence`` (credits, tags, titles: the only labels any figure is measured on) or
    ``teacher`` (a pretrained tagger's label, for training only; see teacher_labels.py)."""
    group: str = ""
    """Tracks of one group (a package, or packages sharing a composer) stay on one side of every
    grouped split; empty: the package."""
    slug: str = ""
    """Overrides the file-name part of ``name`` (set by load_table where two names collide)."""
    md5: str = ""
    """The file's md5 (census rows): how a member is found in an archive that is not a zip."""

    @property
    def split_group(self) -> str:
        return self.group or self.package

    @property
    def name(self) -> str:
        """``<package>__<slug>``: unique, and the package is recoverable from it."""
        leaf = Path(self.member or self.path)
        slug = self.slug or _slug(leaf.stem if not self.mix else leaf.name)
        return f"{self.package}{PACKAGE_SEPARATOR}{slug}"


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
    for i, t in enumerate(tracks):  # same file name in two folders: the folder joins the name
        if names.count(t.name) > 1:
            leaf = Path(t.member or t.path)
            tracks[i] = replace(t, slug=_slug(f"{leaf.parent.name}_{leaf.stem}"))
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


def extract_member(archive: Path, member: str, md5: str, tmp: Path) -> Path:
    """A file inside an archive: a zip member by name, otherwise (e.g. a Qt resource file) the
    embedded Ogg stream whose md5 is ``md5``."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            return Path(z.extract(member, tmp))
    for k, data in enumerate(carve_ogg_streams(archive.read_bytes())):
        if not md5 or hashlib.md5(data).hexdigest() == md5:
            out = tmp / f"member{k}.ogg"
            out.write_bytes(data)
            return out
    raise FileNotFoundError(f"no Ogg stream with md5 {md5} in {archive}")


def carve_ogg_streams(blob: bytes) -> list[bytes]:
    """Every complete Ogg bitstream stored uncompressed in ``blob``, by serial number, in the
    order their first pages appear (pages from the beginning-of-stream page to the end one)."""
    streams: dict[int, list[bytes]] = {}
    done: list[int] = []
    at = blob.find(b"OggS")
    while at >= 0 and at + 27 <= len(blob):
        flags = blob[at + 5]
        serial = int.from_bytes(blob[at + 14:at + 18], "little")
        n_seg = blob[at + 26]
        body = sum(blob[at + 27:at + 27 + n_seg])
        end = at + 27 + n_seg + body
        if flags & 0x02:
            streams[serial] = []
        if serial in streams and serial not in done:
            streams[serial].append(blob[at:end])
            if flags & 0x04:
                done.append(serial)
        at = blob.find(b"OggS", end if serial in streams else at + 4)
    return [b"".join(streams[s]) for s in done]


def target_of(track: Track, out_dir: Path) -> Path:
    return out_dir / (track.genre or "unlabelled") / f"{track.name}.flac"


def arrange_one(track: Track, root: Path, out_dir: Path, rate: int, cap_s: float,
                render_dir: Path) -> str:
    """Write one track's FLAC; returns ``written``, ``kept`` or why it was skipped."""
    target = target_of(track, out_dir)
    if target.is_file():
        return "kept"
    source = root / track.package / track.path
    if not source.exists():
        return f"missing {source}"
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_suffix(".part.flac")
    with tempfile.TemporaryDirectory(prefix="genrecast-arrange-") as tmp:
        if track.member:
            inputs = [extract_member(source, track.member, track.md5, Path(tmp))]
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


SETS = ("evidence", "teacher", "unlabelled")


def select(tracks: list[Track], which: str) -> list[Track]:
    """``evidence``: the evidence-labelled tracks used; ``teacher``: the teacher-labelled ones
    used; ``unlabelled``: every track without genre evidence (what the teacher listens to)."""
    if which == "unlabelled":
        return [replace(t, genre="") for t in tracks if t.label_source == "teacher"]
    return [t for t in tracks if not t.left_out and t.label_source == which]


def arrange(root: Path, out_dir: Path, rate: int = RATE_HZ, cap_s: float = CAP_SECONDS,
            render_dir: Path | None = None, jobs: int = 2, which: str = "evidence",
            link_from: Path | None = None) -> dict[str, int]:
    """Build OUT/<genre>/ (OUT/unlabelled/ for ``which="unlabelled"``) from the table; returns
    tracks per genre. ``link_from``: an ``unlabelled`` folder whose decoded files are hard-linked
    instead of decoded again."""
    tracks = select(load_table(), which)
    render_dir = render_dir or out_dir.parent / "renders" / "lmms"

    def one(t: Track) -> str:
        done = link_from / "unlabelled" / f"{t.name}.flac" if link_from else None
        target = target_of(t, out_dir)
        if done is not None and done.is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(done, target)
            return "written"
        try:
            return arrange_one(t, root, out_dir, rate, cap_s, render_dir)
        except (OSError, subprocess.CalledProcessError) as exc:
            return f"not decodable ({exc})"

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(one, tracks))
    counts: dict[str, int] = {}
    for t, r in zip(tracks, results, strict=True):
        if r in ("written", "kept"):
            counts[t.genre or "unlabelled"] = counts.get(t.genre or "unlabelled", 0) + 1
        else:
            log.warning("left out %s/%s: %s", t.package, t.path, r)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages_root", type=Path, help="one dpkg -x folder per package")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--rate", type=int, default=RATE_HZ)
    parser.add_argument("--cap-seconds", type=float, default=CAP_SECONDS)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--set", dest="which", choices=SETS, default="evidence",
                        help="which tracks (default: the evidence-labelled ones)")
    parser.add_argument("--link-from", type=Path,
                        help="an --set unlabelled folder to hard-link decoded files from")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    counts = arrange(args.packages_root, args.out_dir, args.rate, args.cap_seconds,
                     jobs=args.jobs, which=args.which, link_from=args.link_from)
    print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
