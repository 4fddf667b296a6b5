"""The embedded OCT default: SYNTHETIC B-scans in the real Kermany OCT2017 layout, generated once and cached.

No OCT data can be downloaded here, so the OCT bundle's default is a tree of procedural B-scans
(:mod:`medmonai.data.synthetic.retina`): ``OCT2017/{train,test}/{CNV,DME,DRUSEN,NORMAL}/<CLASS>-<patient>-<n>.jpeg``,
each patient with its own retina. The Kermany reader then reads it like the real data. Numbers measured on it
show that the workflow runs and separates the phantoms' findings; they say nothing about real OCT.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from medmonai.data.cache import cached_folder
from medmonai.data.synthetic.retina import OCT_CLASSES, random_anatomy, retina_bscan
from medmonai.data.synthetic.template import generator_version
from medmonai.errors import ConfigError

__all__ = ["embedded_oct"]

_SOURCES = (Path(__file__).with_name("retina.py"), Path(__file__))


def embedded_oct(
    cache_dir: str | Path | None = None,
    normal_patients: int = 40,
    test_patients: int = 25,
    scans_per_patient: int = 8,
    seed: int = 0,
) -> Path:
    """Return the ``OCT2017`` folder of the embedded synthetic data set, generating it on first use.

    Training holds ``normal_patients`` NORMAL patients with ``scans_per_patient`` scans each, and two patients of
    each disease with two scans (the layout has every class in both splits; the bundle trains on NORMAL only).
    Testing holds ``test_patients`` patients per class with two scans each.

    Args:
        cache_dir: where generated data sets live. Defaults to ``$MEDMONAI_CACHE`` or ``~/.cache/medmonai``.
        normal_patients: NORMAL training patients, >= 2. Defaults to 40.
        test_patients: test patients per class, >= 1. Defaults to 25.
        scans_per_patient: scans per NORMAL training patient, >= 1. Defaults to 8.
        seed: generation seed. Defaults to 0.

    Raises:
        ConfigError: counts out of range.
    """
    if normal_patients < 2 or test_patients < 1 or scans_per_patient < 1:
        raise ConfigError(
            "embedded OCT needs normal_patients >= 2, test_patients >= 1 and scans_per_patient >= 1, got "
            f"{normal_patients}, {test_patients} and {scans_per_patient}"
        )
    counts = f"n{normal_patients}x{scans_per_patient}_t{test_patients}"
    plan = {
        "train": {name: (normal_patients, scans_per_patient) if name == "NORMAL" else (2, 2) for name in OCT_CLASSES},
        "test": {name: (test_patients, 2) for name in OCT_CLASSES},
    }

    def write(staging: Path) -> None:
        for split_index, (split, classes) in enumerate(plan.items()):
            for class_index, (name, (patients, scans)) in enumerate(classes.items()):
                folder = staging / "OCT2017" / split / name
                folder.mkdir(parents=True)
                for p in range(patients):
                    patient = 100000 * (split_index + 1) + 1000 * class_index + p
                    rng = np.random.default_rng([seed, patient])
                    anatomy = random_anatomy(rng)
                    for n in range(scans):
                        image = Image.fromarray(retina_bscan(name, rng, anatomy))
                        image.save(folder / f"{name}-{patient}-{n}.jpeg", quality=90)
        (staging / "generation.json").write_text(json.dumps({"synthetic": True, "seed": seed, "plan": plan}, indent=1))

    name = f"oct_synthetic_{generator_version(_SOURCES)}_{counts}_seed{seed}"
    announce = "generating the embedded synthetic OCT data set"
    return cached_folder(cache_dir, name, "OCT2017", write, announce) / "OCT2017"
