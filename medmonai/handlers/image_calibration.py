"""Handlers for 2-D reconstruction models on new images: calibrate on healthy images, then flag and map new ones.

Both take the pixel-wise anomaly map of each image as its reconstruction error (:func:`medmonai.scoring.error_map`)
from an evaluator whose output holds ``image`` and ``recon``, and the image score from one of its ``(B,)`` keys.
"""

from __future__ import annotations

import csv
import heapq
import html
import io
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ignite.engine import Engine, Events
from PIL import Image
from scipy import ndimage

from medmonai.errors import ConfigError
from medmonai.handlers.case_report import threshold_note
from medmonai.handlers.map_writer import StagedMapHandler
from medmonai.engines.collect import as_array
from medmonai.keys import Keys
from medmonai.scoring.calibration import Calibration, calibrate
from medmonai.scoring.images import error_map
from medmonai.scoring.thresholds import check_fpr
from medmonai.utils.outputs import StagedFiles, atomic_write_bytes, figure_png_bytes
from medmonai.viz.anomaly import calibrated_image_figure
from medmonai.viz.report_page import ReportCase, case_report_page

__all__ = ["IMAGE_CASE_COLUMNS", "ImageCalibrationWriter", "ImageCaseReport"]

logger = logging.getLogger(__name__)
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


def _maps_and_scores(engine: Engine, score_key: str, reconstruction: str) -> tuple[np.ndarray, np.ndarray]:
    """This iteration's ``(B, H, W)`` error maps and ``(B,)`` image scores."""
    out = engine.state.output
    missing = [k for k in (Keys.IMAGE, Keys.RECON, score_key) if k not in out]
    if missing:
        raise ConfigError(f"{missing} not in the evaluator's output (a VAE evaluator needs mean_reconstruction: true)")
    maps = error_map(torch.as_tensor(out[Keys.RECON]).float(), torch.as_tensor(out[Keys.IMAGE]).float(), reconstruction)
    return as_array(maps), as_array(out[score_key]).reshape(-1)


class ImageCalibrationWriter:
    """Fix a 2-D model's thresholds on healthy images and write them to ``thresholds.json`` (atomically).

    The pixel threshold is exceeded by ``pixel_fpr`` of the healthy images' pixel errors, the image threshold by
    ``target_fpr`` of their image scores (their ``1 - target_fpr`` quantile; see :func:`medmonai.scoring.calibrate`;
    the calibration's ``voxel_*`` fields hold the pixel values, ``n_healthy_volumes`` the number of images).

    Args:
        path: the ``thresholds.json`` to write.
        method: the image score's name (e.g. ``vae``), which inference must flag by.
        score_key: the evaluator's output key of that score.
        reconstruction: the per-pixel error, ``"bce"``, ``"mse"`` or ``"l1"``.
        pixel_fpr: target false-positive rate of healthy pixels, in (0, 1). Defaults to 0.01.
        target_fpr: target false-positive rate of healthy images at the image threshold, in (0, 1). Defaults to 0.05
            (the 95th percentile of their image scores).
        settings: what shapes the scores (image size, model, reconstruction); inference must match them.

    Raises:
        ConfigError: ``pixel_fpr`` or ``target_fpr`` outside (0, 1).
    """

    def __init__(
        self,
        path: str | Path,
        method: str,
        score_key: str,
        reconstruction: str,
        pixel_fpr: float = 0.01,
        target_fpr: float = 0.05,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.path, self.method, self.score_key, self.reconstruction = Path(path), method, score_key, reconstruction
        self.pixel_fpr, self.target_fpr = check_fpr(pixel_fpr, "pixel_fpr"), check_fpr(target_fpr, "target_fpr")
        self.settings = dict(settings or {})
        self.maps: list[np.ndarray] = []
        self.scores: list[np.ndarray] = []

    def attach(self, engine: Engine) -> None:
        """Collect every iteration; write when the run completes."""
        engine.add_event_handler(Events.STARTED, self.started)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self.iteration_completed)
        engine.add_event_handler(Events.COMPLETED, self.completed)

    def started(self, engine: Engine) -> None:
        """Start empty."""
        self.maps, self.scores = [], []

    def iteration_completed(self, engine: Engine) -> None:
        """Keep this batch's maps (as float32) and scores."""
        maps, scores = _maps_and_scores(engine, self.score_key, self.reconstruction)
        self.maps.append(maps.astype(np.float32))
        self.scores.append(scores)

    def completed(self, engine: Engine) -> Calibration:
        """Calibrate and write ``thresholds.json``."""
        calibration = calibrate(
            self.method,
            [image for batch in self.maps for image in batch],
            np.concatenate(self.scores),
            self.pixel_fpr,
            self.target_fpr,
            {**self.settings, "score": self.method},
            unit="images",
        )
        atomic_write_bytes(self.path, calibration.to_json())
        image, pixel = calibration.image_threshold, calibration.voxel_threshold
        logger.info(
            f"calibrated {self.method}: image threshold {image:.4g} ({calibration.rule('image')}), "
            f"pixel threshold {pixel:.4g} ({calibration.rule('voxel')}); wrote {self.path}"
        )
        return calibration


class ImageCaseReport(StagedMapHandler):
    """Per new image, at the calibrated thresholds: an anomaly map, a segmentation, a score and a flag.

    Writes, all at once when the evaluator completes (nothing if any image fails):

    - ``maps/<case>_anomaly.tiff``: the float32 error map (opens in ImageJ/Fiji);
    - ``segmentations/<case>_seg.png``: pixels above the calibrated pixel threshold (255), else 0;
    - ``overlays/<case>.png`` for the ``report_cases`` highest-scoring images: image and map on one colour scale
      for every image, transparent below the threshold, marked on the colour bar;
    - ``cases.csv``: one row per image (:data:`IMAGE_CASE_COLUMNS`); ``abnormal`` is 1 when the image score is
      above the image threshold; ``region_count`` counts 8-connected regions of the segmentation; each threshold's
      ``*_source`` column says ``manual`` or ``calibrated: <rule>``;
    - ``report.html``: a self-contained page with every image's row, highest score first, and the overlays.

    Args:
        calibration: the model's thresholds, from :class:`ImageCalibrationWriter`, any set by hand included.
        output_dir: where the files go.
        score_key: the evaluator's output key of the calibrated score.
        reconstruction: the per-pixel error the calibration used.
        id_keys: batch keys naming each image: a non-empty ``source`` (file path) gives its stem, else the other
            keys are joined (e.g. ``test_normal_12``). Defaults to ``("source",)``.
        report_cases: how many of the highest-scoring images get an overlay in the page. Defaults to 100.
        title: the page's title. Defaults to ``"anomaly maps of new images"``.
    """

    def __init__(
        self,
        calibration: Calibration,
        output_dir: str | Path,
        score_key: str,
        reconstruction: str,
        id_keys: Sequence[str] = ("source",),
        report_cases: int = 100,
        title: str = "anomaly maps of new images",
    ) -> None:
        self.calibration, self.output_dir, self.score_key = calibration, Path(output_dir), score_key
        self.method = calibration.method
        self.reconstruction, self.id_keys, self.report_cases, self.title = reconstruction, id_keys, report_cases, title
        self.rows: list[dict] = []
        self.kept: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # the report_cases highest so far
        self._lowest: list[tuple[float, int]] = []  # heap of the kept images' (score, row)

    def started(self, engine: Engine) -> None:
        """Open the staging folder (a killed run's is removed)."""
        self.rows, self.kept, self._lowest = [], {}, []
        self._staged = StagedFiles(self.output_dir, "cases")

    def _case_ids(self, batch: Mapping[str, Any], n: int) -> list[str]:
        columns = [as_array(batch[k]).reshape(n, -1)[:, 0].tolist() for k in self.id_keys if k in batch]
        taken = {r["case_id"] for r in self.rows}
        ids = []
        for values in zip(*columns, strict=True) if columns else [()] * n:
            source = str(values[0]) if values and self.id_keys[0] == "source" else ""
            case = Path(source).stem if source else "_".join(str(v) for v in values if str(v)) or str(len(self.rows))
            base, k = case, 1
            while case in taken:  # two files with one stem in different folders
                case, k = f"{base}_{k}", k + 1
            taken.add(case)
            ids.append(case)
        return ids

    def iteration_completed(self, engine: Engine) -> None:
        """Segment and score this batch's images; stage their maps and segmentations."""
        cal = self.calibration
        maps, scores = _maps_and_scores(engine, self.score_key, self.reconstruction)
        images = as_array(engine.state.output[Keys.IMAGE])
        batch = engine.state.batch
        sources = as_array(batch["source"]).reshape(-1).tolist() if "source" in batch else [""] * len(maps)
        for case, source, anomaly_map, score, image in zip(
            self._case_ids(batch, len(maps)), sources, maps, scores, images, strict=True
        ):
            segmentation = anomaly_map > cal.voxel_threshold
            _, count = ndimage.label(segmentation, structure=np.ones((3, 3)))
            map_path, seg_path = Path("maps") / f"{case}_anomaly.tiff", Path("segmentations") / f"{case}_seg.png"
            self._staged.add(map_path, _tiff_bytes(anomaly_map.astype(np.float32)))
            self._staged.add(seg_path, _png_bytes(segmentation.astype(np.uint8) * 255))
            self.rows.append(
                {
                    "case_id": case,
                    "source": str(source),
                    "image_score": round(float(score), 6),
                    "image_threshold": round(cal.image_threshold, 6),
                    "abnormal": int(score > cal.image_threshold),
                    "region_count": int(count),
                    "region_pixels": int(segmentation.sum()),
                    "anomaly_map": str(map_path),
                    "segmentation": str(seg_path),
                    "overlay": "",
                    "image_threshold_source": cal.source("image"),
                    "pixel_threshold": round(cal.voxel_threshold, 6),
                    "pixel_threshold_source": cal.source("voxel"),
                }
            )
            self._keep(len(self.rows) - 1, float(score), (image.mean(0), anomaly_map, segmentation))

    def _keep(self, row: int, score: float, drawing: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        """Keep what the report draws for the ``report_cases`` highest scores only: memory stays flat."""
        if self.report_cases <= 0:
            return
        if len(self._lowest) < self.report_cases:
            heapq.heappush(self._lowest, (score, row))
        elif score > self._lowest[0][0]:
            _, dropped = heapq.heapreplace(self._lowest, (score, row))
            del self.kept[dropped]
        else:
            return
        self.kept[row] = drawing

    def completed(self, engine: Engine) -> None:
        """Draw the overlays of the highest-scoring images, stage the table and the page, move everything."""
        cal = self.calibration
        order = sorted(range(len(self.rows)), key=lambda i: -self.rows[i]["image_score"])
        cases = []
        for i in order:
            row, figure = self.rows[i], None
            if i in self.kept:
                image, anomaly_map, segmentation = self.kept[i]
                figure = figure_png_bytes(
                    calibrated_image_figure(
                        image, anomaly_map, segmentation, row["case_id"], cal.voxel_threshold, cal.display_max
                    ),
                    dpi=80,
                )
                row["overlay"] = f"overlays/{row['case_id']}.png"
                self._staged.add(row["overlay"], figure)
            cases.append(
                ReportCase(
                    row["case_id"],
                    bool(row["abnormal"]),
                    (f"{row['image_score']:.4g}", str(row["region_count"]), str(row["region_pixels"])),
                    f"image score {row['image_score']:.4g} (threshold {row['image_threshold']:.4g}); "
                    f"{row['region_pixels']} pixel(s) above the pixel threshold in {row['region_count']} region(s); "
                    f"source <code>{html.escape(row['source'] or '(in memory)')}</code>",
                    figure,
                )
            )
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=IMAGE_CASE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        self._staged.add("cases.csv", table.getvalue().encode())
        intro = (
            f"Score <b>{html.escape(cal.method)}</b>. Image threshold {cal.image_threshold:.4g} "
            f"({threshold_note(cal, 'image')}), pixel threshold {cal.voxel_threshold:.4g} "
            f"({threshold_note(cal, 'voxel')}). "
            f"{len(self.rows)} images, {sum(r['abnormal'] for r in self.rows)} flagged abnormal, highest score "
            f"first; the {min(self.report_cases, len(self.rows))} highest-scoring are drawn below, every map on one "
            f"colour scale from the pixel threshold (transparent below) to {cal.display_max:.4g}."
        )
        self._staged.add(
            "report.html", case_report_page(self.title, intro, ("image score", "regions", "pixels"), cases).encode()
        )
        written = self._staged.commit()
        logger.info(
            f"{len(self.rows)} images, {sum(r['abnormal'] for r in self.rows)} flagged abnormal; "
            f"wrote {len(written)} files to {self.output_dir}"
        )


def _png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _tiff_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="TIFF")
    return buffer.getvalue()
