"""Handler writing anomaly maps as NIfTI in the input's space, plus overlay PNGs, all or nothing."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import nibabel as nib
import numpy as np
from ignite.engine import Engine, Events

from medmonai.errors import ConfigError
from medmonai.keys import Keys
from medmonai.transforms.spatial.array import resample_to_grid
from medmonai.utils.outputs import StagedFiles, figure_png_bytes
from medmonai.viz import overlay_figure

__all__ = ["MapWriter", "StagedMapHandler", "nifti_gz_bytes", "nifti_like", "on_input_grid"]

logger = logging.getLogger(__name__)


def nifti_like(volume: np.ndarray, source: str, affine: np.ndarray | None, dtype: type = np.float32) -> nib.Nifti1Image:
    """``volume`` (on ``source``'s own grid) as a NIfTI (float32 unless ``dtype`` says otherwise) with its geometry.

    A NIfTI source lends its whole header (affine, qform/sform codes, units), so the map overlays the input in
    ITK-SNAP and 3D Slicer; any other source (e.g. MetaImage) gives its RAS ``affine``.
    """
    if source.lower().endswith((".nii", ".nii.gz")):
        reference = nib.load(source)
        image = nib.Nifti1Image(volume.astype(dtype), reference.affine, header=reference.header.copy())
        image.header.set_data_dtype(dtype)
        image.header.set_slope_inter(1.0, 0.0)
        return image
    return nib.Nifti1Image(volume.astype(dtype), np.eye(4) if affine is None else affine)


def on_input_grid(array: np.ndarray, output: dict, mode: str = "bilinear") -> tuple[np.ndarray, np.ndarray | None]:
    """An evaluator's ``(X, Y, Z)`` array (on the model's grid) back on the scan file's own grid, with that affine.

    Args:
        array: a map, segmentation or mask on the grid of ``output["affine"]``.
        output: the evaluator's output for the case (``affine`` and ``input_grid``).
        mode: ``bilinear`` for maps, ``nearest`` for masks. Defaults to "bilinear".
    """
    if output.get("input_grid") is None or output.get("affine") is None:
        return array, output.get("affine")
    affine, shape = output["input_grid"]
    return resample_to_grid(array, output["affine"], affine, shape, mode), affine


def nifti_gz_bytes(image: nib.Nifti1Image) -> bytes:
    """A NIfTI image as the bytes of a ``.nii.gz`` file."""
    return gzip.compress(image.to_bytes(), 6)


class StagedMapHandler:
    """Base of the handlers that write files for one method's maps (of volumes or images), all or nothing.

    Subclasses stage files in ``started``/``iteration_completed`` (``self._staged``) and commit them in
    ``completed``; if the evaluator fails, everything staged is dropped and the error propagates.
    """

    method: str
    _staged: StagedFiles | None = None

    def attach(self, engine: Engine) -> None:
        """Register one method per event."""
        engine.add_event_handler(Events.STARTED, self.started)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self.iteration_completed)
        engine.add_event_handler(Events.COMPLETED, self.completed)
        engine.add_event_handler(Events.EXCEPTION_RAISED, self.failed)

    def check_method(self, engine: Engine) -> None:
        """Refuse a method the evaluator does not map."""
        methods = [*engine.mappers, *getattr(engine, "derived", {})]
        if self.method not in methods:
            raise ConfigError(f"{type(self).__name__} method {self.method!r} is not one of {sorted(methods)}")

    def started(self, engine: Engine) -> None:
        """Check the method and open the staging folder (subclasses)."""
        raise NotImplementedError

    def iteration_completed(self, engine: Engine) -> None:
        """Stage one volume's files (subclasses)."""
        raise NotImplementedError

    def completed(self, engine: Engine) -> None:
        """Commit the staged files (subclasses)."""
        raise NotImplementedError

    def failed(self, engine: Engine, e: Exception) -> None:
        """Discard everything staged, then let the error propagate."""
        if self._staged is not None:
            self._staged.discard()
        raise e


class MapWriter(StagedMapHandler):
    """Write ``maps/<case>_anomaly.nii.gz`` (and ``overlays/<case>.png``) for one method of an anomaly evaluator.

    The method's name is in each map's NIfTI ``descrip`` field and in each overlay's title.

    Files go to a staging folder while the evaluator runs and move into place (atomic renames) only when it
    completes; if any volume fails, nothing is written and earlier maps stay as they were.

    Args:
        method: which of the evaluator's maps to write.
        maps_dir: folder of the NIfTI maps.
        overlays_dir: folder of the overlay PNGs; empty or None skips them. Defaults to None.
        vmax: top of the overlays' colour scale. Defaults to None (each map's maximum).
    """

    def __init__(
        self, method: str, maps_dir: str | Path, overlays_dir: str | Path | None = None, vmax: float | None = None
    ) -> None:
        self.method = method
        self.maps_dir = Path(maps_dir).absolute()
        self.overlays_dir = Path(overlays_dir).absolute() if overlays_dir else None
        self.vmax = vmax

    def started(self, engine: Engine) -> None:
        """Open a staging folder beside the maps folder (same file system, so renames are atomic)."""
        self.check_method(engine)
        self._staged = StagedFiles(self.maps_dir.parent, "maps")

    def iteration_completed(self, engine: Engine) -> None:
        """Stage this volume's map and overlay."""
        out = engine.state.output
        case = out["case_id"]
        anomaly_map = out["maps"][self.method]
        on_grid, affine = on_input_grid(anomaly_map, out)
        image = nifti_like(on_grid, out["source"], affine)
        image.header["descrip"] = f"medmonai anomaly map: {self.method}"[:79]  # which method, for whoever opens it
        self._staged.add(self.maps_dir / f"{case}_anomaly.nii.gz", nifti_gz_bytes(image))
        if self.overlays_dir is not None:
            title = f"{case}: {self.method}"
            fig = overlay_figure(out[Keys.IMAGE], anomaly_map, out[Keys.LABEL], title, self.vmax, out["affine"])
            self._staged.add(self.overlays_dir / f"{case}.png", figure_png_bytes(fig, dpi=80))

    def completed(self, engine: Engine) -> None:
        """Move every staged file into place, then drop the staging folder."""
        written = self._staged.commit()
        where = f"{self.maps_dir} and {self.overlays_dir}" if self.overlays_dir else str(self.maps_dir)
        logger.info(f"wrote {len(written)} files to {where}")
