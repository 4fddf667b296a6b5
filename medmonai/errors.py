"""Domain errors, and their one-line report on the command line.

Readers and components raise these with a message that names the file (or config id) and the problem.
``python -m monai.bundle run`` wraps instantiation errors in several ``RuntimeError`` layers; the excepthook
installed by :func:`install_excepthook` finds our error in that chain and prints it as a single line, so a user
sees ``medmonai: error: <path>: <problem>`` and a non-zero exit instead of a page of tracebacks.
Only command-line entry points install it (importing medmonai does not), since it ends the process.
Set ``MEDMONAI_TRACEBACK=1`` to get the full traceback back.
"""

from __future__ import annotations

import os
import sys
from types import TracebackType

__all__ = [
    "MedmonaiError",
    "DataError",
    "ConfigError",
    "CheckpointError",
    "PackageError",
    "find_user_error",
    "install_excepthook",
    "reason",
]


class MedmonaiError(Exception):
    """Base class for errors caused by user input (data, configuration, checkpoints)."""


class DataError(MedmonaiError, ValueError):
    """A data source is missing, malformed or does not hold what was asked for."""


class ConfigError(MedmonaiError, ValueError):
    """A configuration value is out of range or inconsistent."""


class PackageError(MedmonaiError, ValueError):
    """A shared model package is malformed, tampered with, or holds code outside the allow-list."""


class CheckpointError(MedmonaiError, ValueError):
    """A checkpoint or weights file is missing, unreadable or does not fit the network."""


def find_user_error(exc: BaseException | None) -> MedmonaiError | None:
    """Return the first :class:`MedmonaiError` in an exception's cause/context chain, or None."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, MedmonaiError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def reason(exc: BaseException, last_chars: int | None = None) -> str:
    """A one-line description of a third-party exception, for wrapping it in a domain error.

    Args:
        exc: the exception.
        last_chars: keep the whole message squeezed onto one line but only its last characters (ITK puts the
            useful part at the end); None keeps the first non-empty line. Defaults to None.
    """
    text = str(exc)
    if last_chars is not None:
        squeezed = " ".join(text.split())
        return squeezed[-last_chars:] if squeezed else type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _one_line(error: MedmonaiError) -> str:
    return "medmonai: error: " + " ".join(str(error).split())


_previous_hook = sys.excepthook


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    error = find_user_error(exc)
    if error is None or os.environ.get("MEDMONAI_TRACEBACK"):
        _previous_hook(exc_type, exc, tb)
        return
    print(_one_line(error), file=sys.stderr)
    _exit_now(1)


def _exit_now(status: int) -> None:
    """Flush what was written, then end the process without interpreter shutdown.

    A user error can surface while worker threads are still inside C++ code: MONAI's ``CacheDataset`` fills its
    cache from a thread pool, which goes on loading (nibabel, ITK, torch) after one volume has failed. Shutting
    the interpreter down kills those daemon threads mid-call, and the C++ runtime then aborts the process
    (``terminate called without an active exception``, exit -6) after the one-line error. Nothing is left to
    clean up at this point (outputs are written atomically, staging folders removed as the error propagated), so
    the process ends here, with the error's status, every time.
    """
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed or broken stream: nothing more to say on it
            pass
    os._exit(status)


def install_excepthook() -> None:
    """Print uncaught medmonai errors as one line (idempotent; other errors keep their traceback)."""
    if sys.excepthook is not _excepthook:
        global _previous_hook
        _previous_hook = sys.excepthook
        sys.excepthook = _excepthook
