#!/usr/bin/env bash
# The full test suite: sets up .venv with the test extras, then lint, format check and pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="$(bash "$root/scripts/setup_env.sh" demo,test,unseen,population)"
cd "$root"
"$py" -m ruff check medmonai tests scripts
"$py" -m ruff format --check medmonai tests scripts
"$py" -m pytest -q "$@"
