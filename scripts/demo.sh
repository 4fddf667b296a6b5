#!/usr/bin/env bash
# The main job on the embedded default data: sets up .venv, trains and evaluates mnist_vae_latent,
# then prints the metrics and where the outputs are. Extra arguments are bundle overrides, e.g.
#   bash scripts/demo.sh --digits all --latent_size 8 --output_dir runs/digits_all
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="$(bash "$root/scripts/setup_env.sh" demo)"
bundle="$root/bundles/mnist_vae_latent/configs"
out="$root/runs/mnist_vae_latent"
cd "$root"
"$py" -m monai.bundle run --config_file "$bundle/train.yaml" --output_dir "$out" "$@"
"$py" -m monai.bundle run --config_file "$bundle/inference.yaml" --output_dir "$out" "$@"
"$py" - "$out" "$@" <<'PY'
import json, sys
out = sys.argv[1]
args = sys.argv[2:]
if "--output_dir" in args:
    out = args[args.index("--output_dir") + 1]
metrics = json.load(open(f"{out}/metrics.json"))
print("\nmnist_vae_latent metrics:")
for key, value in sorted(metrics.items()):
    print(f"  {key:28s} {value}")
print(f"\noutputs in {out}: metrics.json, latent_scatter.png, reconstructions.png, samples.png,")
print(f"  model.pt, train_summary.json, checkpoints/, tensorboard/  (tensorboard --logdir {out}/tensorboard)")
PY
