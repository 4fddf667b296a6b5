"""Dictionary wrappers of :mod:`medmonai.transforms.patch.array`."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from monai.transforms import Transform

from medmonai.keys import Keys
from medmonai.transforms.patch.array import LesionGridPatch

__all__ = ["LesionGridPatchd"]


class LesionGridPatchd(Transform):
    """Cut a case into labelled patches: one dict in, a list of patch dicts out.

    Each patch dict holds ``image`` (singleton patch dims squeezed, so ``(C, 28, 28)`` for ``(28, 28, 1)``),
    ``location``, ``lesion_fraction``, ``foreground_fraction``, the class under ``class_key`` (1 when
    ``lesion_fraction > min_lesion_fraction``, else 0) and the case's ``copy_keys`` (e.g. ``case_id``).
    Patches with ``foreground_fraction < min_foreground_fraction`` are dropped. Lesion labels are for
    evaluation only.

    Args:
        patch_size: see :class:`LesionGridPatch`.
        image_key: Defaults to ``"image"``.
        label_key: lesion mask key; missing means no lesion. Defaults to ``"label"``.
        foreground_key: foreground key; None means everywhere. Defaults to None.
        min_lesion_fraction: lesion threshold. Defaults to 0.0.
        min_foreground_fraction: background threshold. Defaults to 0.1.
        copy_keys: case-level keys copied into every patch. Defaults to ``("case_id",)``.
        class_key: key of the patch class; ``"label"`` lets engines and reports treat it as the class label.
            Defaults to ``"label"``.
    """

    def __init__(
        self,
        patch_size: Sequence[int],
        image_key: str = Keys.IMAGE,
        label_key: str = Keys.LABEL,
        foreground_key: str | None = None,
        min_lesion_fraction: float = 0.0,
        min_foreground_fraction: float = 0.1,
        copy_keys: Sequence[str] = ("case_id",),
        class_key: str = Keys.LABEL,
    ) -> None:
        self.cutter = LesionGridPatch(patch_size)
        self.squeeze = [i + 1 for i, p in enumerate(self.cutter.patch_size) if p == 1]
        self.image_key, self.label_key, self.foreground_key = image_key, label_key, foreground_key
        self.min_lesion_fraction = min_lesion_fraction
        self.min_foreground_fraction = min_foreground_fraction
        self.copy_keys = tuple(copy_keys)
        self.class_key = class_key

    def __call__(self, data: Mapping[Hashable, Any]) -> list[dict[Hashable, Any]]:
        """Return the kept patches of one case."""
        cut = self.cutter(
            data[self.image_key],
            data.get(self.label_key),
            data.get(self.foreground_key) if self.foreground_key else None,
        )
        shared = {k: data[k] for k in self.copy_keys if k in data}
        patches = cut["patches"].squeeze(dim=tuple(d + 1 for d in self.squeeze)) if self.squeeze else cut["patches"]
        lesion, foreground = cut["lesion_fraction"].tolist(), cut["foreground_fraction"].tolist()
        locations = cut["location"].tolist()
        return [
            {
                self.image_key: patches[i].clone(),  # own storage: a kept patch must not pin the whole volume
                "location": locations[i],
                "lesion_fraction": lesion[i],
                "foreground_fraction": foreground[i],
                self.class_key: int(lesion[i] > self.min_lesion_fraction),
                **shared,
            }
            for i in range(len(patches))
            if foreground[i] >= self.min_foreground_fraction
        ]
