"""Bundle helpers: offline metadata verification, and up-front checks of a run's command-line settings."""

from medmonai.bundle.metadata import META_SCHEMA_PATH, verify_bundle_metadata
from medmonai.bundle.settings import check_command_line, check_overrides

__all__ = ["META_SCHEMA_PATH", "check_command_line", "check_overrides", "verify_bundle_metadata"]
