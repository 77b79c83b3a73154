#!/usr/bin/env bash
# GPU benchmark (BENCHMARKS.md, "GPU"): builds harness with CUDA, runs a short sweep on the GPU,
# then times the default model and a ProtBert-sized encoder (hidden 1024, 16 heads, 30 layers,
# seq 512) against PyTorch on the same GPU. Needs nvcc and a CUDA GPU; run from anywhere.
#
#   scripts/gpu_bench.sh [PYTHON]   # PYTHON with CUDA torch + transformers; default: makes one
#                                   # with `scripts/install_torch.sh cuda` in target/torch-venv-cuda
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
py=${1:-}
if [[ -z $py ]]; then
  py=$(TORCH_VENV=target/torch-venv-cuda scripts/install_torch.sh cuda)
fi
"$py" -c 'import torch; assert torch.cuda.is_available(), "torch sees no GPU"'
cargo build --release --features cuda
h=target/release/harness
out=target/gpu-bench
rm -rf "$out"

echo "== short sweep on the GPU (phi_grid, 2 x 2 x 1 runs of 300 steps)"
$h sweep experiments/phi_grid.toml --device cuda --jobs 2 --out "$out" train.steps=300 \
  'sweep.grid.loss.phi=[0.0,100.0]' 'sweep.grid.optim.lr=[5e-4,1e-2]' 'sweep.grid.seed=[0]'

echo "== default model, ms/step, harness vs PyTorch on the same GPU"
$h bench experiments/phi_grid.toml --device cuda --python "$py" --jobs 1 --steps 300 --warmup 50 --repeats 5

echo "== ProtBert-sized encoder: hidden 1024, 16 heads, 30 layers, intermediate 4096, seq 512"
$h bench experiments/phi_grid.toml --device cuda --python "$py" --jobs 1 --steps 40 --warmup 10 --repeats 3 \
  model.hidden_size=1024 model.num_heads=16 model.num_layers=30 model.intermediate_size=4096 \
  model.max_position=512 data.min_len=512 data.max_len=512 'model.head_sizes=[512,128,64]'
