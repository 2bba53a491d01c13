#!/usr/bin/env bash
# Rebuild both shipped models (models/default.* at 400 Hz, models/wide.* at 16 kHz) from a clean
# clone on a Debian/Ubuntu machine, without the teacher (its labels are data:
# models/teacher_labels.tsv, made once by models/teacher_labels.py):
#   1. download the Debian packages models/recordings.toml uses (apt-get download, dpkg -x:
#      nothing is installed but lmms, which renders the LMMS demo projects; without root and
#      without lmms those tracks are left out with a warning)
#   2. arrange the evidence-labelled genre folders and the teacher-labelled ones
#      (models/arrange_recordings.py)
#   3. grouped 5-fold leave-out of each recipe (benchmarks/grouped_leave_out.py): the figures
#      the cards and the README report, measured on packages each fold's model never heard
#   4. train each model on every package and write its card (models/build_models.py)
#
#   bash models/rebuild_default.sh
# Environment: VENV (default .venv), WORK (default build), SEED, EPOCHS, MAX_WINDOWS (and
# WIDE_EPOCHS, WIDE_MAX_WINDOWS for the wide model);
# ARRANGE_ONLY=1 stops after step 2; TEACHER=0 trains on the evidence labels only;
# ONLY=default|wide rebuilds one model.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
WORK=${WORK:-build}
SEED=${SEED:-0}
EPOCHS=${EPOCHS:-8}
MAX_WINDOWS=${MAX_WINDOWS:-12000}
WIDE_EPOCHS=${WIDE_EPOCHS:-6}
WIDE_MAX_WINDOWS=${WIDE_MAX_WINDOWS:-8000}
ONLY=${ONLY:-}
export VENV
start=$(date +%s)
say() { echo "rebuild: $* after $(( $(date +%s) - start )) s" >&2; }

bash .ci/setup test   # the venv with the train extra (and ffmpeg)
PACKAGES=($("$VENV/bin/python" - <<'PY'
from genrecast.models.arrange_recordings import load_table
print(" ".join(sorted({t.package for t in load_table() if not t.left_out})))
PY
))

mkdir -p "$WORK/debs" "$WORK/pkgs"
need=()
for p in "${PACKAGES[@]}"; do [ -d "$WORK/pkgs/$p" ] || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] && apt-get update -qq
  (cd "$WORK/debs" && apt-get download -q "${need[@]}")
  for p in "${need[@]}"; do dpkg -x "$WORK"/debs/"${p}"_*.deb "$WORK/pkgs/$p"; done
fi
if ! command -v lmms >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lmms >/dev/null
  else
    echo "rebuild: lmms is not installed; the LMMS demo tracks will be left out" >&2
  fi
fi
say "${#PACKAGES[@]} packages unpacked"

arrange() { nice -n 10 "$VENV/bin/python" -m genrecast.models.arrange_recordings "$WORK/pkgs" "$@"; }
arrange "$WORK/recordings5" --set evidence
arrange "$WORK/teacher5" --set teacher
say "arranged"
[ "${ARRANGE_ONLY:-0}" = 1 ] && exit 0

teacher=() build_teacher=()
if [ "${TEACHER:-1}" = 1 ]; then
  teacher=(--teacher-data "$WORK/teacher5") build_teacher=(--teacher "$WORK/teacher5")
fi
for which in default wide; do
  [ -n "$ONLY" ] && [ "$ONLY" != "$which" ] && continue
  budget=(--epochs "$EPOCHS" --max-windows "$MAX_WINDOWS") wide=()
  if [ "$which" = wide ]; then
    budget=(--epochs "$WIDE_EPOCHS" --max-windows "$WIDE_MAX_WINDOWS") wide=(--wide)
  fi
  nice -n 10 "$VENV/bin/python" benchmarks/grouped_leave_out.py "$WORK/recordings5" "${teacher[@]}" \
    "${wide[@]}" "${budget[@]}" --k 5 --seed "$SEED" \
    --teacher-calls models/teacher_zero_shot.json --json "$WORK/grouped_$which.json" \
    | tee "$WORK/grouped_$which.md"
  say "$which: grouped leave-out"
  nice -n 10 "$VENV/bin/python" -m genrecast.models.build_models "$which" "$WORK/recordings5" \
    "${build_teacher[@]}" --leave-out "$WORK/grouped_$which.json" --out "models/$which" \
    "${budget[@]}" --seed "$SEED"
  "$VENV/bin/genrecast" model "models/$which.tflite"
  say "$which: built"
done
say "done"
