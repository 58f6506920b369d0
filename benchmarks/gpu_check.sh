#!/usr/bin/env bash
# GPU check of the image pipeline (issue 4): a few minutes on one H100/H200, inside 8.
# Usage: bash benchmarks/gpu_check.sh [OUT_DIR]   (runs from a checkout; the package need not be installed)
# Writes OUT_DIR/small/{gpu_check.json,samples.png} (the small U-Net: timings, a few hundred training
# steps on upsampled digits, sampling, unlearning) and OUT_DIR/paper/gpu_check.json (the paper-size
# U-Net: per-step timings only).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-benchmarks/out/gpu_check}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
python3 benchmarks/gpu_check.py --preset small --out "$OUT/small"
python3 benchmarks/gpu_check.py --preset paper --speed-only --out "$OUT/paper"
