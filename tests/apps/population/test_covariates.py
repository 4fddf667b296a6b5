import numpy as np
import pytest

from medmonai.apps.population import CovariateDesign, adjust, is_categorical

RNG = np.random.default_rng(0)
N = 300
COVARIATES = {"age": RNG.uniform(40, 80, N), "sex": RNG.integers(0, 2, N) * 1.0, "site": RNG.integers(0, 3, N) * 1.0}

CATEGORICAL_CASES = {
    # whole numbers, few levels
    "site": (np.array([0.0, 1.0, 2.0, 1.0]), True),
    # a missing value does not change the verdict
    "with_nan": (np.array([0.0, 1.0, np.nan]), True),
    # fractional values are continuous
    "age": (np.array([45.5, 60.1, 71.0]), False),
    # whole numbers but too many levels
    "years": (np.arange(40, 80, dtype=float), False),
    # nothing known
    "empty": (np.array([np.nan]), False),
}


@pytest.mark.parametrize("case", CATEGORICAL_CASES, ids=list(CATEGORICAL_CASES))
def test_is_categorical(case):
    values, expected = CATEGORICAL_CASES[case]
    assert is_categorical(values) is expected


def test_design_one_hot_encodes_categorical_and_splines_age():
    design = CovariateDesign(["age", "sex", "site"], categorical=["site"], spline={"age": 4}).fit(COVARIATES)
    x = design.transform(COVARIATES)
    names = design.column_names()
    assert x.shape == (N, len(names)) and names[:3] == ["sex", "site=1", "site=2"]
    assert [n for n in names if n.startswith("age_spline")] == [f"age_spline{i}" for i in range(5)]
    np.testing.assert_array_equal(x[:, 1], COVARIATES["site"] == 1)
    # a level unseen when the design was fitted gets all zeros, like the first level
    with pytest.warns(UserWarning, match="unknown categories"):
        unseen = design.transform({**COVARIATES, "site": np.full(N, 7.0)})
    assert not unseen[:, 1:3].any()


def test_design_requires_its_covariates():
    with pytest.raises(KeyError, match=r"missing \['site'\]"):
        CovariateDesign(["age", "site"]).fit({"age": COVARIATES["age"]})


def test_adjust_removes_what_the_covariates_explain():
    signal = RNG.normal(size=(N, 2))
    matrix = signal + np.column_stack([0.2 * COVARIATES["age"], 3.0 * (COVARIATES["site"] == 2)])
    residuals = adjust(matrix, COVARIATES)
    for name in ("age", "site"):
        assert abs(np.corrcoef(residuals[:, 0 if name == "age" else 1], COVARIATES[name])[0, 1]) < 1e-8
    np.testing.assert_allclose(residuals, adjust(signal, COVARIATES), atol=1e-8)


def test_adjust_fitted_on_a_reference_keeps_an_effect_confined_to_the_others():
    # patients are older and have a shifted embedding: fitted on everyone, "age" would absorb part of the shift
    age = COVARIATES["age"]
    patients = age > 65
    matrix = (0.05 * age + 2.0 * patients)[:, None] + RNG.normal(0, 0.1, (N, 1))
    on_healthy = adjust(matrix, {"age": age}, ["age"], reference=~patients)
    on_everyone = adjust(matrix, {"age": age}, ["age"])
    gap_healthy = on_healthy[patients].mean() - on_healthy[~patients].mean()
    gap_everyone = on_everyone[patients].mean() - on_everyone[~patients].mean()
    assert abs(gap_healthy - 2.0) < 0.1 and gap_everyone < 1.5
