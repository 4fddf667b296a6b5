"""Bundle helpers: offline metadata verification."""

from medmonai.bundle.metadata import META_SCHEMA_PATH, verify_bundle_metadata

__all__ = ["META_SCHEMA_PATH", "verify_bundle_metadata"]
