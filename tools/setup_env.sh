#!/usr/bin/env bash
# Create .venv with pyNN.neurongpu and the example dependencies; on a machine with an
# NVIDIA driver, also CuPy for the driver's CUDA major version, so the GPU is used.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
extras="examples"
if command -v nvidia-smi >/dev/null 2>&1; then
    cuda=$(nvidia-smi | sed -n 's/.*CUDA Version: \([0-9]*\).*/\1/p' | head -n1)
    if [ "${cuda:-0}" -ge 13 ]; then extras="$extras,cuda13"; elif [ "${cuda:-0}" -ge 12 ]; then extras="$extras,cuda12"; fi
fi
echo "installing pyNN.neurongpu[$extras]"
.venv/bin/pip install -q ".[$extras]"
