"""Bundle helpers: config switches, metadata, command-line checks, and MLflow logging of late reports."""

from medmonai.bundle.choice import choose
from medmonai.bundle.metadata import META_SCHEMA_PATH, verify_bundle_metadata
from medmonai.bundle.settings import check_command_line, check_overrides
from medmonai.bundle.tracking import log_report, report_paths

__all__ = [
    "META_SCHEMA_PATH",
    "check_command_line",
    "check_overrides",
    "choose",
    "log_report",
    "report_paths",
    "verify_bundle_metadata",
]
