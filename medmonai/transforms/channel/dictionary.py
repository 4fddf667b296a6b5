"""Dictionary channel transforms."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from monai.transforms import MapTransform

from medmonai.errors import DataError
from medmonai.keys import Keys
from medmonai.transforms.channel.array import SelectChannel

__all__ = ["SelectModalityd"]


class SelectModalityd(MapTransform):
    """Put one modality of a case under ``output_key``: by name from a multi-modal case, or by channel index.

    With ``modality="dwi"`` the case's ``"dwi"`` entry becomes ``output_key``; with ``modality=0`` channel 0 of
    the stacked image under ``stacked_key`` does (see :class:`SelectChannel`).

    Args:
        modality: a key of the case (e.g. ``"dwi"``) or a channel index.
        output_key: where the selected image goes. Defaults to ``"image"``.
        stacked_key: key of the stacked image for index selection. Defaults to ``"image"``.
    """

    def __init__(self, modality: str | int, output_key: str = Keys.IMAGE, stacked_key: str = Keys.IMAGE) -> None:
        super().__init__(keys=stacked_key if isinstance(modality, int) else modality)
        self.modality = modality
        self.output_key = output_key
        self.stacked_key = stacked_key
        self.select = SelectChannel(modality) if isinstance(modality, int) else None

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        """Select the modality.

        Raises:
            DataError: the case lacks the modality (the message names the case and what it has).
        """
        d = dict(data)
        source = self.stacked_key if self.select else self.modality
        if source not in d:
            where = d.get("case_id", "case")
            available = sorted(str(k) for k in d if k not in ("case_id", Keys.LABEL))
            raise DataError(f"{where}: no {source!r}; available: {available}")
        d[self.output_key] = self.select(d[source]) if self.select else d[source]
        return d
