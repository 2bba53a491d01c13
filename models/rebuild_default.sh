#!/usr/bin/env bash
# Rebuild the shipped models from scratch on a fresh Debian/Ubuntu machine:
#   models/default.{tflite,json} + plots             (the default architecture, conv2d)
#   models/classical-rock-conv2d.*                   (the same model under its architecture's name)
#   models/classical-rock-specnet.* + plots          (the light model for many-stream hosts)
# from Debian's free recordings: Frets on Fire rock songs (song.ogg + guitar.ogg stems mixed) and
# Wesnoth's orchestral soundtrack (labelled classical). Same inputs and seed give the same model.
#
#   bash models/rebuild_default.sh            (run as root to install the packages, or install
#                                               them first: see PACKAGES below)
# Environment: VENV (default .venv), WORK (default build/recordings), ARCH, EPOCHS, SEED.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(fretsonfire-songs-muldjord fretsonfire-songs-sectoid wesnoth-1.16-music)
VENV=${VENV:-.venv}
WORK=${WORK:-build/recordings}
ARCH=${ARCH:-conv2d}
EPOCHS=${EPOCHS:-20}
SEED=${SEED:-0}
export VENV

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "rebuild: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "rebuild: please install these Debian packages first: ${missing[*]}" >&2
    exit 69
  fi
fi

bash .ci/setup test   # the venv with the train extra
start=$(date +%s)
"$VENV/bin/python" -m genrecast.models.arrange_recordings "$WORK"

common=("$WORK" --seed "$SEED" --epochs "$EPOCHS" --test-fraction 0.25)
"$VENV/bin/genrecast" train "${common[@]}" --arch "$ARCH" --out models/default
# The default is the Conv2D architecture: training it again under the other name would give the
# same bytes (training is deterministic), so the file is copied and only the card's name changes.
for s in .tflite -confusion.png -curves.png; do cp "models/default$s" "models/classical-rock-conv2d$s"; done
"$VENV/bin/python" - <<'PY'
import json
card = json.load(open("models/default.json"))
card["name"] = "classical-rock-conv2d"
card["plots"] = {k: v.replace("default", "classical-rock-conv2d") for k, v in card["plots"].items()}
json.dump(card, open("models/classical-rock-conv2d.json", "w"), indent=2)
PY
"$VENV/bin/genrecast" train "${common[@]}" --arch specnet --out models/classical-rock-specnet
"$VENV/bin/genrecast" evaluate models/default.tflite "$WORK" --gains
echo "rebuild: done in $(( $(date +%s) - start )) s (after setup)" >&2
