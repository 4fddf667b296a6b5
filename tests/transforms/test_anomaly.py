"""Training-time synthetic anomalies: where they change a patch, their target, their separation from test lesions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from medmonai.errors import ConfigError
from medmonai.transforms import ANOMALY_KINDS, SyntheticAnomalies

PACKAGE = Path(__file__).resolve().parents[2] / "medmonai"


def brain_like_batch(seed: int = 0) -> torch.Tensor:
    """Eight 24^3 patches: textured tissue inside a ball, exact zeros (masked background) outside."""
    generator = torch.Generator().manual_seed(seed)
    tissue = 0.3 + 0.6 * torch.rand((8, 1, 24, 24, 24), generator=generator)
    axes = torch.arange(24, dtype=torch.float32) - 11.5
    ball = (axes[:, None, None] ** 2 + axes[None, :, None] ** 2 + axes[None, None, :] ** 2) < 11.0**2
    return tissue * ball


@pytest.mark.parametrize("kind", ANOMALY_KINDS)
def test_the_target_is_positive_exactly_where_the_patch_changed(kind):
    torch.manual_seed(1)
    batch = brain_like_batch()
    corrupted, target = SyntheticAnomalies(prob=1.0, kinds=(kind,))(batch)
    changed = (corrupted - batch).abs().amax(1, keepdim=True) > 1e-6
    assert changed.sum() > 50  # every patch got something
    assert torch.equal(changed, target > 0)
    assert target.min() >= 0 and target.max() <= 1
    assert not (changed & (batch == 0)).any()  # never outside the nonzero (brain) region
    assert corrupted.shape == batch.shape and target.shape == (8, 1, 24, 24, 24)


def test_the_input_is_left_alone_and_prob_zero_changes_nothing():
    batch = brain_like_batch()
    before = batch.clone()
    corrupted, target = SyntheticAnomalies(prob=0.0)(batch)
    assert torch.equal(corrupted, before) and torch.equal(batch, before) and not target.any()


def test_draws_follow_torchs_global_generator():
    batch = brain_like_batch()
    torch.manual_seed(7)
    first = SyntheticAnomalies()(batch)
    torch.manual_seed(7)
    again = SyntheticAnomalies()(batch)
    torch.manual_seed(8)
    other = SyntheticAnomalies()(batch)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[1], other[1])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"prob": 1.5}, "prob in"),  # a probability above 1
        ({"max_anomalies": 0}, "max_anomalies"),  # nothing to paste
        ({"kinds": ("lesion",)}, "kinds from"),  # an unknown kind
        ({"radius_range": (0.0, 3.0)}, "radius_range"),  # a zero radius
    ],
)
def test_bad_settings_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        SyntheticAnomalies(**kwargs)


def test_a_batch_that_is_not_3d_is_rejected():
    with pytest.raises(ValueError, match=r"\(B, C, X, Y, Z\)"):
        SyntheticAnomalies()(torch.zeros(2, 1, 8, 8))


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_training_anomalies_and_test_lesions_never_share_code():
    """The benchmark measures generalisation only while training never sees the test lesion generator."""
    training_side = [
        *(PACKAGE / "transforms" / "anomaly").glob("*.py"),
        PACKAGE / "engines" / "segmentation_trainer.py",
    ]
    for path in training_side:
        imports = imported_modules(path)
        assert not any("lesion" in name or "synthetic" in name or "embedded" in name for name in imports), path
    lesion_side = imported_modules(PACKAGE / "data" / "synthetic" / "lesions.py")
    assert not any("transforms.anomaly" in name or "SyntheticAnomalies" in name for name in lesion_side)


def test_the_bundle_trains_its_segmenter_on_training_anomalies_only():
    from monai.bundle import ConfigParser

    parser = ConfigParser()
    parser.read_config(str(PACKAGE.parent / "bundles" / "brain_mri_anomaly" / "configs" / "train.yaml"))
    parser["model"] = "ssad3d"
    corruption = parser.get_parsed_content("method").corruption()
    assert type(corruption) is SyntheticAnomalies
