"""Offline verification of a bundle's ``metadata.json``.

``monai.bundle verify_metadata`` downloads the schema named in the metadata unless ``filepath`` already holds
one; passing the schema that ships in this package keeps verification offline:

    python -m monai.bundle verify_metadata --meta_file bundles/<name>/configs/metadata.json \
        --filepath "$(python -c 'import medmonai.bundle as b; print(b.META_SCHEMA_PATH)')"
"""

from __future__ import annotations

from pathlib import Path

from monai.bundle import verify_metadata

__all__ = ["META_SCHEMA_PATH", "verify_bundle_metadata"]

META_SCHEMA_PATH = Path(__file__).with_name("meta_schema.json")


def verify_bundle_metadata(meta_file: str | Path) -> None:
    """Validate ``meta_file`` against the packaged schema with MONAI's ``verify_metadata``, never downloading.

    Raises:
        ValueError: the metadata does not satisfy the schema (MONAI's message names the failing field).
    """
    verify_metadata(meta_file=str(meta_file), filepath=str(META_SCHEMA_PATH), create_dir=False)
