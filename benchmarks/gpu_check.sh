#!/usr/bin/env bash
# GPU check of the image pipeline (issue 4): a few minutes on one H100/H200, inside 8.
# Usage: bash benchmarks/gpu_check.sh [OUT_DIR]   (runs from a checkout; the package need not be installed)
# Writes OUT_DIR/small/{gpu_check.json,samples.png} (the small U-Net: timings, a few hundred training
# steps on upsampled digits, sampling, unlearning), OUT_DIR/paper*/gpu_check.json (the paper-size
# U-Net: per-step timings and peak memory at batch 128, at batch 64, and without attention at 16x16),
# and OUT_DIR/pipeline/ (the four `uot-unlearn cifar10` stages on a fabricated CIFAR-10 folder, with
# their wall times in OUT_DIR/pipeline_times.txt: it checks that the stages run on a GPU, not quality).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-benchmarks/out/gpu_check}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
python3 benchmarks/gpu_check.py --preset small --out "$OUT/small"
python3 benchmarks/gpu_check.py --preset paper --speed-only --out "$OUT/paper"
python3 benchmarks/gpu_check.py --preset paper --speed-only --batch 64 --out "$OUT/paper_batch64"
python3 benchmarks/gpu_check.py --preset paper --speed-only --unet '{"attn_res": []}' --out "$OUT/paper_no_attention"

python3 -c "from uot_unlearn.cifar10 import write_fake_cifar10; write_fake_cifar10('$OUT/fake_cifar10', per_class=100)"
SETTINGS=(unet_preset=small pretrain_steps=300 pretrain_batch=128 classifier_steps=300 classifier_batch=256
          classifier_width=64 precision=tf32 checkpoint_every=100 n_eval=5000 eval_batch=500 'unlearn={"steps": 100}')
for stage in pretrain classifier unlearn evaluate; do
  start=$SECONDS
  python3 -m uot_unlearn.cli cifar10 "$stage" --tiny --quiet --run-dir "$OUT/pipeline" --data "$OUT/fake_cifar10" --set "${SETTINGS[@]}"
  echo "$stage $((SECONDS - start)) s" | tee -a "$OUT/pipeline_times.txt"
done
start=$SECONDS  # the data-based UOT-Unlearn: the same step with the training images as target
python3 -m uot_unlearn.cli cifar10 unlearn --quiet --run-dir "$OUT/pipeline" --method uot-data
echo "unlearn uot-data $((SECONDS - start)) s" | tee -a "$OUT/pipeline_times.txt"
