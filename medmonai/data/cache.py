"""Cached folders written once: generated data sets and converted copies, each under a name that holds its version."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from medmonai.data.synthetic.template import default_cache_dir
from medmonai.utils.outputs import atomic_directory

__all__ = ["cached_folder"]

logger = logging.getLogger(__name__)


def cached_folder(
    cache_dir: str | Path | None, name: str | Path, marker: str, write: Callable[[Path], None], announce: str
) -> Path:
    """The folder ``<cache_dir>/<name>``, written on first use by ``write`` and made visible only when complete.

    ``write(staging)`` fills a staging folder beside the final one, which is renamed into place only when
    ``write`` returns, so a half-written folder is never seen: a folder holding ``marker`` is complete and is
    returned without writing. Callers put their generator's version (or the source's digest) into ``name``, so a
    folder written by other code is never reused.

    Args:
        cache_dir: the cache root. Defaults to ``$MEDMONAI_CACHE`` or ``~/.cache/medmonai`` when empty or None.
        name: the folder's path under the cache root.
        marker: a file or folder inside that only a complete folder holds.
        write: writes the folder's content into the staging folder it is given.
        announce: what is written, logged with the destination before writing.

    Returns:
        The folder.

    Raises:
        OSError: writing failed, unless another process completed the same folder meanwhile (then it is
            returned).
    """
    final = Path(cache_dir or default_cache_dir()) / name
    if (final / marker).exists():
        return final
    logger.info(f"{announce} into {final}")
    try:
        with atomic_directory(final) as staging:
            write(staging)
    except OSError:
        if (final / marker).exists():  # another process wrote the same folder meanwhile: the rename found it
            return final
        raise
    return final
