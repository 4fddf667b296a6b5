"""The 3-D protocol's collector: per method, what it needs of an anomaly evaluator's volumes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import numpy as np
from ignite.engine import Engine

from medmonai.engines.collect import ScoreBuffer
from medmonai.keys import Keys
from medmonai.metrics import lesion_detection
from medmonai.scoring import image_score

__all__ = ["AnomalyCollector", "HEALTHY"]

HEALTHY = "healthy"


class AnomalyCollector(ScoreBuffer):
    """Collect in-region voxel scores, image scores and (given thresholds) segmentation counts per method.

    Per volume it keeps, for every method, the map values inside the evaluation region (float32) and one image
    score; labels inside the region are kept once per volume. With ``voxel_thresholds`` it also counts, at each
    method's threshold and after small-component removal, true/false positives and negatives and detected
    lesions. A volume's kind is its ``kind`` field, else ``"lesion"`` when its label has positives, else
    ``"healthy"``. A volume's ``group`` field (a subject, a site, a scanner) is kept for per-group reports, and
    its voxel volume (ml, from its affine) for false-positive volumes.

    Args:
        image_score_method: ``"mean"``, ``"max"`` or ``"percentile"`` (see :func:`medmonai.scoring.image_score`).
            Defaults to ``"percentile"``.
        image_score_percentile: percentile for ``"percentile"``. Defaults to 99.
        voxel_thresholds: ``{method: threshold}`` from healthy data, or None to skip segmentation.
            Defaults to None.
        keep_maps: also keep each volume's whole maps, region and affine in ``records`` (what a voxel-wise
            standardisation is fitted on). Defaults to False.
    """

    def __init__(
        self,
        image_score_method: str = "percentile",
        image_score_percentile: float = 99.0,
        voxel_thresholds: Mapping[str, float] | None = None,
        keep_maps: bool = False,
    ) -> None:
        self.image_score_method = image_score_method
        self.image_score_percentile = image_score_percentile
        self.voxel_thresholds = dict(voxel_thresholds) if voxel_thresholds else None
        self.keep_maps = keep_maps
        super().__init__()

    def reset(self) -> None:
        """Forget earlier runs."""
        super().reset()
        self.scores: dict[str, list[np.ndarray]] = defaultdict(list)
        self.image_scores: dict[str, list[float]] = defaultdict(list)
        self.counts: dict[str, list[dict]] = defaultdict(list)
        self.labels: list[np.ndarray] = []
        self.kinds: list[str] = []
        self.groups: list[str] = []
        self.voxel_ml: list[float] = []
        self.records: list[dict] = []

    def iteration_completed(self, engine: Engine) -> None:
        """Collect one volume: values per method, kept per volume rather than per item of a batch."""
        out = engine.state.output
        if self.keep_maps:  # the voxel-wise statistics need whole maps, not just in-region values
            self.records.append({"maps": dict(out["maps"]), "region": out["region"], "affine": _affine(out)})
        region, label = out["region"], out[Keys.LABEL]
        truth = np.zeros(region.shape, bool) if label is None else label > 0
        self.labels.append(truth[region])
        self.kinds.append(out.get("kind") or ("lesion" if truth.any() else HEALTHY))
        self.groups.append(str(out.get("group") or ""))
        affine = out.get("affine")
        self.voxel_ml.append(float("nan") if affine is None else abs(np.linalg.det(affine[:3, :3])) / 1000.0)
        for method, anomaly_map in out["maps"].items():
            values = anomaly_map[region]
            self.scores[method].append(values)
            self.image_scores[method].append(self.image_score(values))
            if self.voxel_thresholds is not None:
                self.counts[method].append(self._count(engine, anomaly_map, region, truth, method))

    def image_score(self, values: np.ndarray) -> float:
        """One volume's image score from its in-region map values, with this collector's settings."""
        return image_score(values, self.image_score_method, self.image_score_percentile)

    def _count(self, engine: Engine, anomaly_map, region, truth, method: str) -> dict:
        predicted = engine.postprocessor.segment(anomaly_map, region, self.voxel_thresholds[method])
        detected, lesions = lesion_detection(predicted, truth & region)
        return {
            "tp": int((predicted & truth).sum()),
            "fp": int((predicted & ~truth).sum()),
            "fn": int((~predicted & truth & region).sum()),
            "detected": detected,
            "lesions": lesions,
        }


def _affine(output: dict) -> np.ndarray:
    """A volume's affine, the identity when its file gave none."""
    return output["affine"] if output.get("affine") is not None else np.eye(4)
