#!/usr/bin/env bash
# The main job on the embedded default data: sets up .venv, generates (once, cached) the MNI152-based brain
# population, trains the three brain_mri_anomaly models within a fixed training budget, evaluates them beside the
# intensity-thresholding baseline, then prints the comparison table and where the outputs are.
# Extra arguments are bundle overrides for every step, e.g.
#   bash scripts/demo.sh --output_dir runs/demo2 --seed 1
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="$(bash "$root/scripts/setup_env.sh" demo)"
configs="$root/bundles/brain_mri_anomaly/configs"
out="$root/runs/brain_mri_anomaly"
cd "$root"
run() { "$py" -m monai.bundle run --logging_file "$configs/logging.conf" --output_dir "$out" "$@"; }
# training budget on 2 CPU cores: ~2 min for the default model, ~1 min for each comparison model
run --config_file "$configs/train.yaml" --model ae3d --max_epochs "${DEMO_EPOCHS_AE3D:-50}" "$@"
run --config_file "$configs/train.yaml" --model vae3d --max_epochs "${DEMO_EPOCHS_VAE3D:-30}" "$@"
run --config_file "$configs/train.yaml" --model ae2d --max_epochs "${DEMO_EPOCHS_AE2D:-15}" "$@"
run --config_file "['$configs/train.yaml','$configs/evaluate.yaml']" "$@"
"$py" - "$out" "$@" <<'PY'
import sys
out = sys.argv[1]
args = sys.argv[2:]
if "--output_dir" in args:
    out = args[args.index("--output_dir") + 1]
table = open(f"{out}/comparison.md").read().split("## Settings")[0]
print("\n" + table)
print(f"outputs in {out}:")
print("  comparison.md, metrics.json, roc_pr.png, evaluation_settings.json")
print("  maps/<case>_anomaly.nii.gz (default model; open over the input in ITK-SNAP or 3D Slicer), overlays/<case>.png")
print("  <model>/model.pt, <model>/checkpoints/, <model>/train_summary.json, <model>/tensorboard/")
PY
