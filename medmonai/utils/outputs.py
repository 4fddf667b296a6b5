"""Atomic output writing: every file appears whole or not at all.

Producers render everything in memory first and hand the bytes to :func:`write_outputs`, so a failure while
computing leaves no partial output and never touches the results of an earlier run.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

__all__ = [
    "StagedFiles",
    "atomic_directory",
    "atomic_write_bytes",
    "figure_png_bytes",
    "json_bytes",
    "newest_file",
    "read_json",
    "write_outputs",
]


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temp file in the same folder and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextmanager
def atomic_directory(final: str | Path) -> Iterator[Path]:
    """Yield a staging folder beside ``final`` and rename it to ``final`` only if the block succeeds.

    A half-written folder is never visible under ``final``; on error the staging folder is removed.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}-"))
    try:
        yield staging
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


class StagedFiles:
    """Files staged while a run goes on, moved into place together when it succeeds, dropped when it fails.

    The staging folder sits in ``root`` (same file system, so every move is an atomic rename); a hidden staging
    folder left there by a killed run is removed the next time one opens in ``root``.

    Args:
        root: the folder the staged files' relative paths are under.
        name: the writer's name; writers sharing ``root`` need different names. Defaults to ``"files"``.
    """

    def __init__(self, root: str | Path, name: str = "files") -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        prefix = f".staging-{name}-"
        for stale in self.root.glob(f"{prefix}*"):
            shutil.rmtree(stale, ignore_errors=True)
        self.staging = Path(tempfile.mkdtemp(dir=self.root, prefix=prefix))
        self.pending: list[tuple[Path, Path]] = []

    def add(self, relative: str | Path, data: bytes) -> None:
        """Stage ``data`` for ``root / relative`` (an absolute path is taken as it is)."""
        staged = self.staging / str(len(self.pending))
        staged.write_bytes(data)
        self.pending.append((staged, self.root / relative))

    def commit(self) -> list[Path]:
        """Move every staged file into place; returns the final paths."""
        for staged, final in self.pending:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
        written = [final for _, final in self.pending]
        self.discard()
        return written

    def discard(self) -> None:
        """Drop the staging folder and whatever is still in it."""
        shutil.rmtree(self.staging, ignore_errors=True)
        self.pending = []


def write_outputs(output_dir: str | Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write several files atomically into ``output_dir`` (created if needed) and return their paths."""
    return [atomic_write_bytes(Path(output_dir) / name, data) for name, data in files.items()]


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_bytes(obj: Mapping[str, Any]) -> bytes:
    """Serialise a flat mapping as pretty JSON; non-finite floats become null (JSON has no NaN)."""
    return (json.dumps({str(k): _finite_or_none(v) for k, v in obj.items()}, indent=2, sort_keys=True) + "\n").encode()


def figure_png_bytes(fig: Figure, dpi: int = 120) -> bytes:
    """Render a matplotlib figure to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def read_json(path: str | Path) -> dict[str, Any] | None:
    """Read a JSON object, or return None when the file does not exist."""
    path = Path(path)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def newest_file(folder: str | Path, pattern: str) -> str:
    """The newest file in ``folder`` matching ``pattern`` (e.g. MONAI's ``config_<time>.json``), or "" if none."""
    found = sorted(Path(folder).glob(pattern), key=lambda p: p.stat().st_mtime)
    return str(found[-1]) if found else ""
