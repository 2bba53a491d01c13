"""Arrange Debian's free recordings as genre folders for ``genrecast train``.

Rock: each Frets on Fire song folder holds stems; ``song.ogg`` (band without lead guitar) and
``guitar.ogg`` (lead guitar) are summed into one stereo recording, written as 24-bit FLAC (scaled
down only when the sum would clip). Classical: Wesnoth's orchestral soundtrack, linked as it is.

    python -m genrecast.models.arrange_recordings OUT_DIR
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

import numpy as np
import soundfile as sf
from genrecast.daemon.audio.decode import read_audio

log = logging.getLogger(__name__)

ROCK_SONGS_DIRS = (
    Path("/usr/share/games/fretsonfire/data/songs/muldjord"),
    Path("/usr/share/games/fretsonfire/data/songs/sectoid"),
)
CLASSICAL_DIR = Path("/usr/share/games/wesnoth/1.16/data/core/music")
STEMS = ("song.ogg", "guitar.ogg")
PEAK_LIMIT = 0.999  # full scale minus a hair, so 24-bit FLAC never clips


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def mix_stems(song_dir: Path) -> tuple[np.ndarray, int]:
    """Sum a song's stems (decoded by the project's own reader) into one recording."""
    parts = [read_audio(song_dir / stem) for stem in STEMS if (song_dir / stem).is_file()]
    if not parts:
        raise FileNotFoundError(f"{song_dir} holds none of {STEMS}")
    rate = parts[0][1]
    if any(r != rate for _, r in parts):
        raise ValueError(f"{song_dir}: stems have different sample rates")
    n = max(p.shape[0] for p, _ in parts)
    mix = np.zeros((n, parts[0][0].shape[1]), dtype=np.float32)
    for p, _ in parts:
        mix[: p.shape[0]] += p
    peak = float(np.max(np.abs(mix)))
    if peak > PEAK_LIMIT:
        mix *= PEAK_LIMIT / peak
    return mix, rate


def arrange(out_dir: Path) -> dict[str, int]:
    """Write OUT/rock/*.flac and link OUT/classical/*.ogg; returns tracks per genre."""
    rock = out_dir / "rock"
    classical = out_dir / "classical"
    rock.mkdir(parents=True, exist_ok=True)
    classical.mkdir(parents=True, exist_ok=True)
    for songs in ROCK_SONGS_DIRS:
        for song_dir in sorted(p for p in songs.iterdir() if p.is_dir()):
            target = rock / f"{songs.name}_{_slug(song_dir.name)}.flac"
            if target.is_file():
                continue
            mix, rate = mix_stems(song_dir)
            sf.write(str(target), mix, rate, subtype="PCM_24")
            log.info("mixed %s -> %s", song_dir, target)
    for track in sorted(CLASSICAL_DIR.glob("*.ogg")):
        link = classical / track.name
        if not link.exists():
            link.symlink_to(track)
    return {g.name: len(list(g.iterdir())) for g in (classical, rock)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    counts = arrange(args.out_dir)
    print(" ".join(f"{k}={v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
