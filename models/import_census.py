"""Add the census of Debian music packages to ``models/recordings.toml``.

The census (a table of every track in 126 Debian packages, with a genre where the package gives
evidence for one) is turned into ``[[track]]`` rows after the eleven seed packages' rows:

- evidence labels (``confidence`` high, medium, or a tracker module's format) that name one of the
  five genres become ``label_source = "evidence"`` rows: the only rows any figure is measured on;
- tracks whose genre nothing states (``unknown``, and the file-name-only ``low`` labels) become
  ``label_source = "teacher"`` rows: their genre is the teacher's (``models/teacher_labels.tsv``),
  or they are left out when the teacher was not confident and consistent;
- other styles (piano, blues, reggae, world ...), copies (``duplicate_of``, or a file whose md5 was
  seen already) and the census's "not recordings" are left out, each with its reason.

Every row carries ``group``: the composer group it shares with other packages (census README),
so that grouped splits keep a composer on one side. Rerun after the teacher:

    python -m genrecast.models.import_census CENSUS/tracks.tsv [--teacher models/teacher_labels.tsv]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from .arrange_recordings import TABLE

CENSUS_MARKER = "# ---- census: rows below are written by models/import_census.py ----"
GENRES = ("ambient", "chiptune", "classical", "electronic", "rock")
# census genre -> ours, for evidence labels only; anything else is another style (left out)
GENRE_MAP = {
    "ambient": "ambient", "chiptune": "chiptune", "classical": "classical",
    "classical/orchestral": "classical", "orchestral": "classical", "classical (opera)": "classical",
    "electronic": "electronic", "rock": "rock",
}
EVIDENCE_CONFIDENCE = ("high", "medium", "format")
# Shared composers (census README, "Traps"): each group stays on one side of every split.
COMPOSER_GROUPS = {
    "toscano": ("pingus-data", "extremetuxracer-data", "adonthell-data"),
    "kenta-cho": ("a7xpg-data", "noiz2sa-data", "rrootage-data", "parsec47-data",
                  "torus-trooper-data", "titanion-data", "gunroar-data", "mu-cade-data",
                  "tumiki-fighters-data", "a7xpg", "noiz2sa", "rrootage", "parsec47",
                  "torus-trooper", "titanion", "gunroar", "mu-cade", "tumiki-fighters"),
    "kevin-macleod": ("hedgewars-data", "lordsawar-data"),
    "pajama-crisis": ("orbital-eunuchs-sniper-data", "tuxmath-data", "tuxtype-data"),
    "remaxim": ("flare-game", "hex-a-hop-data"),
    "daniel-roux": ("colobot-common-sounds", "planetblupi-music-ogg"),
    "nutcase": ("bugsquish", "madbomber-data"),
    "roz": ("circuslinux-data", "rockdodger"),
    "dietrich-radel": ("trackballs-data", "blockattack"),
    "martin-gerhardy": ("caveexpress-data", "cavepacker-data"),
    "teeworlds": ("teeworlds-data", "ddnet-data"),
    "pinball": ("pinball-data", "pinball-table-hurd-data"),
    "frozen-bubble": ("fb-music-high", "frozen-bubble-data"),
}
# Census README, "Not recordings" / "Not decodable as shipped".
EXCLUDED_PACKAGES = {
    "planetblupi-music-ogg": "may be a render of its MIDI twin (census: unverified), so not a recording",
    "powermanga-data": "its .zik music is not decodable as shipped",
    "kball-data": "its music sits in a packed datafile, not decodable as shipped",
}

# Same composition, other file (census README): one version each.
VARIANTS = (
    ("_UltraSlow", "a tempo variant of another track (census), used once"),
    ("_Slow", "a tempo variant of another track (census), used once"),
    ("music/sequencer/", "a stem of a tune, not a full mix (census)"),
)


def group_of(package: str) -> str:
    for group, members in COMPOSER_GROUPS.items():
        if package in members:
            return group
    return package


def split_member(path: str) -> tuple[str, str]:
    """``archive::member`` or ``archive!member`` → (archive, member); a plain path → (path, "")."""
    for sep in ("::", "!"):
        if sep in path:
            archive, member = path.split(sep, 1)
            return archive, member
    return path, ""


def read_teacher(path: Path | None) -> dict[tuple[str, str], tuple[str, str]]:
    """{(package, path): (genre or "", why)} from the teacher's TSV."""
    if path is None or not path.is_file():
        return {}
    out = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            out[(row["package"], row["path"])] = (row["genre"], row["why"])
    return out


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rows(census: Path, teacher: dict[tuple[str, str], tuple[str, str]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    seen_md5: dict[str, str] = {}
    with census.open(newline="") as f:
        table = list(csv.DictReader(f, delimiter="\t"))
    for r in table:
        pkg, full = r["package"], r["path_in_package"]
        path, member = split_member(full)
        row = {"package": pkg, "path": path, "member": member, "licence": r["licence"],
               "group": group_of(pkg), "md5": r["md5"], "genre": "", "label_source": "evidence"}
        census_genre, conf = r["genre"].strip(), r["confidence"].strip()
        # the census's duplicate_of names byte-identical files: the md5 finds them all
        copy_of = seen_md5.get(r["md5"], "")
        variant = next((why for pattern, why in VARIANTS if pattern in full), "")
        if pkg in EXCLUDED_PACKAGES:
            row.update(left_out="true", why=EXCLUDED_PACKAGES[pkg])
        elif r["format"].startswith("raw"):
            row.update(left_out="true", why=f"headerless PCM ({r['format']}): no decoder can "
                       "tell its format from the file")
        elif variant:
            row.update(left_out="true", why=variant)
        elif copy_of:
            row.update(left_out="true", why=f"a copy of {copy_of} (census md5), used once")
        elif conf in EVIDENCE_CONFIDENCE and census_genre in GENRE_MAP:
            row.update(genre=GENRE_MAP[census_genre],
                       why=f"census ({conf}): {r['evidence'].strip()}")
        elif conf in EVIDENCE_CONFIDENCE or (conf == "low" and census_genre not in GENRE_MAP
                                               and census_genre != "unknown"):
            row.update(left_out="true",
                       why=f"another style ({census_genre}), not one of the five genres")
        else:
            label, why = teacher.get((pkg, full), ("", "the teacher has not labelled it yet"))
            row.update(label_source="teacher", genre=label,
                       why=f"no genre evidence ({r['evidence'].strip()}); teacher: {why}")
            if not label:
                row["left_out"] = "true"
        seen_md5.setdefault(r["md5"], f"{pkg}:{full}")
        out.append(row)
    return out


def render(rows_: list[dict[str, str]]) -> str:
    lines = [CENSUS_MARKER, ""]
    for r in rows_:
        lines.append("[[track]]")
        for key in ("package", "path", "member", "genre", "label_source", "group", "licence",
                    "md5", "left_out", "why"):
            if key not in r or (key in ("member",) and not r[key]):
                continue
            value = r[key]
            lines.append(f"{key} = {value}" if key == "left_out" else f"{key} = {_q(value)}")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("census", type=Path, help="the census's tracks.tsv")
    ap.add_argument("--teacher", type=Path, default=TABLE.with_name("teacher_labels.tsv"))
    ap.add_argument("--table", type=Path, default=TABLE)
    args = ap.parse_args()
    if not args.census.is_file():
        sys.exit(f"import_census: {args.census} does not exist; pass the census's tracks.tsv")
    text = args.table.read_text()
    head = text.split(CENSUS_MARKER, 1)[0].rstrip("\n") + "\n\n"
    new = rows(args.census, read_teacher(args.teacher))
    args.table.write_text(head + render(new))
    counts: dict[str, int] = {}
    for r in new:
        key = "left_out" if r.get("left_out") else f"{r['label_source']}:{r['genre']}"
        counts[key] = counts.get(key, 0) + 1
    print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))



if __name__ == "__main__":
    main()
