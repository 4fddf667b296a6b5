"""The simulated population: layout, seeded determinism, the planted factors seen in the volumes, genotypes, truth."""

import csv
import json
import os

import nibabel as nib
import numpy as np
import pytest
from scipy import stats

from medmonai.data.synthetic import simulate_population
from medmonai.data.synthetic.population import CAUSAL_EFFECTS, SITES
from medmonai.errors import ConfigError

SMALL = dict(n_subjects=60, shape=(40, 48, 40), seed=1, n_variants=50)  # the default grid, fewer subjects
TINY = dict(n_subjects=20, shape=(24, 28, 24), n_variants=10)  # for determinism and caching
COLUMNS = ["subject_id", "image", "age", "sex", "site", "subgroup", "severity", "atrophy", "ventricle_atrophy"]
COLUMNS += ["head_scale", "brain_ml", "ventricle_ml"]
VENTRICLES = ((-18.0, -30.0, 10.0), (18.0, 10.0, 25.0))  # MNI box around the bodies of the lateral ventricles
LEFT_TEMPORAL, RIGHT_TEMPORAL = ((-70.0, -45.0, -40.0), (-20.0, 10.0, 0.0)), ((20.0, -45.0, -40.0), (70.0, 10.0, 0.0))
FRONTAL_WHITE = ((-40.0, 10.0, 10.0), (40.0, 40.0, 35.0))


def read_csv(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    """The small population: folder, manifest columns as arrays, genotypes, truth, volumes and their affine."""
    folder = simulate_population(tmp_path_factory.mktemp("cache"), **SMALL)
    rows = read_csv(folder / "manifest.csv")
    table = {key: np.array([row[key] for row in rows]) for key in rows[0]}
    for key in COLUMNS[2:]:
        table[key] = table[key].astype(float)
    images = [nib.load(folder / row["image"]) for row in rows]
    return {
        "folder": folder,
        "columns": list(rows[0]),
        "table": table,
        "genotypes": read_csv(folder / "genotypes.csv"),
        "truth": json.loads((folder / "truth.json").read_text(encoding="utf-8")),
        "images": images,
        "stack": np.stack([np.asarray(image.dataobj, np.float32) for image in images]),
        "affine": images[0].affine,
    }


def box(affine, corners):
    """Voxel slices (with the subject axis first) of the box between two MNI corners."""
    inverse = np.linalg.inv(affine)
    low, high = ((inverse @ [*corner, 1.0])[:3] for corner in corners)
    return (slice(None),) + tuple(
        slice(int(np.floor(min(i, j))), int(np.ceil(max(i, j))) + 1) for i, j in zip(low, high, strict=True)
    )


def normalised(stack):
    """Each volume over its brain's 95th percentile (about white matter, whatever the site), and the brain masks."""
    inside = stack > 0
    scale = np.array([np.percentile(volume[mask], 95) for volume, mask in zip(stack, inside, strict=True)])
    return stack / scale[:, None, None, None], inside


def dosages(population, variant):
    return np.array([int(row[variant]) for row in population["genotypes"]])


def test_layout_manifest_and_volumes(population):
    folder, table, truth = population["folder"], population["table"], population["truth"]
    assert population["columns"] == COLUMNS
    assert len(set(table["subject_id"])) == 60 and list(table["image"][:2]) == [
        "volumes/sub000.nii.gz",
        "volumes/sub001.nii.gz",
    ]
    assert sorted(p.name for p in (folder / "volumes").iterdir()) == [f"sub{i:03d}.nii.gz" for i in range(60)]
    image = population["images"][0]
    assert image.shape == (40, 48, 40) and image.get_data_dtype() == np.int16
    voxel = np.abs(np.diag(population["affine"])[:3])
    np.testing.assert_allclose(voxel, truth["voxel_mm"], rtol=1e-4)
    assert 4.0 < truth["voxel_mm"] < 4.5  # the brain plus a margin fills the 40x48x40 grid
    centre = population["affine"] @ [19.5, 23.5, 19.5, 1.0]
    assert np.all(np.abs(centre[:3] - [0.0, -18.0, 5.0]) < 15.0)  # the grid's centre is the brain's, in MNI mm
    assert set(np.unique(table["sex"])) == {0, 1} and set(np.unique(table["site"])) <= set(range(len(SITES)))
    assert np.all((table["age"] >= 45) & (table["age"] <= 80))
    assert set(np.unique(table["subgroup"])) == {0, 1, 2} and np.mean(table["subgroup"] == 0) > 0.4
    affected = table["subgroup"] > 0
    assert np.all(table["severity"][~affected] == 0) and np.all(table["severity"][affected] >= 0.5)
    assert truth["synthetic"] is True and truth["n_subjects"] == 60 and truth["shape"] == [40, 48, 40]


def test_same_seed_same_bytes_other_seed_other_population(tmp_path):
    first = simulate_population(tmp_path / "a", seed=3, **TINY)
    second = simulate_population(tmp_path / "b", seed=3, **TINY)
    other = simulate_population(tmp_path / "c", seed=4, **TINY)
    assert first.name == second.name and first.name != other.name
    for name in ("manifest.csv", "genotypes.csv", "truth.json", "volumes/sub007.nii.gz"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / "manifest.csv").read_bytes() != (other / "manifest.csv").read_bytes()
    assert (first / "volumes/sub007.nii.gz").read_bytes() != (other / "volumes/sub007.nii.gz").read_bytes()


def test_second_call_returns_the_cached_folder_untouched(tmp_path):
    folder = simulate_population(tmp_path, seed=5, **TINY)
    stamps = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    assert simulate_population(tmp_path, seed=5, **TINY) == folder
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == stamps
    assert os.listdir(tmp_path) == [folder.name]  # no staging folder left beside it


def test_csf_grows_with_age_and_ventricles_with_their_factor(population):
    table = population["table"]
    image, inside = normalised(population["stack"])
    csf_fraction = ((image < 0.4) & inside).sum((1, 2, 3)) / inside.sum((1, 2, 3))
    assert np.corrcoef(table["age"], csf_fraction)[0, 1] > 0.8  # shrinkage, cortical thinning, ventricles
    region = box(population["affine"], VENTRICLES)
    ventricle_volume = ((image < 0.55) & inside)[region].sum((1, 2, 3))
    assert np.corrcoef(table["ventricle_atrophy"], ventricle_volume)[0, 1] > 0.7
    assert np.corrcoef(table["ventricle_ml"], ventricle_volume)[0, 1] > 0.7
    assert np.corrcoef(table["age"], table["ventricle_ml"])[0, 1] > 0.4  # age, diluted by the ventricle variants


def test_head_size_follows_head_scale_and_differs_by_sex(population):
    table = population["table"]
    intracranial = (population["stack"] > 0).sum((1, 2, 3))
    assert np.corrcoef(table["head_scale"], intracranial)[0, 1] > 0.95
    female, male = intracranial[table["sex"] == 1], intracranial[table["sex"] == 0]
    assert female.mean() < male.mean() and stats.ttest_ind(female, male).pvalue < 1e-4


def test_site_shifts_intensity(population):
    table, stack = population["table"], population["stack"]
    medians = np.array([np.median(volume[volume > 0]) for volume in stack])
    groups = [medians[table["site"] == site] for site in range(len(SITES))]
    assert stats.f_oneway(*groups).pvalue < 1e-8
    brightness = [site.gain * site.means[2] for site in SITES]  # white matter dominates the brain's median
    assert np.argsort([g.mean() for g in groups]).tolist() == np.argsort(brightness).tolist()


def test_subgroup_patterns_are_where_documented(population):
    table = population["table"]
    image, inside = normalised(population["stack"])
    dark = (image < 0.4) & inside
    left, right = (dark[box(population["affine"], side)].mean((1, 2, 3)) for side in (LEFT_TEMPORAL, RIGHT_TEMPORAL))
    asymmetry = left - right  # left temporal atrophy: CSF where the left temporal lobe was
    healthy, temporal, lesions = (table["subgroup"] == k for k in (0, 1, 2))
    assert stats.ttest_ind(asymmetry[temporal], asymmetry[healthy]).statistic > 6
    frontal = box(population["affine"], FRONTAL_WHITE)
    brightness = np.array([volume[mask].mean() for volume, mask in zip(image[frontal], inside[frontal], strict=True)])
    assert stats.ttest_ind(brightness[healthy], brightness[lesions]).statistic > 4  # darker white matter


def test_genotypes_are_hardy_weinberg_dosages_with_the_documented_frequencies(population):
    genotypes, truth = population["genotypes"], population["truth"]
    variants = list(genotypes[0])[1:]
    assert len(variants) == 50 and variants[:2] == ["var000", "var001"]
    assert [row["subject_id"] for row in genotypes] == list(population["table"]["subject_id"])
    matrix = np.array([[int(row[v]) for v in variants] for row in genotypes])
    assert matrix.shape == (60, 50) and set(np.unique(matrix)) == {0, 1, 2}
    maf = np.array([truth["genotypes"]["maf"][v] for v in variants])
    assert np.all((maf >= 0.05) & (maf <= 0.5))
    standard_error = np.sqrt(maf * (1 - maf) / (2 * 60))
    assert np.all(np.abs(matrix.mean(0) / 2 - maf) < 5 * standard_error)
    heterozygous, expected = (matrix == 1).mean(), (2 * maf * (1 - maf)).mean()
    assert abs(heterozygous - expected) < 0.05 * expected  # Hardy-Weinberg: 2pq heterozygotes


def test_truth_lists_the_causal_variants_and_the_data_obey_them(population):
    table, truth = population["table"], population["truth"]
    causal = truth["causal_variants"]
    assert [(c["factor"], c["effect_per_allele"]) for c in causal] == [tuple(e) for e in CAUSAL_EFFECTS]
    assert len({c["variant"] for c in causal}) == len(causal)
    assert all(c["variant"] in population["genotypes"][0] and 0.25 <= c["maf"] <= 0.5 for c in causal)
    shift = sum(
        c["effect_per_allele"] * dosages(population, c["variant"]) for c in causal if c["factor"] == "ventricle_atrophy"
    )
    np.testing.assert_allclose(table["ventricle_atrophy"] - table["atrophy"], shift, atol=2e-4)
    head = [c for c in causal if c["factor"] == "head_scale"][0]
    expected = 1 - 0.04 * table["sex"] + head["effect_per_allele"] * dosages(population, head["variant"])
    assert abs(np.mean(table["head_scale"] - expected)) < 0.01 and np.std(table["head_scale"] - expected) < 0.03
    assert truth["columns"]["observed"] == ["age", "sex", "site"]


@pytest.mark.parametrize(
    "arguments, match",
    [
        ({"n_subjects": 5}, "n_subjects must be an integer >= 20, got 5"),  # too few to be a population
        ({"n_subjects": True}, "n_subjects"),  # a bool is not a count
        ({"shape": (40, 48)}, "shape must be 3 integers"),  # not 3-D
        ({"shape": (8, 48, 40)}, "shape must be 3 integers in \\[16, 96\\]"),  # too coarse to show anatomy
        ({"shape": (40.5, 48, 40)}, "shape"),  # not integers
        ({"shape": 40}, "shape must be 3 integers"),  # one number is not a grid
        ({"n_variants": 3}, "n_variants must be an integer >= 6"),  # fewer than the causal variants
        ({"seed": -1}, "seed must be an integer >= 0, got -1"),
    ],
)
def test_bad_arguments_are_one_line_config_errors(tmp_path, arguments, match):
    with pytest.raises(ConfigError, match=match):
        simulate_population(tmp_path, **{**TINY, **arguments})
    assert not any(tmp_path.iterdir())  # nothing written
