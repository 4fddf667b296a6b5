"""Handler turning an evaluator's maps of new scans or images into per-case results at calibrated thresholds.

The report step of the detection pipeline for new data, for 3-D volumes and 2-D images alike: one
:class:`CaseReport`, whose ``score_key`` chooses where a case's map and score come from.
"""

from __future__ import annotations

import csv
import heapq
import html
import io
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from ignite.engine import Engine
from PIL import Image
from scipy import ndimage

from medmonai.engines.collect import as_array
from medmonai.handlers.image_calibration import image_maps_and_scores
from medmonai.handlers.map_writer import StagedMapHandler, nifti_gz_bytes, nifti_like, on_input_grid
from medmonai.keys import Keys
from medmonai.scoring.aggregate import image_score
from medmonai.scoring.calibration import Calibration
from medmonai.utils.outputs import StagedFiles, figure_png_bytes
from medmonai.viz.anomaly import calibrated_image_figure, calibrated_overlay_figure
from medmonai.viz.report_page import ReportCase, case_report_page

__all__ = ["CASE_COLUMNS", "IMAGE_CASE_COLUMNS", "CaseReport", "lesion_summary", "region_summary", "threshold_note"]

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
IMAGE_CASE_COLUMNS = (
    "case_id",
    "source",
    "image_score",
    "image_threshold",
    "abnormal",
    "region_count",
    "region_pixels",
    "anomaly_map",
    "segmentation",
    "overlay",
    "image_threshold_source",
    "pixel_threshold",
    "pixel_threshold_source",
)


def lesion_summary(segmentation: np.ndarray, affine: np.ndarray | None) -> tuple[int, float]:
    """``(count, volume in mm³)`` of a segmentation's 26-connected components; voxel size from the affine."""
    _, count = ndimage.label(segmentation, structure=np.ones((3, 3, 3)))
    voxel_mm3 = abs(float(np.linalg.det(np.asarray(affine, np.float64)[:3, :3]))) if affine is not None else 1.0
    return int(count), float(segmentation.sum()) * voxel_mm3


def region_summary(segmentation: np.ndarray) -> tuple[int, int]:
    """``(count, pixels)`` of a 2-D segmentation's 8-connected regions."""
    _, count = ndimage.label(segmentation, structure=np.ones((3, 3)))
    return int(count), int(segmentation.sum())


def threshold_note(calibration: Calibration, which: str) -> str:
    """How the ``"image"`` or ``"voxel"`` threshold was set, as HTML for a report; in bold when set by hand."""
    rule = html.escape(calibration.rule(which))
    if which in calibration.replaced:
        return f"<b>set by hand</b>; the calibrated one, {calibration.replaced[which]:.4g}, is at {rule}"
    return f"calibrated at {rule}"


class CaseReport(StagedMapHandler):
    """Per new case, at the calibrated thresholds: a segmentation, an image score, a flag, and a report.

    A case is a 3-D volume of an anomaly map evaluator (``score_key`` None: its map is ``output["maps"][method]``,
    segmented in its region by the evaluator's post-processor, its score from the calibration's image-score
    settings) or a 2-D image of a reconstruction evaluator (``score_key`` set: its map is the reconstruction error,
    the pixels above the threshold its segmentation, ``output[score_key]`` its score). Writes, all at once when
    the evaluator completes (nothing if any case fails; hidden staging folders of a killed run are removed at the
    next start):

    - ``segmentations/<case>_seg.nii.gz`` (3-D: uint8, in the input's space) or ``<case>_seg.png`` (2-D: 255
      above the threshold, else 0);
    - 3-D: ``maps/<case>_brain_mask.nii.gz``, the brain mask the case was scored in, so a brain extraction can be
      checked in a viewer (the anomaly maps come from :class:`medmonai.handlers.MapWriter`); 2-D:
      ``maps/<case>_anomaly.tiff``, the float32 error map (opens in ImageJ/Fiji);
    - ``overlays/<case>.png`` for the ``report_cases`` highest-scoring cases (every case by default): the map on
      one colour scale for every case, transparent below the threshold;
    - ``cases.csv``: one row per case (3-D :data:`CASE_COLUMNS`, 2-D :data:`IMAGE_CASE_COLUMNS`); ``abnormal`` is 1
      when the image score is above the image threshold; lesions (3-D: 26-connected, volume in mm³) or regions (2-D:
      8-connected, pixels) are counted in the segmentation; each threshold's ``*_source`` column says ``manual``
      or ``calibrated: <rule>``; 3-D ``status`` is ``mapped``, or ``failed`` with a ``reason`` for an
      ``unmapped`` scan;
    - ``report.html``: a self-contained page with every case's row, highest score first, and the overlays.

    Args:
        calibration: the model's thresholds (:class:`medmonai.scoring.Calibration`), any set by hand included.
        output_dir: where the files go.
        title: the page's title. Defaults to ``"anomaly maps of new scans"`` (3-D) or ``"... images"`` (2-D).
        unmapped: 3-D scans that could not be mapped, each with ``case_id``, ``image`` and ``reason``; each gets
            a ``failed`` row. Defaults to None.
        score_key: 2-D: the evaluator's output key of the calibrated score. Defaults to None (3-D).
        reconstruction: 2-D: the per-pixel error the calibration used. Defaults to ``"mse"``.
        id_keys: 2-D: batch keys naming each image: a non-empty ``source`` (file path) gives its stem, else the
            other keys are joined (e.g. ``test_normal_12``). Defaults to ``("source",)``.
        report_cases: how many of the highest-scoring cases get an overlay. Defaults to None (all).
    """

    def __init__(
        self,
        calibration: Calibration,
        output_dir: str | Path,
        title: str | None = None,
        unmapped: list[dict] | None = None,
        score_key: str | None = None,
        reconstruction: str = "mse",
        id_keys: Sequence[str] = ("source",),
        report_cases: int | None = None,
    ) -> None:
        self.calibration, self.output_dir, self.method = calibration, Path(output_dir), calibration.method
        self.images = score_key is not None
        self.title = title or f"anomaly maps of new {'images' if self.images else 'scans'}"
        self.unmapped, self.score_key, self.reconstruction = list(unmapped or []), score_key, reconstruction
        self.id_keys, self.report_cases = tuple(id_keys), report_cases
        self.columns = IMAGE_CASE_COLUMNS if self.images else CASE_COLUMNS
        self.rows: list[dict] = []
        self.drawn: dict[int, bytes | Callable[[], bytes]] = {}  # row -> overlay, or how to draw it at the end
        self._lowest: list[tuple[float, int]] = []  # heap of the kept cases' (score, row)

    def started(self, engine: Engine) -> None:
        """Check a 3-D evaluator maps the calibrated method, and open the staging folder.

        That the map is made as it was calibrated (window, scorer) is checked before any engine starts, by
        :func:`medmonai.scoring.load_calibration` with the mappers.
        """
        if not self.images:
            self.check_method(engine)
        self.rows, self.drawn, self._lowest = [], {}, []
        self._staged = StagedFiles(self.output_dir, "cases")

    def iteration_completed(self, engine: Engine) -> None:
        """Segment, score and stage this iteration's cases."""
        for row, score, draw in self._image_cases(engine) if self.images else [self._volume_case(engine)]:
            self.rows.append(row)
            self._keep(len(self.rows) - 1, score, draw)

    def _volume_case(self, engine: Engine) -> tuple[dict, float, Callable[[], bytes]]:
        """One 3-D case's row, score and overlay drawing; its segmentation and brain mask staged as NIfTI."""
        out, cal = engine.state.output, self.calibration
        case, region = out["case_id"], out["region"]
        anomaly_map = out["maps"][cal.method]
        segmentation = engine.postprocessor.segment(anomaly_map, region, cal.voxel_threshold)
        settings = cal.settings.get("image_score", {})
        score = image_score(anomaly_map[region], settings.get("method", "percentile"), settings.get("percentile", 99.0))
        count, volume = lesion_summary(segmentation, out["affine"])
        seg_path, mask_path = Path("segmentations") / f"{case}_seg.nii.gz", Path("maps") / f"{case}_brain_mask.nii.gz"
        self._stage_mask(
            segmentation, out, seg_path, f"medmonai segmentation: {cal.method} > {cal.voxel_threshold:.4g}"
        )
        brain = out.get(Keys.BRAIN_MASK)
        self._stage_mask(region if brain is None else brain, out, mask_path, "medmonai brain mask used")
        label = out[Keys.LABEL] if out[Keys.LABEL] is not None and out[Keys.LABEL].any() else None
        figure = calibrated_overlay_figure(
            out[Keys.IMAGE],
            anomaly_map,
            segmentation,
            label,
            f"{case}: {cal.method}",
            cal.voxel_threshold,
            cal.display_max,
            out["affine"],
        )
        row = {
            **self._row(case, out["source"], score),
            "lesion_count": count,
            "lesion_volume_mm3": round(volume, 1),
            "anomaly_map": f"maps/{case}_anomaly.nii.gz",
            "segmentation": str(seg_path),
            "brain_mask": str(mask_path),
            "status": "mapped",
            "reason": "",
            "voxel_threshold": round(cal.voxel_threshold, 6),
            "voxel_threshold_source": cal.source("voxel"),
        }
        return row, float(score), lambda: figure_png_bytes(figure, dpi=80)

    def _image_cases(self, engine: Engine) -> Iterator[tuple[dict, float, Callable[[], bytes]]]:
        """Each 2-D case's row, score and overlay drawing; its map (TIFF) and segmentation (PNG) staged."""
        cal = self.calibration
        maps, scores = image_maps_and_scores(engine.state.output, self.score_key, self.reconstruction)
        images, batch = as_array(engine.state.output[Keys.IMAGE]), engine.state.batch
        sources = as_array(batch["source"]).reshape(-1).tolist() if "source" in batch else [""] * len(maps)
        for case, source, anomaly_map, score, image in zip(
            self._case_ids(batch, len(maps)), sources, maps, scores, images, strict=True
        ):
            segmentation = anomaly_map > cal.voxel_threshold
            count, pixels = region_summary(segmentation)
            map_path, seg_path = Path("maps") / f"{case}_anomaly.tiff", Path("segmentations") / f"{case}_seg.png"
            self._staged.add(map_path, _image_bytes(anomaly_map.astype(np.float32), "TIFF"))
            self._staged.add(seg_path, _image_bytes(segmentation.astype(np.uint8) * 255, "PNG"))
            row = {
                **self._row(case, str(source), score),
                "region_count": count,
                "region_pixels": pixels,
                "anomaly_map": str(map_path),
                "segmentation": str(seg_path),
                "pixel_threshold": round(cal.voxel_threshold, 6),
                "pixel_threshold_source": cal.source("voxel"),
            }
            drawing = (image.mean(0), anomaly_map, segmentation, case, cal.voxel_threshold, cal.display_max)
            yield row, float(score), lambda d=drawing: figure_png_bytes(calibrated_image_figure(*d), dpi=80)

    def _row(self, case: str, source: str, score: float) -> dict:
        """The columns both kinds of case share."""
        cal = self.calibration
        return {
            "case_id": case,
            "source": source,
            "image_score": round(float(score), 6),
            "image_threshold": round(cal.image_threshold, 6),
            "abnormal": int(score > cal.image_threshold),
            "overlay": "",
            "image_threshold_source": cal.source("image"),
        }

    def _case_ids(self, batch: Mapping[str, Any], n: int) -> list[str]:
        """A unique id per image of the batch, from ``id_keys``."""
        columns = [as_array(batch[k]).reshape(n, -1)[:, 0].tolist() for k in self.id_keys if k in batch]
        taken = {r["case_id"] for r in self.rows}
        ids = []
        for values in zip(*columns, strict=True) if columns else [()] * n:
            source = str(values[0]) if values and self.id_keys[0] == "source" and "source" in batch else ""
            case = Path(source).stem if source else "_".join(str(v) for v in values if str(v)) or str(len(self.rows))
            base, k = case, 1
            while case in taken:  # two files with one stem in different folders
                case, k = f"{base}_{k}", k + 1
            taken.add(case)
            ids.append(case)
        return ids

    def _keep(self, row: int, score: float, draw: Callable[[], bytes]) -> None:
        """Keep the overlays of the ``report_cases`` highest scores only: memory stays flat.

        Every case's overlay (``report_cases`` None) is drawn now, a 3-D case's volumes not kept.
        """
        if self.report_cases is None:
            self.drawn[row] = draw()
            return
        if self.report_cases <= 0:
            return
        if len(self._lowest) < self.report_cases:
            heapq.heappush(self._lowest, (score, row))
        elif score > self._lowest[0][0]:
            _, dropped = heapq.heapreplace(self._lowest, (score, row))
            del self.drawn[dropped]
        else:
            return
        self.drawn[row] = draw

    def _stage_mask(self, mask: np.ndarray, out: dict, path: Path, description: str) -> None:
        """Stage a mask on the model's grid as a uint8 NIfTI on the scan's own grid."""
        on_grid, affine = on_input_grid(mask.astype(np.float32), out, mode="nearest")
        image = nifti_like(on_grid > 0.5, out["source"], affine, dtype=np.uint8)
        image.header["descrip"] = description[:79]
        self._staged.add(path, nifti_gz_bytes(image))

    def completed(self, engine: Engine) -> None:
        """Stage the overlays, the table and the page, then move every file into place."""
        figures = {}
        for i, overlay in self.drawn.items():
            self.rows[i]["overlay"] = f"overlays/{self.rows[i]['case_id']}.png"
            figures[i] = overlay if isinstance(overlay, bytes) else overlay()
            self._staged.add(self.rows[i]["overlay"], figures[i])
        failed_rows = [
            {
                **dict.fromkeys(self.columns, ""),
                "case_id": item.get("case_id", ""),
                "source": item.get(Keys.IMAGE, ""),
                "status": "failed",
                "reason": item.get("reason", ""),
            }
            for item in self.unmapped
        ]
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows + failed_rows)
        self._staged.add("cases.csv", table.getvalue().encode())
        self._staged.add("report.html", self.page(figures).encode())
        written = self._staged.commit()
        flagged = sum(r["abnormal"] for r in self.rows)
        logger.info(
            f"{len(self.rows)} cases, {flagged} flagged abnormal; wrote {len(written)} files to {self.output_dir}"
        )
        if failed_rows:
            logger.error(f"{len(failed_rows)} scans could not be mapped; cases.csv gives each one's reason")

    def page(self, figures: Mapping[int, bytes]) -> str:
        """The self-contained HTML report, highest score first."""
        cal, rows = self.calibration, self.rows
        kind = "pixel" if self.images else "voxel"
        intro = (
            f"Score <b>{html.escape(cal.method)}</b>. Image threshold {cal.image_threshold:.4g} "
            f"({threshold_note(cal, 'image')}), {kind} threshold {cal.voxel_threshold:.4g} "
            f"({threshold_note(cal, 'voxel')}). {len(rows)} cases, {sum(r['abnormal'] for r in rows)} flagged "
            f"abnormal, highest score first; {len(figures)} drawn, every map on one colour scale from the {kind} "
            f"threshold (transparent below) to {cal.display_max:.4g}."
        )
        if self.unmapped:
            listed = "".join(
                f"<li><b>{html.escape(str(i.get('case_id', '')))}</b>: {html.escape(str(i.get('reason', '')))}</li>"
                for i in self.unmapped
            )
            intro += f"<p>Not mapped ({len(self.unmapped)}):</p><ul>{listed}</ul>"
        cases = []
        for i in sorted(range(len(rows)), key=lambda i: -rows[i]["image_score"]):
            r, source = rows[i], html.escape(rows[i]["source"] or "(in memory)")
            if self.images:
                cells = (str(r["region_count"]), str(r["region_pixels"]))
                found = f"{r['region_pixels']} pixel(s) above the pixel threshold in {r['region_count']} region(s)"
            else:
                cells = (str(r["lesion_count"]), f"{r['lesion_volume_mm3']:.1f}")
                found = f"{r['lesion_count']} lesion(s), {r['lesion_volume_mm3']:.1f} mm³"
            detail = f"image score {r['image_score']:.4g} (threshold {r['image_threshold']:.4g}); {found}; "
            cases.append(
                ReportCase(
                    r["case_id"],
                    bool(r["abnormal"]),
                    (f"{r['image_score']:.4g}", *cells),
                    detail + f"source <code>{source}</code>",
                    figures.get(i),
                )
            )
        headers = ("image score", "regions", "pixels") if self.images else ("image score", "lesions", "volume (mm³)")
        return case_report_page(self.title, intro, headers, cases)


def _image_bytes(array: np.ndarray, image_format: str) -> bytes:
    """A 2-D array as the bytes of a PNG or TIFF file."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=image_format)
    return buffer.getvalue()
