import numpy as np
import pytest
from matplotlib.figure import Figure

from medmonai.viz import embed_2d, image_grid_figure, latent_scatter_figure


@pytest.mark.parametrize(
    "case",
    [
        {"dims": 2, "method": "latent"},  # plotted as is
        {"dims": 1, "method": "jitter"},  # spread by jitter
        {"dims": 6, "method": "t-SNE"},  # projected
    ],
)
def test_embed_2d(case):
    z = np.random.default_rng(0).normal(size=(40, case["dims"]))
    points, method = embed_2d(z, seed=0)
    assert points.shape == (40, 2) and method == case["method"]
    if case["dims"] == 2:
        np.testing.assert_array_equal(points, z)
    if case["dims"] == 1:
        np.testing.assert_array_equal(points[:, 0], z[:, 0])


def test_embed_2d_tsne_is_seeded():
    z = np.random.default_rng(0).normal(size=(30, 4))
    np.testing.assert_allclose(embed_2d(z, seed=1)[0], embed_2d(z, seed=1)[0])


def test_latent_scatter_has_one_series_per_class():
    fig = latent_scatter_figure(np.zeros((6, 2)), np.array([0, 0, 1, 1, 2, 2]), "t", class_names={2: "two"})
    assert isinstance(fig, Figure)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["0 (n=2)", "1 (n=2)", "two (n=2)"]


def test_image_grid_layout():
    fig = image_grid_figure([np.zeros((5, 1, 28, 28)), np.ones((3, 28, 28))], ["a", "b"], "grid")
    assert len(fig.axes) == 10  # 2 rows x 5 columns
    assert fig.axes[0].get_ylabel() == "a" and fig.axes[5].get_ylabel() == "b"
    assert not fig.axes[9].axison  # the second row's missing cells are blank


@pytest.mark.parametrize("axcodes", ["RAS", "PIL", "LSA", "ASL"])
def test_overlay_panels_are_named_by_anatomy_in_any_voxel_order(axcodes):
    import nibabel as nib
    from nibabel.orientations import axcodes2ornt, inv_ornt_aff, ornt_transform

    from medmonai.viz.anomaly import overlay_figure, plane_axes

    ras = np.zeros((30, 20, 10), np.float32)  # left-right 30, anterior-posterior 20, inferior-superior 10 voxels
    ras[10:20, 5:15, 3:7] = 1.0
    to_stored = ornt_transform(axcodes2ornt("RAS"), axcodes2ornt(axcodes))
    stored = nib.orientations.apply_orientation(ras, to_stored)
    affine = np.diag([2.0, 2.0, 2.0, 1.0]) @ inv_ornt_aff(to_stored, ras.shape)
    assert nib.aff2axcodes(affine) == tuple(axcodes)
    axes = plane_axes(affine)
    # an axial slice shows the left-right by anterior-posterior plane (30 x 20), a sagittal one 20 x 10
    expected = {"sagittal": {20, 10}, "coronal": {30, 10}, "axial": {30, 20}}
    for name, axis in axes.items():
        assert {s for a, s in enumerate(stored.shape) if a != axis} == expected[name]
    figure = overlay_figure(stored, stored, stored > 0, "t", affine=affine)
    panels = {ax.get_title(): ax.images[0].get_array().shape for ax in figure.axes if ax.get_title().endswith("image")}
    assert {title.split()[0]: set(shape) for title, shape in panels.items()} == expected
