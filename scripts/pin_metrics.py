"""Every bundle's metrics on its embedded default, with tiny settings: what tests/bundles/pinned_metrics.json pins.

A refactor must leave these numbers as they are; ``tests/bundles/test_pinned_metrics.py`` reruns each bundle and
compares. When a change is meant to move a metric, rewrite the file and say why in the commit:

    python scripts/pin_metrics.py --write tests/bundles/pinned_metrics.json

``--repo`` runs another checkout's bundle configs (with that checkout first on ``PYTHONPATH``), which is how a
before/after comparison across commits is made.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

EPOCHS = {"max_epochs": 2, "val_interval": 1, "ckpt_interval": 1}
OCT = {"image_size": 32, "latent_size": 8, "base_channels": 8, "batch_size": 8}
BRAIN = {"embedded_train": 2, "embedded_val": 1, "embedded_test_lesion": 4, "embedded_test_healthy": 1}
# per bundle: its runs, each (config files, overrides); every bundle writes metrics.json
RUNS = {
    "mnist_vae_latent": [
        (["train.yaml"], {**EPOCHS, "batch_size": 32}),
        (["train.yaml", "inference.yaml"], {}),
    ],
    "medmnist_ae_anomaly": [
        (["train.yaml"], {"max_epochs": 2, "ckpt_interval": 1, "n_anomalies": 40}),
        (["train.yaml", "evaluate.yaml"], {"n_anomalies": 40}),
    ],
    "oct_vae_anomaly": [
        (["train.yaml"], {**EPOCHS, **OCT}),
        (["train.yaml", "evaluate.yaml"], OCT),
    ],
    "isles_dwi_vae": [
        (["train.yaml"], {**EPOCHS, "n_embedded_cases": 4}),
        (["train.yaml", "inference.yaml"], {"n_embedded_cases": 4}),
    ],
    "brain_mri_anomaly": [
        (["train.yaml"], {"model": "ae3d", "max_epochs": 2, "ckpt_interval": 1, "patches_per_volume": 2, **BRAIN}),
        # the default model too: its initial weights and training anomalies are drawn after the network is built
        (["train.yaml"], {"model": "ssad3d", "max_epochs": 2, "ckpt_interval": 1, "patches_per_volume": 2, **BRAIN}),
        (["train.yaml", "evaluate.yaml"], BRAIN),
    ],
}
IN_MEMORY = ("mnist_vae_latent", "medmnist_ae_anomaly")  # sources without a cache_dir
TIMING = ("per_second", "seconds", "_time")  # machine-dependent, never pinned


def bundle_metrics(bundle: str, output_dir: Path, cache_dir: Path, repo: Path = REPO) -> dict[str, float]:
    """Run ``bundle``'s tiny runs into ``output_dir`` and return its metrics, timings left out."""
    from monai.bundle import ConfigWorkflow

    configs = repo / "bundles" / bundle / "configs"
    for files, overrides in RUNS[bundle]:
        kind = "train" if files == ["train.yaml"] else None
        settings = {"output_dir": str(output_dir), "cache_dir": str(cache_dir), **overrides}
        if bundle in IN_MEMORY:
            settings.pop("cache_dir")
        wf = ConfigWorkflow(config_file=[str(configs / f) for f in files], workflow_type=kind, **settings)
        wf.initialize()
        wf.run()
        wf.finalize()
    metrics = json.loads((output_dir / "metrics.json").read_text(encoding="utf-8"))
    return {k: v for k, v in sorted(metrics.items()) if isinstance(v, (int, float)) and not any(t in k for t in TIMING)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose bundle configs run")
    parser.add_argument("--bundles", nargs="*", default=list(RUNS))
    parser.add_argument("--write", type=Path, help="write the metrics as JSON here (other bundles in it are kept)")
    args = parser.parse_args()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for bundle in args.bundles:
            out[bundle] = bundle_metrics(bundle, Path(tmp) / bundle, Path(tmp) / "cache", args.repo)
            print(bundle, json.dumps(out[bundle]), flush=True)
    if args.write:  # repinning some bundles keeps the others' pins
        kept = json.loads(args.write.read_text(encoding="utf-8")) if args.write.is_file() else {}
        args.write.write_text(json.dumps({**kept, **out}, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
