"""Figures of anomaly maps: orthogonal-slice overlays and ROC / precision-recall curves."""

from __future__ import annotations

from collections.abc import Mapping

import nibabel as nib
import numpy as np
from matplotlib.figure import Figure
from scipy import ndimage

__all__ = [
    "calibrated_image_figure",
    "calibrated_overlay_figure",
    "focus_voxel",
    "mask_overlay_figure",
    "orientation_labels",
    "overlay_figure",
    "plane_axes",
    "roc_by_class_figure",
    "roc_pr_figure",
]

_OPPOSITE = {"R": "L", "L": "R", "A": "P", "P": "A", "S": "I", "I": "S"}


def focus_voxel(label: np.ndarray | None, anomaly_map: np.ndarray) -> tuple[int, int, int]:
    """The centre of mass of the largest lesion component, or the map's maximum when there is no lesion."""
    if label is not None and np.any(label):
        components, n = ndimage.label(label > 0, structure=np.ones((3, 3, 3)))
        largest = 1 + int(np.argmax(np.bincount(components.ravel())[1:]))
        return tuple(int(round(c)) for c in ndimage.center_of_mass(components == largest))
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(anomaly_map)), anomaly_map.shape))


_PLANES = {"L": "sagittal", "R": "sagittal", "P": "coronal", "A": "coronal", "I": "axial", "S": "axial"}


def plane_axes(affine: np.ndarray | None) -> dict[str, int]:
    """``{"sagittal": axis, "coronal": axis, "axial": axis}``: the voxel axis each anatomical plane is cut across.

    A slice across the left-right axis is sagittal, across the anterior-posterior axis coronal, across the
    inferior-superior axis axial, whatever order the file stores its axes in. Without an affine (or an oblique one
    that maps two axes to one direction) the axes are taken as RAS-ordered.
    """
    if affine is not None:
        names = [_PLANES.get(code, "") for code in nib.aff2axcodes(np.asarray(affine, np.float64))]
        if sorted(names) == ["axial", "coronal", "sagittal"]:
            return {name: names.index(name) for name in ("sagittal", "coronal", "axial")}
    return {"sagittal": 0, "coronal": 1, "axial": 2}


def _cut(axis: int, index: int) -> tuple:
    return tuple(index if a == axis else slice(None) for a in range(3))


def overlay_figure(
    image: np.ndarray,
    anomaly_map: np.ndarray,
    label: np.ndarray | None,
    title: str,
    vmax: float | None = None,
    affine: np.ndarray | None = None,
) -> Figure:
    """Three orthogonal slices through the largest lesion: image, map over image, and the lesion contour.

    Args:
        image: ``(X, Y, Z)`` normalised image.
        anomaly_map: ``(X, Y, Z)`` map, >= 0.
        label: ``(X, Y, Z)`` lesion mask, or None.
        title: figure title.
        vmax: top of the map's colour scale (e.g. the calibrated threshold x 2). Defaults to the map's maximum.
        affine: voxel-to-world (RAS) matrix, so each panel is named by its anatomical plane. Defaults to None
            (axes taken as RAS-ordered).
    """
    focus = focus_voxel(label, anomaly_map)
    cuts = {name: _cut(axis, focus[axis]) for name, axis in plane_axes(affine).items()}
    fig = Figure(figsize=(11.0, 7.5))
    top = float(vmax if vmax else max(float(anomaly_map.max()), 1e-6))
    lo, hi = np.percentile(image[image != 0], [1, 99]) if np.any(image) else (0.0, 1.0)
    for col, (name, cut) in enumerate(cuts.items()):
        for row in range(2):
            ax = fig.add_subplot(2, 3, 1 + col + 3 * row)
            ax.imshow(image[cut].T, cmap="gray", origin="lower", vmin=lo, vmax=hi)
            if row == 1:
                shown = np.ma.masked_less_equal(anomaly_map[cut].T, 0.0)
                im = ax.imshow(shown, cmap="hot", origin="lower", vmin=0.0, vmax=top, alpha=0.75)
            if label is not None and np.any(label[cut]):
                ax.contour((label[cut] > 0).T.astype(float), levels=[0.5], colors="cyan", linewidths=1.0)
            ax.set_axis_off()
            ax.set_title(f"{name} {'image' if row == 0 else 'anomaly map'}", fontsize=9)
    fig.colorbar(im, ax=fig.axes[-3:], shrink=0.7, label="anomaly score")
    fig.suptitle(f"{title}  (cyan: lesion mask)")
    return fig


def orientation_labels(affine: np.ndarray | None) -> tuple[tuple[str, str], ...]:
    """Per voxel axis, the anatomical directions of its low and high ends (``("L", "R")`` for RAS's first axis).

    Without an affine the axes are labelled ``-x``/``+x``, and so on.
    """
    if affine is None:
        return tuple((f"-{a}", f"+{a}") for a in "xyz")
    codes = nib.aff2axcodes(np.asarray(affine, np.float64))
    return tuple((_OPPOSITE.get(c, "?"), c or "?") for c in codes)


def calibrated_overlay_figure(
    image: np.ndarray,
    anomaly_map: np.ndarray,
    segmentation: np.ndarray,
    label: np.ndarray | None,
    title: str,
    threshold: float,
    vmax: float,
    affine: np.ndarray | None = None,
) -> Figure:
    """Three orthogonal slices with the map on one calibrated colour scale, the same for every case.

    Values at or below ``threshold`` are transparent; the scale runs from the threshold (marked on the colour bar)
    to ``vmax``. The slices cross the largest segmented lesion (else the lesion mask, else the map's maximum); each
    panel names its slice index and the anatomical direction of its four edges.

    Args:
        image: ``(X, Y, Z)`` normalised image.
        anomaly_map: ``(X, Y, Z)`` map.
        segmentation: ``(X, Y, Z)`` bool, the map above the threshold after post-processing (green contour).
        label: ``(X, Y, Z)`` lesion mask (cyan contour), or None: the figure then says there is none.
        title: figure title.
        threshold: the calibrated voxel threshold.
        vmax: top of the colour scale.
        affine: voxel-to-world (RAS) matrix, for the orientation labels. Defaults to None.
    """
    focus = focus_voxel(segmentation if np.any(segmentation) else label, anomaly_map)
    sides = orientation_labels(affine)
    cuts = {name: (axis, focus[axis]) for name, axis in plane_axes(affine).items()}
    fig = Figure(figsize=(12.0, 4.6))
    lo, hi = np.percentile(image[image != 0], [1, 99]) if np.any(image) else (0.0, 1.0)
    shown_map = np.ma.masked_less_equal(anomaly_map, threshold)
    for col, (name, (axis, index)) in enumerate(cuts.items()):
        cut = _cut(axis, index)
        across, up = [a for a in range(3) if a != axis]
        ax = fig.add_subplot(1, 3, col + 1)
        ax.imshow(image[cut].T, cmap="gray", origin="lower", vmin=lo, vmax=hi)
        im = ax.imshow(shown_map[cut].T, cmap="autumn", origin="lower", vmin=threshold, vmax=vmax, alpha=0.8)
        if np.any(segmentation[cut]):
            ax.contour(segmentation[cut].T.astype(float), levels=[0.5], colors="lime", linewidths=0.8)
        if label is not None and np.any(label[cut]):
            ax.contour((label[cut] > 0).T.astype(float), levels=[0.5], colors="cyan", linewidths=0.8)
        for text, (tx, ty) in zip(
            (sides[across][0], sides[across][1], sides[up][0], sides[up][1]),
            ((0.02, 0.5), (0.98, 0.5), (0.5, 0.02), (0.5, 0.98)),
            strict=True,
        ):
            ax.text(tx, ty, text, transform=ax.transAxes, color="yellow", fontsize=9, ha="center", va="center")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{name}, slice {index} of {image.shape[axis]}", fontsize=9)
    bar = fig.colorbar(im, ax=fig.axes, shrink=0.8, extend="max")
    bar.set_ticks([threshold, (threshold + vmax) / 2, vmax])
    bar.set_ticklabels([f"threshold {threshold:.3g}", f"{(threshold + vmax) / 2:.3g}", f"{vmax:.3g}"])
    bar.set_label("anomaly score (transparent below the threshold)")
    mask_note = "cyan: lesion mask" if label is not None else "no lesion mask"
    fig.suptitle(f"{title}  (green: segmentation; {mask_note})")
    return fig


def calibrated_image_figure(
    image: np.ndarray, anomaly_map: np.ndarray, segmentation: np.ndarray, title: str, threshold: float, vmax: float
) -> Figure:
    """A 2-D image beside its map over it, on one calibrated colour scale (the 2-D twin of the overlay above).

    Args:
        image: ``(H, W)`` image.
        anomaly_map: ``(H, W)`` map; values at or below ``threshold`` are transparent.
        segmentation: ``(H, W)`` bool, the map above the threshold (green contour).
        title: figure title.
        threshold: the calibrated pixel threshold, marked on the colour bar.
        vmax: top of the colour scale.
    """
    fig = Figure(figsize=(8.0, 3.9))
    for col in range(2):
        ax = fig.add_subplot(1, 2, col + 1)
        ax.imshow(image, cmap="gray", vmin=float(image.min()), vmax=max(float(image.max()), float(image.min()) + 1e-6))
        if col == 1:
            im = ax.imshow(
                np.ma.masked_less_equal(anomaly_map, threshold), cmap="autumn", vmin=threshold, vmax=vmax, alpha=0.8
            )
            if np.any(segmentation):
                ax.contour(segmentation.astype(float), levels=[0.5], colors="lime", linewidths=0.8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("image" if col == 0 else "anomaly map over the image", fontsize=9)
    bar = fig.colorbar(im, ax=fig.axes, shrink=0.8, extend="max")
    bar.set_ticks([threshold, vmax])
    bar.set_ticklabels([f"threshold {threshold:.3g}", f"{vmax:.3g}"])
    bar.set_label("pixel anomaly score")
    fig.suptitle(f"{title}  (green: above the threshold)")
    return fig


def mask_overlay_figure(image: np.ndarray, mask: np.ndarray, title: str, affine: np.ndarray | None = None) -> Figure:
    """Three orthogonal slices through the centre of ``mask``, its contour in red over ``image``.

    Args:
        image: ``(X, Y, Z)`` image (e.g. a skull-on head).
        mask: ``(X, Y, Z)`` mask (e.g. the extracted brain), any dtype; > 0.5 is inside.
        title: figure title.
        affine: voxel-to-world (RAS) matrix, so each panel is named by its anatomical plane. Defaults to None.
    """
    inside = np.asarray(mask) > 0.5
    centre = [int(round(c)) for c in ndimage.center_of_mass(inside)] if inside.any() else [s // 2 for s in mask.shape]
    cuts = {name: _cut(axis, centre[axis]) for name, axis in plane_axes(affine).items()}
    lo, hi = np.percentile(image, [1, 99.5])
    fig = Figure(figsize=(11.0, 4.0))
    for col, (name, cut) in enumerate(cuts.items()):
        ax = fig.add_subplot(1, 3, col + 1)
        ax.imshow(image[cut].T, cmap="gray", origin="lower", vmin=lo, vmax=hi)
        if inside[cut].any():
            ax.contour(inside[cut].T.astype(float), levels=[0.5], colors="red", linewidths=1.0)
        ax.set_axis_off()
        ax.set_title(name, fontsize=9)
    fig.suptitle(f"{title}  (red: mask)")
    return fig


def roc_pr_figure(curves: Mapping[str, Mapping[str, np.ndarray]], title: str) -> Figure:
    """ROC and precision-recall curves of several methods side by side.

    Args:
        curves: ``{method: {"fpr", "tpr", "recall", "precision"}, ...}`` arrays, plus optional scalars ``"auroc"``
            and ``"auprc"`` for the legend.
        title: figure title.
    """
    fig = Figure(figsize=(11.0, 4.8))
    roc, pr = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for name, c in curves.items():
        roc.plot(c["fpr"], c["tpr"], label=f"{name} (AUROC {c.get('auroc', float('nan')):.3f})")
        pr.plot(c["recall"], c["precision"], label=f"{name} (AUPRC {c.get('auprc', float('nan')):.3f})")
    roc.plot([0, 1], [0, 1], color="gray", linestyle=":", linewidth=1)
    roc.set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC (voxels in brain)")
    pr.set(xlabel="recall", ylabel="precision", title="precision-recall (voxels in brain)", ylim=(0, 1.02))
    roc.legend(fontsize=8, loc="lower right")
    pr.legend(fontsize=8, loc="upper right")
    fig.suptitle(title)
    return fig


def roc_by_class_figure(curves: Mapping[str, Mapping[str, tuple]], title: str) -> Figure:
    """One ROC panel per score, one curve per class.

    Args:
        curves: ``{score: {class: (fpr, tpr, auroc)}}``.
        title: figure title.
    """
    fig = Figure(figsize=(4.2 * max(len(curves), 1), 4.2))
    for i, (score, by_class) in enumerate(curves.items()):
        ax = fig.add_subplot(1, max(len(curves), 1), i + 1)
        for name, (fpr, tpr, auroc) in by_class.items():
            ax.plot(fpr, tpr, label=f"{name} (AUROC {auroc:.3f})")
        ax.plot([0, 1], [0, 1], color="gray", linestyle=":", linewidth=1)
        ax.set(xlabel="false-positive rate", ylabel="true-positive rate", title=f"{score} score")
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(title)
    return fig
