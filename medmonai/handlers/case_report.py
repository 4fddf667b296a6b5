"""Handler turning an anomaly evaluator's maps of new scans into per-case results at a calibrated threshold."""

from __future__ import annotations

import csv
import html
import io
import logging
from pathlib import Path

import numpy as np
from ignite.engine import Engine
from scipy import ndimage

from medmonai.handlers.map_writer import StagedMapHandler, nifti_gz_bytes, nifti_like, on_input_grid
from medmonai.keys import Keys
from medmonai.scoring.aggregate import image_score
from medmonai.scoring.calibration import Calibration
from medmonai.utils.outputs import StagedFiles, figure_png_bytes
from medmonai.viz.anomaly import calibrated_overlay_figure
from medmonai.viz.report_page import ReportCase, case_report_page

__all__ = ["CASE_COLUMNS", "CaseReport", "lesion_summary", "threshold_note"]

logger = logging.getLogger(__name__)
CASE_COLUMNS = (
    "case_id",
    "source",
    "image_score",
    "image_threshold",
    "abnormal",
    "lesion_count",
    "lesion_volume_mm3",
    "anomaly_map",
    "segmentation",
    "overlay",
    "brain_mask",
    "status",
    "reason",
    "image_threshold_source",
    "voxel_threshold",
    "voxel_threshold_source",
)


def lesion_summary(segmentation: np.ndarray, affine: np.ndarray | None) -> tuple[int, float]:
    """``(count, volume in mm³)`` of a segmentation's 26-connected components; voxel size from the affine."""
    _, count = ndimage.label(segmentation, structure=np.ones((3, 3, 3)))
    voxel_mm3 = abs(float(np.linalg.det(np.asarray(affine, np.float64)[:3, :3]))) if affine is not None else 1.0
    return int(count), float(segmentation.sum()) * voxel_mm3


def threshold_note(calibration: Calibration, which: str) -> str:
    """How the ``"image"`` or ``"voxel"`` threshold was set, as HTML for a report; in bold when set by hand."""
    rule = html.escape(calibration.rule(which))
    if which in calibration.replaced:
        return f"<b>set by hand</b>; the calibrated one, {calibration.replaced[which]:.4g}, is at {rule}"
    return f"calibrated at {rule}"


class CaseReport(StagedMapHandler):
    """Per case, at the calibrated thresholds: a segmentation, an image score, a flag, lesion count and volume.

    Writes, all at once when the evaluator completes (nothing if any case fails; hidden staging folders of a killed
    run are removed at the next start):

    - ``segmentations/<case>_seg.nii.gz``: the map above the voxel threshold after post-processing (uint8, in
      the input's space);
    - ``overlays/<case>.png``: three slices on one colour scale for every case, transparent below the threshold;
    - ``maps/<case>_brain_mask.nii.gz``: the brain mask the case was scored in (uint8, in the input's space), so
      a brain extraction can be checked in a viewer;
    - ``cases.csv``: one row per case (:data:`CASE_COLUMNS`); ``abnormal`` is 1 when the image score is above
      the image threshold; ``status`` is ``mapped``, or ``failed`` with a ``reason`` for a scan that could not be
      mapped (its brain extraction failed); each threshold's ``*_source`` column says ``manual`` or
      ``calibrated: <rule>``;
    - ``report.html``: a self-contained page (images embedded) with every case's overlay, scores and flags.

    The anomaly maps themselves are written by :class:`medmonai.handlers.MapWriter` (``maps/<case>_anomaly.nii.gz``).

    Args:
        calibration: the model's thresholds (:class:`medmonai.scoring.Calibration`), any set by hand included.
        output_dir: where the files go.
        title: the page's title. Defaults to ``"anomaly maps of new scans"``.
        unmapped: scans that could not be mapped, each with ``case_id``, ``image`` and ``reason``; each gets a
            ``failed`` row. Defaults to None.
    """

    def __init__(
        self,
        calibration: Calibration,
        output_dir: str | Path,
        title: str = "anomaly maps of new scans",
        unmapped: list[dict] | None = None,
    ):
        self.calibration, self.output_dir, self.title = calibration, Path(output_dir), title
        self.unmapped = list(unmapped or [])
        self.method = calibration.method
        self.rows: list[dict] = []
        self.figures: list[bytes] = []

    def started(self, engine: Engine) -> None:
        """Check the evaluator maps the calibrated method, and open the staging folder.

        That the map is made as it was calibrated (window, scorer) is checked before any engine starts, by
        :func:`medmonai.scoring.load_calibration` with the mappers.
        """
        self.check_method(engine)
        self.rows, self.figures = [], []
        self._staged = StagedFiles(self.output_dir, "cases")

    def iteration_completed(self, engine: Engine) -> None:
        """Segment, score and draw one case."""
        out, cal = engine.state.output, self.calibration
        case, region = out["case_id"], out["region"]
        anomaly_map = out["maps"][cal.method]
        segmentation = engine.postprocessor.segment(anomaly_map, region, cal.voxel_threshold)
        score_settings = cal.settings.get("image_score", {})
        score = image_score(
            anomaly_map[region], score_settings.get("method", "percentile"), score_settings.get("percentile", 99.0)
        )
        count, volume = lesion_summary(segmentation, out["affine"])
        seg_path = Path("segmentations") / f"{case}_seg.nii.gz"
        described = f"medmonai segmentation: {cal.method} > {cal.voxel_threshold:.4g}"
        self._stage_mask(segmentation, out, seg_path, described)
        mask_path = Path("maps") / f"{case}_brain_mask.nii.gz"
        brain = out.get(Keys.BRAIN_MASK)
        self._stage_mask(region if brain is None else brain, out, mask_path, "medmonai brain mask used")
        figure = figure_png_bytes(
            calibrated_overlay_figure(
                out[Keys.IMAGE],
                anomaly_map,
                segmentation,
                out[Keys.LABEL] if out[Keys.LABEL] is not None and out[Keys.LABEL].any() else None,
                f"{case}: {cal.method}",
                cal.voxel_threshold,
                cal.display_max,
                out["affine"],
            ),
            dpi=80,
        )
        overlay_path = Path("overlays") / f"{case}.png"
        self._staged.add(overlay_path, figure)
        self.figures.append(figure)
        self.rows.append(
            {
                "case_id": case,
                "source": out["source"],
                "image_score": round(float(score), 6),
                "image_threshold": round(cal.image_threshold, 6),
                "abnormal": int(score > cal.image_threshold),
                "lesion_count": count,
                "lesion_volume_mm3": round(volume, 1),
                "anomaly_map": f"maps/{case}_anomaly.nii.gz",
                "segmentation": str(seg_path),
                "overlay": str(overlay_path),
                "brain_mask": str(mask_path),
                "status": "mapped",
                "reason": "",
                "image_threshold_source": cal.source("image"),
                "voxel_threshold": round(cal.voxel_threshold, 6),
                "voxel_threshold_source": cal.source("voxel"),
            }
        )

    def _stage_mask(self, mask: np.ndarray, out: dict, path: Path, description: str) -> None:
        """Stage a mask on the model's grid as a uint8 NIfTI on the scan's own grid."""
        on_grid, affine = on_input_grid(mask.astype(np.float32), out, mode="nearest")
        image = nifti_like(on_grid > 0.5, out["source"], affine, dtype=np.uint8)
        image.header["descrip"] = description[:79]
        self._staged.add(path, nifti_gz_bytes(image))

    def completed(self, engine: Engine) -> None:
        """Stage the table and the page, then move every file into place."""
        failed_rows = [
            {
                **dict.fromkeys(CASE_COLUMNS, ""),
                "case_id": item.get("case_id", ""),
                "source": item.get(Keys.IMAGE, ""),
                "status": "failed",
                "reason": item.get("reason", ""),
            }
            for item in self.unmapped
        ]
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=CASE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows + failed_rows)
        self._staged.add("cases.csv", table.getvalue().encode())
        self._staged.add("report.html", self.page().encode())
        written = self._staged.commit()
        flagged = sum(r["abnormal"] for r in self.rows)
        logger.info(
            f"{len(self.rows)} cases, {flagged} flagged abnormal; wrote {len(written)} files to {self.output_dir}"
        )
        if failed_rows:
            logger.error(f"{len(failed_rows)} scans could not be mapped; cases.csv gives each one's reason")

    def page(self) -> str:
        """The self-contained HTML report."""
        cal = self.calibration
        intro = (
            f"Model <b>{html.escape(cal.method)}</b>. Voxel threshold {cal.voxel_threshold:.4g} "
            f"({threshold_note(cal, 'voxel')}), image threshold {cal.image_threshold:.4g} "
            f"({threshold_note(cal, 'image')}). Every overlay uses one colour scale, from the voxel threshold "
            f"(transparent below) to {cal.display_max:.4g}."
        )
        if self.unmapped:
            listed = "".join(
                f"<li><b>{html.escape(str(i.get('case_id', '')))}</b>: {html.escape(str(i.get('reason', '')))}</li>"
                for i in self.unmapped
            )
            intro += f"<p>Not mapped ({len(self.unmapped)}):</p><ul>{listed}</ul>"
        cases = [
            ReportCase(
                r["case_id"],
                bool(r["abnormal"]),
                (f"{r['image_score']:.4g}", str(r["lesion_count"]), f"{r['lesion_volume_mm3']:.1f}"),
                f"image score {r['image_score']:.4g} (threshold {r['image_threshold']:.4g}); {r['lesion_count']} "
                f"lesion(s), {r['lesion_volume_mm3']:.1f} mm³; source <code>{html.escape(r['source'])}</code>",
                figure,
            )
            for r, figure in zip(self.rows, self.figures, strict=True)
        ]
        return case_report_page(self.title, intro, ("image score", "lesions", "volume (mm³)"), cases)
