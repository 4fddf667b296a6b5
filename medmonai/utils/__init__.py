"""Small shared utilities."""

from medmonai.utils.outputs import atomic_write_bytes, figure_png_bytes, json_bytes, read_json, write_outputs

__all__ = ["atomic_write_bytes", "figure_png_bytes", "json_bytes", "read_json", "write_outputs"]
