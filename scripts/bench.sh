#!/usr/bin/env bash
# The CPU benchmarks of BENCHMARKS.md ("Training step against PyTorch"), in one go:
#   1. `harness bench` on the default model and on a wider one (hidden 256, 4 layers, seq 256):
#      harness with statistics on / off, the PyTorch reference on the same batches, 2 runs at once;
#   2. peak RSS of one run of 1,000 and of 20,000 steps;
#   3. `harness detect` on a 1,000,000-row metrics.parquet.
#
#   scripts/install_torch.sh                 # once: target/torch-venv with torch, transformers, pyarrow
#   scripts/bench.sh [PYTHON] [REPEATS]      # PYTHON defaults to target/torch-venv/bin/python
#
# Same build as README's `cargo run` (dev profile). Takes ~15 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${1:-target/torch-venv/bin/python}
repeats=${2:-5}
"$py" -c 'import torch, transformers, pyarrow' || { echo "$py lacks torch/transformers/pyarrow: run scripts/install_torch.sh" >&2; exit 2; }
cargo build --quiet
h=target/debug/harness
out=target/bench
rm -rf "$out" && mkdir -p "$out"
echo "== $(date -u +%F), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== default model (experiments/phi_grid.toml)"
$h bench experiments/phi_grid.toml --python "$py" --repeats "$repeats"
echo "== wider model: hidden 256, 4 layers, 4 heads, intermediate 1024, seq 256"
$h bench experiments/phi_grid.toml --python "$py" --repeats "$repeats" --steps 60 --warmup 10 \
  model.hidden_size=256 model.num_layers=4 model.intermediate_size=1024 model.max_position=256 \
  data.min_len=256 data.max_len=256

echo "== peak RSS of one run (phi 0, lr 5e-4, seed 0), sweep and report included"
for steps in 1000 20000; do
  /usr/bin/time -f "$steps steps: peak RSS %M KB, %e s wall" $h sweep experiments/phi_grid.toml \
    --out "$out/rss$steps" --jobs 1 train.steps=$steps \
    'sweep.grid.loss.phi=[0.0]' 'sweep.grid.optim.lr=[5e-4]' 'sweep.grid.seed=[0]' > /dev/null
done

echo "== harness detect on 1,000,000 rows (the 20,000-step run's metrics tiled 50x, collapsed from row 700,000)"
"$py" - "$out"/rss20000/phi_grid/runs/*/metrics.parquet "$out/big.parquet" <<'PY'
import sys
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
src, dst = sys.argv[1], sys.argv[2]
t = pq.read_table(src)
n = t.num_rows
parts = []
for i in range(1_000_000 // n):
    part = t.set_column(t.schema.get_field_index("step"), "step", pc.add(t["step"], i * n))
    if i * n >= 700_000:
        part = part.set_column(part.schema.get_field_index("pred_std"), "pred_std", pc.multiply(part["pred_std"], 1e-6))
    parts.append(part)
big = pa.concat_tables(parts)
pq.write_table(big, dst, row_group_size=4096)
print(f"{big.num_rows} rows x {big.num_columns} columns -> {dst}")
PY
for i in 1 2 3 4 5; do
  /usr/bin/time -f "detect: %e s wall, peak RSS %M KB" $h detect "$out/big.parquet" > "$out/detect.txt"
done
cat "$out/detect.txt"
