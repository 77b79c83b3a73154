#!/usr/bin/env bash
# Makes a virtualenv with torch, transformers and pyarrow for the benchmarks (`harness bench`'s
# PyTorch reference, scripts/bench.sh). A script step, not a CI step: CI never needs torch.
#
#   scripts/install_torch.sh            # CPU torch into target/torch-venv
#   scripts/install_torch.sh cuda       # PyPI's default (CUDA) torch, for scripts/gpu_bench.sh
#
# Prints the interpreter to pass as `harness bench --python`.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-cpu}
venv=${TORCH_VENV:-target/torch-venv}
python3 -m venv "$venv"
pip=("$venv/bin/pip" install --quiet --disable-pip-version-check)
if [[ $flavour == cpu ]]; then
  # CPU wheels from PyTorch's index where it is reachable, else PyPI's (CUDA) wheel, which runs on CPUs too.
  "${pip[@]}" torch --index-url https://download.pytorch.org/whl/cpu || "${pip[@]}" torch
else
  "${pip[@]}" torch
fi
"${pip[@]}" transformers pyarrow numpy
"$venv/bin/python" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__, "cuda", torch.cuda.is_available())' >&2
echo "$venv/bin/python"
