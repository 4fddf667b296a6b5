"""Dictionary wrappers of :mod:`medmonai.transforms.brain.array`."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
from monai.config import KeysCollection, NdarrayOrTensor
from monai.data import MetaTensor
from monai.transforms import MapTransform
from monai.utils import convert_to_dst_type, convert_to_numpy, ensure_tuple

from medmonai.data.io import ras_affine
from medmonai.transforms.brain.array import ExtractBrain, N4BiasCorrection, affine_of, array_from_image
from medmonai.transforms.brain.registration import BrainExtraction, image_from_array

__all__ = ["ExtractBraind", "N4BiasCorrectiond"]


class N4BiasCorrectiond(MapTransform):
    """Dictionary version of :class:`N4BiasCorrection`; see it for shapes and errors.

    Args:
        keys: volumes to correct.
        mask_key: key of a mask to fit the bias field in; items without it use the Otsu foreground.
            Defaults to None.
        allow_missing_keys: skip keys an item lacks. Defaults to False.
        **kwargs: ``shrink_factor``, ``iterations``, ``convergence``.
    """

    backend = N4BiasCorrection.backend

    def __init__(
        self, keys: KeysCollection, mask_key: str | None = None, allow_missing_keys: bool = False, **kwargs
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.corrector = N4BiasCorrection(**kwargs)
        self.mask_key = mask_key

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, NdarrayOrTensor]:
        """Correct every present key."""
        d = dict(data)
        mask = d.get(self.mask_key) if self.mask_key else None
        for key in self.key_iterator(d):
            d[key] = self.corrector(d[key], mask)
        return d


class ExtractBraind(MapTransform):
    """Dictionary version of :class:`ExtractBrain`: store a brain mask, optionally move the item to template space.

    The first present key is registered and its ``(1, X, Y, Z)`` uint8 mask, of the image's type (a
    ``MetaTensor`` keeps the image's meta), is stored under ``mask_key``. Items that already hold a mask are
    passed through unchanged unless ``overwrite=True``.

    With ``to_template=True`` every key (linear) and every present ``label_keys`` entry (nearest) is resampled
    onto the template grid (99x117x95 at 2 mm, 197x233x189 at 1 mm) through the inverse of the registration
    (inverse affine after the numerically inverted B-spline), and the mask becomes the template brain mask; an
    existing mask kept (``overwrite=False``) is resampled like a label instead. ``MetaTensor`` outputs carry the
    template's RAS affine.

    Args:
        keys: T1 volumes; the first present one is registered, the others are only resampled. Defaults to
            ``"image"``.
        mask_key: key of the brain mask. Defaults to ``"brain_mask"``.
        to_template: resample the item onto the template grid. Defaults to False.
        label_keys: label maps resampled with nearest neighbours when ``to_template``; missing ones are
            skipped. Defaults to ``("label",)``.
        overwrite: recompute masks that items already hold. Defaults to False.
        allow_missing_keys: skip keys an item lacks. Defaults to False.
        **kwargs: arguments of :class:`ExtractBrain` (``resolution``, ``deformable``, ``min_similarity``, ...).

    Raises:
        ConfigError: a setting is out of range.
    """

    backend = ExtractBrain.backend

    def __init__(
        self,
        keys: KeysCollection = "image",
        mask_key: str = "brain_mask",
        to_template: bool = False,
        label_keys: Sequence[str] | str = ("label",),
        overwrite: bool = False,
        allow_missing_keys: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.extractor = ExtractBrain(**kwargs)
        self.mask_key = mask_key
        self.to_template = to_template
        self.label_keys = ensure_tuple(label_keys)
        self.overwrite = overwrite

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        """Extract the brain of one item; see :meth:`ExtractBrain.__call__` for shapes and errors."""
        d = dict(data)
        keys = list(self.key_iterator(d))
        kept_mask = d.get(self.mask_key) is not None and not self.overwrite
        if not keys or (kept_mask and not self.to_template):
            return d
        image = d[keys[0]]
        extraction = self.extractor.register(image)
        if not self.to_template:
            d[self.mask_key] = convert_to_dst_type(array_from_image(extraction.mask)[None], image, dtype=np.uint8)[0]
            return d
        for key in keys:
            d[key] = _to_template(extraction, d[key], nearest=False)
        for key in (k for k in self.label_keys if d.get(k) is not None):
            d[key] = _to_template(extraction, d[key], nearest=True)
        if kept_mask:
            d[self.mask_key] = _to_template(extraction, d[self.mask_key], nearest=True)
        else:
            template_mask = array_from_image(extraction.template_mask)[None]
            d[self.mask_key] = _on_template(extraction, template_mask, image, np.uint8)
        return d


def _to_template(extraction: BrainExtraction, value: NdarrayOrTensor, nearest: bool) -> NdarrayOrTensor:
    """``(1, X, Y, Z)`` ``value`` in the subject's space resampled onto the template grid, its type and dtype kept."""
    volume = convert_to_numpy(value, dtype=np.float32)
    if volume.ndim != 4 or volume.shape[0] != 1:
        raise ValueError(f"values resampled to the template must have shape (1, X, Y, Z), got {volume.shape}")
    moved = extraction.to_template(image_from_array(volume[0], affine_of(value)), nearest=nearest)
    return _on_template(extraction, array_from_image(moved)[None], value, None)


def _on_template(extraction: BrainExtraction, array: np.ndarray, like: NdarrayOrTensor, dtype: Any) -> NdarrayOrTensor:
    """``array`` of ``like``'s type (and dtype unless given); a ``MetaTensor`` gets the template's affine and shape."""
    out = convert_to_dst_type(array, like, dtype=dtype)[0]
    if isinstance(out, MetaTensor):
        out.affine = ras_affine(extraction.template)
        out.meta["spatial_shape"] = np.asarray(array.shape[1:])
    return out
