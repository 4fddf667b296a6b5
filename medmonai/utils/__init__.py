"""Small shared utilities."""

from medmonai.utils.flags import as_flag
from medmonai.utils.outputs import (
    atomic_write_bytes,
    figure_png_bytes,
    json_bytes,
    newest_file,
    read_json,
    write_outputs,
)

__all__ = [
    "as_flag",
    "atomic_write_bytes",
    "figure_png_bytes",
    "json_bytes",
    "newest_file",
    "read_json",
    "write_outputs",
]
